import { existsSync, readdirSync } from 'node:fs';
import { appendFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { PgCluster } from '../../postgres/pg-cluster.ts';
import type { PgBinaries } from '../../postgres/pg-binaries.ts';
import type { ServerIdentity } from '../../postgres/server-identity.ts';

export const PGDATA = '/var/lib/postgresql/data';

/**
 * The official postgres image's entrypoint, as local processes: an empty PGDATA is initialised from
 * POSTGRES_USER/PASSWORD/DB (trust on the socket, scram over TCP); a non-empty one is started as is.
 */
export class PostgresRuntime {
  constructor(
    private readonly binaries: PgBinaries,
    private readonly identity: ServerIdentity | undefined,
  ) {}

  async start(options: {
    dataDir: string;
    socketDir: string;
    port: number;
    logFile: string;
    environment: Record<string, string>;
  }): Promise<{ ok: true } | { ok: false; reason: string }> {
    const cluster = new PgCluster(options.dataDir, this.binaries, this.identity);
    const log = (line: string) => appendFile(options.logFile, `${line}\n`);
    try {
      await cluster.ensureOwnedDir(options.dataDir);
      await this.adoptOwnership(options.dataDir);
      await cluster.ensureOwnedDir(options.socketDir);
      const initialise = !existsSync(join(options.dataDir, 'PG_VERSION'));
      if (initialise) {
        if (readdirSync(options.dataDir).length > 0) {
          throw new Error(`initdb: error: directory "${PGDATA}" exists but is not empty`);
        }
        const user = options.environment.POSTGRES_USER || 'postgres';
        const password = options.environment.POSTGRES_PASSWORD;
        if (!password) throw new Error('Error: Database is uninitialized and superuser password is not specified.');
        await log('The files belonging to this database system will be owned by user "postgres".');
        await cluster.init({ superuser: user, password });
        await cluster.start({ port: options.port, socketDir: options.socketDir, logFile: options.logFile });
        const database = options.environment.POSTGRES_DB || user;
        if (database !== 'postgres') {
          await execa(this.binaries.path('createdb'), ['-h', options.socketDir, '-p', String(options.port), '-U', user, database]);
        }
        await log('PostgreSQL init process complete; ready for start up.');
        return { ok: true };
      }
      await cluster.start({ port: options.port, socketDir: options.socketDir, logFile: options.logFile });
      return { ok: true };
    } catch (error) {
      const reason = (error as Error).message;
      await log(reason);
      return { ok: false, reason };
    }
  }

  async stop(dataDir: string): Promise<void> {
    await new PgCluster(dataDir, this.binaries, this.identity).stop('fast');
  }

  isRunning(dataDir: string): boolean {
    return new PgCluster(dataDir, this.binaries, this.identity).isRunning();
  }

  /** The image's entrypoint chowns PGDATA to postgres when it runs as root; so do we (restored tarballs come back as root). */
  private async adoptOwnership(dataDir: string): Promise<void> {
    if (!this.identity) return;
    await execa('chown', ['-R', `${this.identity.uid}:${this.identity.gid}`, dataDir]);
    await execa('chmod', ['0700', dataDir]);
  }
}
