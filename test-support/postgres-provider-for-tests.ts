import type pg from 'pg';
import { UsageError } from '../src/errors/drill-error.ts';
import { ContainerPostgresProvider } from '../src/postgres/container-postgres-provider.ts';
import { LocalPostgresProvider } from '../src/postgres/local-postgres-provider.ts';
import type { PgBinaries } from '../src/postgres/pg-binaries.ts';

export type PostgresProviderKind = 'local' | 'container';

/** What component tests use of a throwaway server, on either provider. */
export interface StartedTestPostgres {
  readonly binaries: PgBinaries;
  clientConfig(database?: string): pg.ClientConfig;
  /** libpq environment for the machine's client binaries. */
  env(database?: string): Record<string, string>;
  connect(database?: string): Promise<pg.Client>;
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params?: unknown[], database?: string): Promise<T[]>;
  createDatabase(name: string): Promise<void>;
  dropDatabase(name: string): Promise<void>;
  stop(): Promise<void>;
}

export interface TestPostgresProvider {
  readonly kind: PostgresProviderKind;
  start(): Promise<StartedTestPostgres>;
}

/**
 * The provider component tests run on: NMIA_DRILL_PG_PROVIDER=local (default: the machine's own
 * binaries, no Docker) or container (@testcontainers/postgresql, NMIA_DRILL_POSTGRES_IMAGE).
 */
export function postgresProviderForTests(env: NodeJS.ProcessEnv = process.env): TestPostgresProvider {
  const kind = (env.NMIA_DRILL_PG_PROVIDER ?? 'local').trim() || 'local';
  switch (kind) {
    case 'local':
      return { kind, start: () => new LocalPostgresProvider().start() };
    case 'container':
      return { kind, start: () => new ContainerPostgresProvider().start() };
    default:
      throw new UsageError(`NMIA_DRILL_PG_PROVIDER=${kind} is not a Postgres provider`, { fix: 'use local (default) or container' });
  }
}
