import { rm } from 'node:fs/promises';
import type pg from 'pg';
import type { CleanupHandle } from '../lifecycle/cleanup-registry.ts';
import type { PgBinaries } from './pg-binaries.ts';
import type { PgCluster } from './pg-cluster.ts';
import { connectPg } from './pg-connect.ts';
import { createDatabase, dropDatabase, queryRows, type PostgresConnectionSource } from './postgres-queries.ts';

/** A running throwaway cluster. `stop()` removes every trace of it and is safe to call twice. */
export class StartedLocalPostgres implements PostgresConnectionSource {
  constructor(
    private readonly cluster: PgCluster,
    readonly binaries: PgBinaries,
    readonly rootDir: string,
    readonly socketDir: string,
    readonly port: number,
    readonly superuser: string,
    private readonly cleanup: CleanupHandle,
  ) {}

  get dataDir(): string {
    return this.cluster.dataDir;
  }

  get binDir(): string {
    return this.binaries.binDir;
  }

  clientConfig(database = 'postgres'): pg.ClientConfig {
    return { host: this.socketDir, port: this.port, user: this.superuser, database };
  }

  async connect(database = 'postgres'): Promise<pg.Client> {
    return connectPg(this.clientConfig(database));
  }

  async query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = [], database = 'postgres'): Promise<T[]> {
    return queryRows<T>(this, sql, params, database);
  }

  async createDatabase(name: string): Promise<void> {
    await createDatabase(this, name);
  }

  async dropDatabase(name: string): Promise<void> {
    await dropDatabase(this, name);
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
