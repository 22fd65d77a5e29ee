import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess } from '../../test-support/app-process.ts';
import { SeededNmiaDatabase } from '../../test-support/seeded-nmia-database.ts';
import type { StartedAppProcess } from '../../test-support/started-app-process.ts';

/** The real worker's job handling (docs/reference-app.md, "Worker"); the AD scan itself is proven with the directory. */
describe('reference NMIA worker (real process, real Postgres)', () => {
  let db: SeededNmiaDatabase;
  let worker: StartedAppProcess | undefined;

  const connectorOf = async (code: string): Promise<string> => {
    const [row] = await db.query<{ id: string }>(
      `SELECT c.id FROM connector_instances c JOIN connector_types t ON t.id = c.connector_type_id WHERE t.code = $1 ORDER BY c.name LIMIT 1`,
      [code],
    );
    return row?.id as string;
  };
  const pendingJob = async (connectorId: string): Promise<string> => {
    const [row] = await db.query<{ id: string }>(
      `INSERT INTO jobs (id, connector_instance_id, status, records_found, records_ingested, triggered_by, created_at, updated_at)
       VALUES (gen_random_uuid(), $1, 'pending', 0, 0, 'manual', now(), now()) RETURNING id`,
      [connectorId],
    );
    return row?.id as string;
  };
  const job = async (id: string) =>
    (
      await db.query<{ status: string; error_message: string | null; records_found: number; finished_at: Date | null }>(
        'SELECT * FROM jobs WHERE id = $1',
        [id],
      )
    )[0];
  const until = async (what: string, check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!(await check())) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  };

  beforeAll(async () => {
    db = await SeededNmiaDatabase.start({ seed: 17, scale: 100 });
  });

  afterAll(async () => {
    await worker?.stop();
    await db?.stop();
  });

  it('picks up pending jobs only, oldest first, and leaves jobs restored as running, completed or failed alone', async () => {
    const before = await db.query<{ id: string; status: string; updated_at: Date }>(
      `SELECT id, status, updated_at FROM jobs WHERE status <> 'pending'`,
    );
    const unsupported = await pendingJob(await connectorOf('adcs_remote'));
    const fileImport = await pendingJob(await connectorOf('adcs_file'));
    worker = await AppProcess.start('worker', { DATABASE_URL: db.url, NMIA_WORKER_POLL_MS: '300' });
    await until(
      'both jobs to finish',
      async () => (await job(unsupported))?.status !== 'pending' && (await job(fileImport))?.status !== 'pending',
    );
    expect(await job(unsupported)).toMatchObject({ status: 'failed', error_message: 'Unsupported connector type: adcs_remote' });
    expect(await job(fileImport)).toMatchObject({ status: 'completed', records_found: 0, error_message: null });
    expect((await job(fileImport))?.finished_at).not.toBeNull();
    const after = await db.query<{ id: string; status: string; updated_at: Date }>(
      `SELECT id, status, updated_at FROM jobs WHERE id = ANY($1::uuid[])`,
      [before.map((row) => row.id)],
    );
    expect(after).toEqual(expect.arrayContaining(before));
    expect(before.some((row) => row.status === 'running')).toBe(true);
    const output = worker.output();
    expect(output).toMatch(/NMIA Worker starting\.\.\./);
    const [scheduled] = await db.query<{ n: number }>(
      `SELECT count(*)::int AS n FROM connector_instances WHERE is_enabled AND coalesce(cron_expression, '') <> ''`,
    );
    expect(output).toMatch(new RegExp(`_load_existing_schedules: found ${scheduled?.n} scheduled connector`));
    expect(output).toMatch(new RegExp(`Scheduler started with ${1 + (scheduled?.n ?? 0)} job\\(s\\)`));
    expect(output).toMatch(/poll_pending_jobs: found \d+ pending job\(s\)/);
  });

  it('fails an ad_ldap job whose directory is outside the stack, and stops leaving new work pending', async () => {
    await worker?.stop();
    worker = await AppProcess.start('worker', {
      DATABASE_URL: db.url,
      NMIA_WORKER_POLL_MS: '300',
      NMIA_SERVICE_HOSTS: JSON.stringify({ 'db:5432': `127.0.0.1:${db.postgres.port}` }),
    });
    const scan = await pendingJob(await connectorOf('ad_ldap'));
    await until('the scan to finish', async () => (await job(scan))?.status !== 'pending');
    expect(await job(scan)).toMatchObject({ status: 'failed', error_message: 'invalid server address' });
    expect(await worker.stop()).toEqual({ code: 0, signal: null });
    expect(worker.output().trimEnd()).toMatch(/NMIA Worker stopped\.$/m);
    const left = await pendingJob(await connectorOf('adcs_file'));
    await new Promise((resolve) => setTimeout(resolve, 800));
    expect((await job(left))?.status).toBe('pending');
    worker = undefined;
  });
});
