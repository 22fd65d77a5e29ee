/**
 * The one place the drill checks its own PostgreSQL client binaries against a server before using them
 * (the db service at drill start; the --target-url server of verify-backup). An older pg_dump than the
 * server aborts mid-drill with "server version mismatch"; checking first turns that into one line with
 * the fix, and exit 3 (the machine's problem, not the runbook's).
 */
import type pg from 'pg';
import { EnvironmentError } from '../errors/drill-error.ts';
import type { PgBinaries } from '../postgres/pg-binaries.ts';
import { connectPg } from '../postgres/pg-connect.ts';
import { checkClientServerVersions } from '../verify-backup/version-check.ts';

/** Throws an EnvironmentError (exit 3) when pg_dump, pg_restore or psql is of an older major than the server. */
export function assertClientsFitServer(binaries: PgBinaries, serverVersion: string): void {
  const mismatch = checkClientServerVersions(binaries, serverVersion);
  if (mismatch) throw new EnvironmentError(mismatch.cause, { fix: mismatch.fix });
}

/** Asks the server for its version, then checks the client binaries against it; returns the version. */
export async function assertClientsFitServerAt(binaries: PgBinaries, config: pg.ClientConfig): Promise<string> {
  const client = await connectPg({ ...config, connectionTimeoutMillis: 10_000 });
  let version: string;
  try {
    version = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
  } finally {
    await client.end();
  }
  assertClientsFitServer(binaries, version);
  return version;
}
