import pg from 'pg';
import { connectPg } from './pg-connect.ts';

/** What a live Postgres handle offers, whatever provides it; each handle delegates here with its own settings. */
export interface PostgresConnectionSource {
  clientConfig(database?: string): pg.ClientConfig;
}

export async function queryRows<T extends pg.QueryResultRow = pg.QueryResultRow>(
  source: PostgresConnectionSource,
  sql: string,
  params: unknown[] = [],
  database = 'postgres',
): Promise<T[]> {
  const client = await connectPg(source.clientConfig(database));
  try {
    return (await client.query<T>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

export async function createDatabase(source: PostgresConnectionSource, name: string): Promise<void> {
  await queryRows(source, `CREATE DATABASE ${pg.escapeIdentifier(name)}`);
}

export async function dropDatabase(source: PostgresConnectionSource, name: string): Promise<void> {
  await queryRows(source, `DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
}
