import { rm } from 'node:fs/promises';
import pg from 'pg';
import type { CleanupHandle } from '../lifecycle/cleanup-registry.ts';
import type { PgBinaries } from './pg-binaries.ts';
import type { PgCluster } from './pg-cluster.ts';
import { StartedPostgres } from './started-postgres.ts';

/** A running throwaway cluster. `stop()` removes every trace of it and is safe to call twice. */
export class StartedLocalPostgres extends StartedPostgres {
  constructor(
    private readonly cluster: PgCluster,
    readonly binaries: PgBinaries,
    readonly rootDir: string,
    readonly socketDir: string,
    readonly port: number,
    readonly superuser: string,
    private readonly cleanup: CleanupHandle,
  ) {
    super();
  }

  get dataDir(): string {
    return this.cluster.dataDir;
  }

  get binDir(): string {
    return this.binaries.binDir;
  }

  clientConfig(database = 'postgres'): pg.ClientConfig {
    return { host: this.socketDir, port: this.port, user: this.superuser, database };
  }

  /** libpq environment for client binaries (psql, pg_dump, …). */
  env(database = 'postgres'): Record<string, string> {
    return { PGHOST: this.socketDir, PGPORT: String(this.port), PGUSER: this.superuser, PGDATABASE: database };
  }



  async stop(): Promise<void> {
    await this.cleanup.run();
  }

  /** Used by the provider's cleanup: stop the server, then delete its directory. */
  static async destroy(cluster: PgCluster, rootDir: string): Promise<void> {
    try {
      await cluster.stop('fast');
    } catch {
      await cluster.stop('immediate').catch(() => undefined);
    }
    await rm(rootDir, { recursive: true, force: true });
  }
}
