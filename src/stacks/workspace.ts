import { existsSync, readFileSync, rmSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { BackupKey } from '../custody/backup-key.ts';
import { DrillError } from '../errors/drill-error.ts';

export const WORKSPACE_MARKER = '.nmia-drill-owned';

/**
 * A drill's private working area. `projectDir` is the compose project directory the runbook's
 * commands run in; it is named `nmia` so Compose derives the project the runbook implies.
 */
export class Workspace {
  private constructor(
    readonly root: string,
    readonly drillId: string,
  ) {}

  get projectDir(): string {
    return join(this.root, 'nmia');
  }

  get backupsDir(): string {
    return join(this.projectDir, 'backups');
  }

  /** Scratch space for the harness itself (engine state, tracer files); never touched by blocks. */
  get harnessDir(): string {
    return join(this.root, '.harness');
  }

  /**
   * `projectDir: false` leaves the project directory to be made by someone else: a clone of the app under
   * drill, which has no ./backups unless its repository does (the runbook's blocks meet it as it is).
   * `backups: false` makes the project directory as a checkout of NMIA has it: without ./backups (a drill
   * of the reference app meets what a drill of the real app meets). Component tests keep the default.
   */
  static async create(drillId: string, parent = tmpdir(), options: { projectDir?: boolean; backups?: boolean } = {}): Promise<Workspace> {
    const root = await mkdtemp(join(parent, `nmia-drill-${drillId}-`));
    // The db service runs as the postgres user, which must be able to reach its volume in here.
    await chmod(root, 0o755);
    await writeFile(
      join(root, WORKSPACE_MARKER),
      JSON.stringify({ drillId, pid: process.pid, createdAt: new Date().toISOString() }) + '\n',
    );
    const workspace = new Workspace(root, drillId);
    if (options.projectDir ?? true)
      await mkdir(options.backups === false ? workspace.projectDir : workspace.backupsDir, { recursive: true });
    await mkdir(workspace.harnessDir, { recursive: true });
    return workspace;
  }

  /** True when this directory carries our marker for this drill: the only kind we delete. */
  static isOwned(root: string, drillId: string): boolean {
    const marker = join(root, WORKSPACE_MARKER);
    if (!existsSync(marker)) return false;
    try {
      return (JSON.parse(readFileSync(marker, 'utf8')) as { drillId?: string }).drillId === drillId;
    } catch {
      return false;
    }
  }

  async remove(): Promise<void> {
    this.assertOwned();
    await BackupKey.stopAgent(this.harnessDir);
    await rm(this.root, { recursive: true, force: true });
  }

  removeSync(): void {
    if (!Workspace.isOwned(this.root, this.drillId)) return;
    BackupKey.stopAgentSync(this.harnessDir);
    rmSync(this.root, { recursive: true, force: true });
  }

  private assertOwned(): void {
    if (!Workspace.isOwned(this.root, this.drillId)) {
      throw new DrillError(`refusing to delete ${this.root}: it does not carry this drill's ownership marker`, {
        fix: 'remove it by hand if it is really a leftover drill workspace',
      });
    }
  }
}
