import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import lockfile from 'proper-lockfile';
import { EnvironmentError } from '../../errors/drill-error.ts';

export const COMPOSE_LOCK_PATH = '/tmp/nmia-drill-compose.lock';

interface LockOwner {
  pid: number;
  drillId: string;
  since: string;
}

export interface ComposeLockOptions {
  /** The lock directory (proper-lockfile's mkdir lock); an owner note sits beside it. */
  path?: string;
  /** How long to wait for another compose drill before giving up. */
  timeoutMs?: number;
  pollMs?: number;
  /** Told once when the lock is busy, and why we wait. */
  onWait?: (message: string) => void;
}

/** A lock that a process which dies without cleaning up stops refreshing; after this long it counts as stale. */
const STALE_MS = 60_000;
const UPDATE_MS = 10_000;

/**
 * Serializes compose drills on one machine: the project name is fixed (`nmia`, as the runbook
 * implies), so two drills at once would share containers and volumes. proper-lockfile keeps the
 * lock fresh while we live and lets a waiter take it once its holder has died.
 */
export class ComposeLock {
  private constructor(
    private readonly path: string,
    private release: (() => Promise<void>) | undefined,
  ) {}

  static async acquire(drillId: string, options: ComposeLockOptions = {}): Promise<ComposeLock> {
    const path = options.path ?? COMPOSE_LOCK_PATH;
    const deadline = Date.now() + (options.timeoutMs ?? 30 * 60_000);
    let told = false;
    for (;;) {
      try {
        const release = await lockfile.lock(path, {
          lockfilePath: path,
          realpath: false,
          stale: STALE_MS,
          update: UPDATE_MS,
          retries: 0,
          // A lock we lost (e.g. the event loop stalled past STALE_MS) must not crash the drill from a timer.
          onCompromised: (error) => process.emitWarning(`nmia-drill compose lock ${path} compromised: ${error.message}`),
        });
        writeFileSync(
          ownerFile(path),
          JSON.stringify({ pid: process.pid, drillId, since: new Date().toISOString() } satisfies LockOwner) + '\n',
        );
        return new ComposeLock(path, release);
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code !== 'ELOCKED') {
          throw new EnvironmentError(`cannot take the compose drill lock ${path}: ${(error as Error).message}`, {
            fix: `check that ${path} is writable (or remove a leftover ${path})`,
          });
        }
      }
      const owner = readOwner(path);
      const holder = owner ? `drill ${owner.drillId} (pid ${owner.pid}, since ${owner.since})` : 'another compose drill';
      if (Date.now() >= deadline) {
        throw new EnvironmentError(`${holder} still holds ${path}; compose drills run one at a time (the project name nmia is fixed)`, {
          fix: `wait for it to finish, or if pid ${owner?.pid ?? '?'} is gone, remove ${path} (it goes stale by itself ${STALE_MS / 1000}s after its holder died)`,
        });
      }
      if (!told) {
        told = true;
        options.onWait?.(
          `waiting for ${holder} to finish: compose drills share the project name nmia, so they run one at a time (lock ${path})`,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, options.pollMs ?? 1_000));
    }
  }

  get held(): boolean {
    return this.release !== undefined;
  }

  async unlock(): Promise<void> {
    const release = this.release;
    if (!release) return;
    this.release = undefined;
    rmSync(ownerFile(this.path), { force: true });
    await release().catch(() => undefined);
  }

  /** At process exit, where nothing can be awaited. */
  unlockSync(): void {
    if (!this.release) return;
    this.release = undefined;
    rmSync(ownerFile(this.path), { force: true });
    try {
      lockfile.unlockSync(this.path, { lockfilePath: this.path, realpath: false });
    } catch {
      // Already released (proper-lockfile releases its locks on exit too).
    }
  }
}

function ownerFile(path: string): string {
  return `${path}.owner.json`;
}

function readOwner(path: string): LockOwner | undefined {
  try {
    return JSON.parse(readFileSync(ownerFile(path), 'utf8')) as LockOwner;
  } catch {
    return undefined;
  }
}
