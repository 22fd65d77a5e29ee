import pg from 'pg';
import { connectPg } from './pg-connect.ts';

/** What every live Postgres handle offers on top of its connection settings, whatever provides it. */
export abstract class StartedPostgres {
  abstract clientConfig(database?: string): pg.ClientConfig;

  async connect(database = 'postgres'): Promise<pg.Client> {
    return connectPg(this.clientConfig(database));
  }

  async query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = [], database = 'postgres'): Promise<T[]> {
    const client = await this.connect(database);
    try {
      return (await client.query<T>(sql, params)).rows;
    } finally {
      await client.end();
    }
  }

  async createDatabase(name: string): Promise<void> {
    await this.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
  }

  async dropDatabase(name: string): Promise<void> {
    await this.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`);
  }
}
