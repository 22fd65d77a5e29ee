import type pg from 'pg';
import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import type { CleanupHandle } from '../lifecycle/cleanup-registry.ts';
import type { PgBinaries } from './pg-binaries.ts';
import { connectPg } from './pg-connect.ts';
import { createDatabase, dropDatabase, queryRows, type PostgresConnectionSource } from './postgres-queries.ts';

/**
 * A running PostgreSQL container (@testcontainers/postgresql), with the same surface as
 * StartedLocalPostgres: TCP on a published 127.0.0.1 port, password auth, the machine's own client
 * binaries. `stop()` removes the container and its volume and is safe to call twice.
 */
export class StartedContainerPostgres implements PostgresConnectionSource {
  constructor(
    private readonly container: StartedPostgreSqlContainer,
    readonly binaries: PgBinaries,
    readonly image: string,
    private readonly cleanup: CleanupHandle,
  ) {}

  get host(): string {
    return this.container.getHost();
  }

  get port(): number {
    return this.container.getPort();
  }

  get superuser(): string {
    return this.container.getUsername();
  }

  get password(): string {
    return this.container.getPassword();
  }

  get containerId(): string {
    return this.container.getId();
  }

  get binDir(): string {
    return this.binaries.binDir;
  }

  clientConfig(database = 'postgres'): pg.ClientConfig {
    return { host: this.host, port: this.port, user: this.superuser, password: this.password, database };
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

  /** libpq environment for the machine's client binaries (psql, pg_dump, …), over TCP. */
  env(database = 'postgres'): Record<string, string> {
    return { PGHOST: this.host, PGPORT: String(this.port), PGUSER: this.superuser, PGPASSWORD: this.password, PGDATABASE: database };
  }

  connectionUri(database = 'postgres'): string {
    const url = new URL('postgresql://');
    url.hostname = this.host;
    url.port = String(this.port);
    url.username = this.superuser;
    url.password = this.password;
    url.pathname = `/${database}`;
    return url.toString();
  }

  /** Runs a command inside the container (the image's own binaries), e.g. `pg_dump` as the runbook does. */
  async exec(command: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const result = await this.container.exec(command);
    return { exitCode: result.exitCode, stdout: result.stdout, stderr: result.stderr };
  }

  async stop(): Promise<void> {
    await this.cleanup.run();
  }
}
