import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announceSkip, dockerAvailability } from '../../src/docker/docker-availability.ts';
import { WorkerLogPulse } from '../../src/probes/worker-log-pulse.ts';
import { cloneRealNmia, realNmiaSource } from '../../test-support/real-nmia-checkout.ts';
import { RealWorkerStack } from '../../test-support/real-worker-stack.ts';

const docker = await dockerAvailability(['postgres:15', 'nmia-worker', 'nmia-api', 'nmia-drill/node:20']);
const source = realNmiaSource();
const suffix = source ? announceSkip('real worker scan', docker) : ' [skipped: no real NMIA repository]';
const BIND_PASSWORD = 'Drill-Bind-Canary-7f3a';
const KNOWN = [
  {
    sam: 'svc-billing-prod-1',
    sid: 'S-1-5-21-1004336348-1177238915-682003330-1101',
    spn: ['HTTP/billing-1.t1.example.com'],
    enabled: true,
  },
  {
    sam: 'svc-etl-dev-2',
    sid: 'S-1-5-21-1004336348-1177238915-682003330-1102',
    spn: ['MSSQLSvc/etl-2.t1.example.com:1433', 'HTTP/etl-2.t1.example.com'],
    enabled: false,
  },
  { sam: 'svc-vault-prod-3', sid: 'S-1-5-21-1004336348-1177238915-682003330-1103', spn: ['HTTP/vault-3.t1.example.com'], enabled: true },
];

interface JobRow {
  id: string;
  status: string;
  records_found: number;
  records_ingested: number;
  error_message: string | null;
  started_at: Date | null;
  finished_at: Date | null;
}

// NMIA's own worker (APScheduler, 15 s poller) and AD connector, in its image, scanning the fixture directory.
describe.skipIf(!docker.available || !source)(`the real NMIA worker scans the fixture directory${suffix}`, () => {
  let app: Awaited<ReturnType<typeof cloneRealNmia>>;
  let stack: RealWorkerStack;
  let restored: JobRow[];
  let workerStarted: number;

  const job = async (id: string): Promise<JobRow> => (await stack.query<JobRow>('SELECT * FROM jobs WHERE id = $1', [id]))[0] as JobRow;
  const waitWhilePending = async (id: string, limitMs: number): Promise<JobRow> => {
    const deadline = Date.now() + limitMs;
    for (;;) {
      const row = await job(id);
      if (row.status !== 'pending' || Date.now() > deadline) return row;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  };

  beforeAll(async () => {
    app = await cloneRealNmia();
    stack = await RealWorkerStack.start({
      appDir: app.dir,
      connector: {
        server: 'dc1.t1.example.com',
        bind_dn: 'CN=svc-nmia-scan,OU=Service Accounts,DC=t1,DC=example,DC=com',
        bind_password: BIND_PASSWORD,
        search_base: 'DC=t1,DC=example,DC=com',
      },
      // A restored database: one job of each state the worker may find, and the accounts NMIA already knows.
      jobs: ['pending', 'running', 'completed', 'failed'],
      identities: KNOWN,
    });
    restored = await stack.query<JobRow>('SELECT * FROM jobs ORDER BY created_at');
    workerStarted = Date.now();
    await stack.startWorker();
  }, 240_000);

  afterAll(async () => {
    await stack?.stop();
    await app?.remove();
  }, 120_000);

  it('runs a restored pending job at its first poll (15 s after start), finds the identities NMIA knew again and adds none; leaves running, completed and failed jobs alone', async () => {
    const pending = restored.find((j) => j.status === 'pending') as JobRow;
    const done = await waitWhilePending(pending.id, 60_000);
    const waited = Date.now() - workerStarted;
    expect(done).toMatchObject({ status: 'completed', records_found: 3, records_ingested: 3, error_message: null });
    expect(waited).toBeGreaterThan(12_000);
    const identities = await stack.query<{ fingerprint: string; display_name: string; fresh: boolean; enabled: boolean; findings: number }>(
      `SELECT fingerprint, display_name, last_seen > now() - interval '5 minutes' AS fresh, (normalized_data->>'enabled')::boolean AS enabled,
              json_array_length(finding_ids) AS findings
         FROM identities WHERE enclave_id = $1 ORDER BY display_name`,
      [stack.enclaveId],
    );
    // The same three, each seen again with this job's finding: the scan changed no identity count.
    expect(identities).toEqual(
      KNOWN.map((k) => ({ fingerprint: k.sid, display_name: k.sam, fresh: true, enabled: k.enabled, findings: 1 })),
    );
    for (const before of restored.filter((j) => j.status !== 'pending')) {
      expect(await job(before.id)).toMatchObject({ status: before.status, started_at: null, finished_at: null });
    }
    const logs = await stack.logs('worker');
    for (const line of [
      /\[INFO\] __main__: NMIA Worker starting\.\.\./,
      /\[INFO\] nmia_worker\.scheduler: Scheduler started with 1 job\(s\)/,
      /\[INFO\] nmia_worker\.scheduler: poll_pending_jobs: found 1 pending job\(s\)/,
      new RegExp(`_execute_ad_ldap_job: job=${pending.id} completed\\. found=3 ingested=3`),
      /\[INFO\] apscheduler\.executors\.default: Running job "Poll for pending jobs \(trigger: interval\[0:00:15\]/,
      /Job "Poll for pending jobs .*" executed successfully/,
    ])
      expect(logs).toMatch(line);
    expect(logs).toMatch(/^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d \[INFO\] /m);
    expect(logs).not.toContain(BIND_PASSWORD);
    // What the worker-running check reads: the poller's pulse in the log.
    expect(new WorkerLogPulse().judge(logs)).toMatchObject({ ok: true, summary: expect.stringMatching(/poller ran [\d.]+ s ago/) });
  }, 90_000);

  it('fails the job with invalid credentials once the bind password in the database changed (seeded defect)', async () => {
    await stack.rotateBindPassword(`${BIND_PASSWORD}-rotated`);
    const id = await stack.queueJob();
    const done = await waitWhilePending(id, 40_000);
    expect(done).toMatchObject({ status: 'failed', records_found: 0 });
    expect(done.error_message).toMatch(/invalidCredentials/);
    expect(await stack.logs('worker')).toMatch(
      new RegExp(`_execute_ad_ldap_job: job=${id} failed: automatic bind not successful - invalidCredentials`),
    );
    await stack.rotateBindPassword(BIND_PASSWORD);
  }, 60_000);

  it('leaves a job pending while the worker is stopped, and its log ends with its stop (seeded defect)', async () => {
    await stack.stopWorker();
    const logs = await stack.logs('worker');
    expect(logs.trimEnd().split('\n').at(-1)).toMatch(/\[INFO\] __main__: NMIA Worker stopped\.$/);
    expect(new WorkerLogPulse().judge(logs)).toMatchObject({ ok: false, summary: expect.stringMatching(/logged its stop/) });
    const id = await stack.queueJob();
    expect((await waitWhilePending(id, 20_000)).status).toBe('pending');
  }, 60_000);
});
