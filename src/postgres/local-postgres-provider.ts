import { chmodSync, readFileSync, rmSync } from 'node:fs';
import { mkdtemp, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EnvironmentError } from '../errors/drill-error.ts';
import { cleanupRegistry } from '../lifecycle/cleanup-registry.ts';
import { freePort } from './free-port.ts';
import { findPgBinaries, type PgBinaries } from './pg-binaries.ts';
import { PgCluster } from './pg-cluster.ts';
import { serverIdentity } from './server-identity.ts';
import { StartedLocalPostgres } from './started-local-postgres.ts';
import { lastLines } from '../exec/error-lines.ts';

export interface LocalPostgresOptions {
  superuser?: string;
  /** Enables scram over TCP; the local socket always trusts (as the official image does). */
  password?: string;
  binaries?: PgBinaries;
  durable?: boolean;
}

/** Marks directories the drill created, so destructive steps can check ownership first. */
export const OWNER_MARKER = '.nmia-drill-owned';

/** A throwaway PostgreSQL cluster from the machine's own binaries: temp data dir, free port, private socket. */
export class LocalPostgresProvider {
  constructor(private readonly options: LocalPostgresOptions = {}) {}

  async start(): Promise<StartedLocalPostgres> {
    const binaries = this.options.binaries ?? findPgBinaries();
    const identity = serverIdentity();
    const superuser = this.options.superuser ?? 'nmia';
    const rootDir = await mkdtemp(join(tmpdir(), 'nmia-drill-pg-'));
    await writeFile(join(rootDir, OWNER_MARKER), `created by nmia-drill pid ${process.pid} at ${new Date().toISOString()}\n`);
    // The server user must be able to reach its directories inside our temp dir.
    chmodSync(rootDir, 0o755);
    const cluster = new PgCluster(join(rootDir, 'data'), binaries, identity);
    const socketDir = join(rootDir, 'socket');
    const cleanup = cleanupRegistry.register(
      `postgres cluster ${rootDir}`,
      () => StartedLocalPostgres.destroy(cluster, rootDir),
      () => {
        cluster.killNow();
        rmSync(rootDir, { recursive: true, force: true });
      },
    );
    try {
      await cluster.init(this.options.password ? { superuser, password: this.options.password } : { superuser });
      await cluster.ensureOwnedDir(join(rootDir, 'log'));
      const port = await this.startOnFreePort(cluster, socketDir, join(rootDir, 'log', 'server.log'));
      return new StartedLocalPostgres(cluster, binaries, rootDir, socketDir, port, superuser, cleanup);
    } catch (error) {
      await cleanup.run().catch(() => undefined);
      throw error;
    }
  }

  private async startOnFreePort(cluster: PgCluster, socketDir: string, logFile: string): Promise<number> {
    let lastError: unknown;
    // Another process may grab the port between probe and bind; a few retries make that harmless.
    for (let attempt = 0; attempt < 3; attempt++) {
      const port = await freePort();
      try {
        await cluster.start({ port, socketDir, logFile, durable: this.options.durable ?? false });
        return port;
      } catch (error) {
        lastError = error;
      }
    }
    const logTail = safeTail(logFile);
    throw new EnvironmentError(`could not start a local PostgreSQL server: ${logTail || (lastError as Error).message}`, {
      fix: 'check free disk space and shared memory, or set PG_BINDIR to another PostgreSQL installation',
      cause: lastError,
    });
  }
}

function safeTail(file: string): string {
  try {
    return lastLines(readFileSync(file, 'utf8'), 2, ' | ');
  } catch {
    return '';
  }
}
