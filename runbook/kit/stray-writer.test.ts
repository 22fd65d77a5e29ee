import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalPostgresProvider } from '../../src/postgres/local-postgres-provider.ts';
import type { StartedLocalPostgres } from '../../src/postgres/started-local-postgres.ts';
import { RESTORE_ASIDE_FIX, SINGLE_TRANSACTION_FIX } from './still-writing-restore.ts';
import { StrayWriter } from './stray-writer.ts';

const CORRECTED = readFileSync(new URL('../../fixtures/runbooks/backup-restore.corrected.md', import.meta.url), 'utf8');
// The application's audit log, as its models make it (no server defaults), with its primary key or without it yet.
const AUDIT_LOGS = (keyed: boolean) => `CREATE TABLE public.audit_logs (
  id uuid NOT NULL, user_id uuid, action varchar(255) NOT NULL, resource_type varchar(255) NOT NULL,
  resource_id varchar(255) NOT NULL, details json, created_at timestamptz NOT NULL${keyed ? ', PRIMARY KEY (id)' : ''});
INSERT INTO public.audit_logs (id, action, resource_type, resource_id, created_at)
  SELECT gen_random_uuid(), 'create', 'identity', g::text, now() FROM generate_series(1, 20) g;`;

function until(condition: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  return new Promise((resolve, reject) => {
    const poll = () => {
      if (condition()) resolve();
      else if (Date.now() > deadline) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(poll, 5);
    };
    poll();
  });
}

describe('StrayWriter', () => {
  let server: StartedLocalPostgres;
  const writers: StrayWriter[] = [];

  beforeAll(async () => {
    server = await new LocalPostgresProvider().start();
  });
  afterAll(async () => {
    for (const writer of writers) await writer.stop();
    await server?.stop();
  });

  function writerOn(database: string, backupRows: number): StrayWriter {
    const writer = new StrayWriter(server.clientConfig(database), server.clientConfig('postgres'), `stray ${database}`, backupRows);
    writers.push(writer);
    return writer;
  }

  it('tells a half-restored audit log (fewer rows than the backup, or no primary key yet) from a complete one', async () => {
    for (const [database, keyed, backupRows, partial] of [
      ['complete', true, 20, false],
      ['rows_missing', true, 21, true],
      ['unkeyed', false, 20, true],
    ] as const) {
      await server.createDatabase(database);
      await server.query(AUDIT_LOGS(keyed), [], database);
      const writer = writerOn(database, backupRows);
      writer.start();
      await until(() => writer.writes.length >= 3, `writes into ${database}`);
      await writer.stop();
      expect(new Set(writer.writes.map((write) => write.intoPartialDatabase)), database).toEqual(new Set([partial]));
      const [counted] = await server.query<{ rows: number }>(
        `SELECT count(*)::int AS rows FROM audit_logs WHERE resource_id = $1`,
        [writer.marker],
        database,
      );
      expect(counted?.rows).toBe(writer.writes.length);
    }
  });

  it('held, it keeps no session, so dropdb goes through, and it writes into the database recreated under its name', async () => {
    await server.createDatabase('held');
    await server.query(AUDIT_LOGS(true), [], 'held');
    const writer = writerOn('held', 20);
    writer.start();
    await until(() => writer.writes.length >= 3, 'writes before the hold');
    await writer.hold();
    writer.mark();
    const before = writer.writes.length;
    const sessions = await server.query<{ n: number }>(`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = 'held'`);
    expect(sessions[0]!.n).toBe(0);
    // While the database it was held on is still there, it does not even try.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(writer.attemptsSinceMark).toBe(0);
    // Without FORCE: a session left behind would make this fail, as it makes the runbook's dropdb fail.
    await server.query('DROP DATABASE held');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(writer.writes.length).toBe(before);
    // Recreated empty: the writer waits on the server for the audit log, and writes the moment it exists, unkeyed.
    await server.createDatabase('held');
    writer.mark();
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(writer.writes.length).toBe(before);
    await server.query(AUDIT_LOGS(false), [], 'held');
    await until(() => writer.writes.length > before, 'a write into the recreated database');
    await writer.stop();
    expect(writer.attemptsSinceMark).toBeGreaterThan(0);
    expect(writer.writes.slice(before).every((write) => write.intoPartialDatabase)).toBe(true);
  });

  it('each fix it backs is the corrected runbook’s text, word for word', () => {
    expect(CORRECTED).toContain(RESTORE_ASIDE_FIX);
    expect(CORRECTED).toContain(SINGLE_TRANSACTION_FIX);
  });
});
