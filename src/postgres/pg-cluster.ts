import { existsSync, readFileSync } from 'node:fs';
import { chown, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa, ExecaError } from 'execa';
import { EnvironmentError } from '../errors/drill-error.ts';
import type { PgBinaries } from './pg-binaries.ts';
import type { ServerIdentity } from './server-identity.ts';

export interface ClusterStartOptions {
  port: number;
  socketDir: string;
  logFile: string;
  /** A throwaway cluster need not survive a power cut; durability costs drill time. */
  durable?: boolean;
}

/** A PostgreSQL data directory driven through initdb and pg_ctl, as the server's own user. */
export class PgCluster {
  constructor(
    readonly dataDir: string,
    private readonly binaries: PgBinaries,
    private readonly identity: ServerIdentity | undefined,
  ) {}

  async init(options: { superuser: string; password?: string }): Promise<void> {
    await this.ensureOwnedDir(this.dataDir);
    const args = ['-D', this.dataDir, '-U', options.superuser, '--encoding=UTF8', '--locale=C.UTF-8', '--auth-local=trust'];
    if (options.password) {
      const pwfile = join(this.dataDir, '..', `.pwfile-${process.pid}`);
      await writeFile(pwfile, `${options.password}\n`, { mode: 0o600 });
      await this.chownIfNeeded(pwfile);
      args.push('--auth-host=scram-sha-256', `--pwfile=${pwfile}`);
      try {
        await this.run('initdb', args);
      } finally {
        await writeFile(pwfile, '').catch(() => undefined);
      }
    } else {
      args.push('--auth-host=trust');
      await this.run('initdb', args);
    }
  }

  async start(options: ClusterStartOptions): Promise<void> {
    await this.ensureOwnedDir(options.socketDir);
    const settings = [
      `-p ${options.port}`,
      `-k ${options.socketDir}`,
      '-c listen_addresses=127.0.0.1',
      ...(options.durable ? [] : ['-c fsync=off', '-c synchronous_commit=off', '-c full_page_writes=off']),
    ];
    await this.run('pg_ctl', ['start', '-w', '-t', '60', '-D', this.dataDir, '-l', options.logFile, '-o', settings.join(' ')]);
  }

  async stop(mode: 'smart' | 'fast' | 'immediate' = 'fast'): Promise<void> {
    if (!this.isRunning()) return;
    await this.run('pg_ctl', ['stop', '-w', '-t', '60', '-m', mode, '-D', this.dataDir]);
  }

  /** The postmaster pid from postmaster.pid, if that process is alive. */
  postmasterPid(): number | undefined {
    const pidFile = join(this.dataDir, 'postmaster.pid');
    if (!existsSync(pidFile)) return undefined;
    const pid = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
    if (!Number.isInteger(pid) || pid <= 0) return undefined;
    try {
      process.kill(pid, 0);
      return pid;
    } catch {
      return undefined;
    }
  }

  isRunning(): boolean {
    return this.postmasterPid() !== undefined;
  }

  /** Synchronous last resort when the process is exiting: immediate shutdown. */
  killNow(): void {
    const pid = this.postmasterPid();
    if (pid) process.kill(pid, 'SIGQUIT');
  }

  async ensureOwnedDir(dir: string): Promise<void> {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    await this.chownIfNeeded(dir);
  }

  private async chownIfNeeded(path: string): Promise<void> {
    if (this.identity) await chown(path, this.identity.uid, this.identity.gid);
  }

  private async run(binary: string, args: string[]): Promise<void> {
    try {
      await execa(this.binaries.path(binary), args, {
        ...(this.identity ? { uid: this.identity.uid, gid: this.identity.gid } : {}),
        // The server user cannot read root's cwd; a neutral cwd keeps initdb from warning.
        cwd: '/',
        env: { LC_ALL: 'C.UTF-8' },
        stdin: 'ignore',
      });
    } catch (error) {
      if (error instanceof ExecaError) {
        const tail = String(error.stderr ?? '')
          .trim()
          .split('\n')
          .slice(-3)
          .join(' | ');
        throw new EnvironmentError(`${binary} failed (exit ${error.exitCode ?? 'signal'}): ${tail || error.shortMessage}`, {
          fix:
            binary === 'pg_ctl'
              ? `read the server log; the port may be taken or the data directory damaged (${this.dataDir})`
              : 'check the PostgreSQL installation and free disk space',
          cause: error,
        });
      }
      throw error;
    }
  }
}
