import { readFile, mkdtemp, rm, stat } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FixtureDirectory } from '../../nmia/directory/fixture-directory.ts';
import type { StartedFixtureDirectory } from '../../nmia/directory/started-fixture-directory.ts';
import { AppProcess } from '../../test-support/app-process.ts';
import { SeededNmiaDatabase } from '../../test-support/seeded-nmia-database.ts';
import type { StartedAppProcess } from '../../test-support/started-app-process.ts';
import { Redactor } from '../evidence/redactor.ts';
import { freePort } from '../postgres/free-port.ts';
import { ChecklistProbes } from './checklist-probes.ts';
import { checkToken } from './jwt-continuity-probe.ts';
import { PROBE_IDS, type ProbeResult, type ProbeTarget } from './probe.ts';

const SEED = 31;
const SCALE = 200;

describe('DR checklist probes against the real reference app', () => {
  let db: SeededNmiaDatabase;
  let directory: StartedFixtureDirectory;
  let api: StartedAppProcess;
  let worker: StartedAppProcess;
  let collector: StartedAppProcess;
  let ui: StartedAppProcess;
  let apiPort: number;
  let apiEnv: Record<string, string>;
  let evidenceDir: string;
  let target: ProbeTarget;
  let expected: { identities: number; enclaves: number; connectors: number };
  let suiteStart: Date;
  const tokensSeen: string[] = [];
  const allResults: ProbeResult[] = [];

  const login = async (): Promise<string> => {
    const response = await fetch(`${api.url}/api/auth/login`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ username: 'admin', password: db.canaries.adminPassword }),
    });
    expect(response.status).toBe(200);
    const token = ((await response.json()) as { access_token: string }).access_token;
    tokensSeen.push(token);
    return token;
  };

  const restartApi = async (secretKey: string): Promise<void> => {
    await api.stop();
    api = await AppProcess.start('api', { ...apiEnv, PORT: String(apiPort), SECRET_KEY: secretKey });
  };

  const run = async (options: Parameters<ChecklistProbes['run']>[0], probeTarget: ProbeTarget = target): Promise<ProbeResult[]> => {
    const results = await new ChecklistProbes(probeTarget).run(options);
    allResults.push(...results);
    return results;
  };

  const byId = (results: ProbeResult[], id: string): ProbeResult => {
    const result = results.find((r) => r.id === id);
    if (!result) throw new Error(`no result for ${id}`);
    return result;
  };

  beforeAll(async () => {
    suiteStart = new Date();
    db = await SeededNmiaDatabase.start({ seed: SEED, scale: SCALE });
    directory = await new FixtureDirectory().start({ database: db.postgres.clientConfig(db.database) });
    const hosts: Record<string, string> = {
      'db:5432': `127.0.0.1:${db.postgres.port}`,
      'directory:389': `127.0.0.1:${directory.port}`,
      '*:389': 'directory:389',
    };
    const base = { DATABASE_URL: 'postgresql://nmia@db:5432/nmia' };
    collector = await AppProcess.start('collector', { ...base, NMIA_SERVICE_HOSTS: JSON.stringify(hosts) });
    hosts['collector:8001'] = `127.0.0.1:${collector.port}`;
    apiPort = await freePort();
    hosts['api:8000'] = `127.0.0.1:${apiPort}`;
    apiEnv = { ...base, NMIA_SERVICE_HOSTS: JSON.stringify(hosts) };
    [api, worker, ui] = await Promise.all([
      AppProcess.start('api', { ...apiEnv, PORT: String(apiPort), SECRET_KEY: db.canaries.secretKey }),
      AppProcess.start('worker', { ...apiEnv, COLLECTOR_URL: 'http://collector:8001', NMIA_WORKER_ID: 'probe-worker' }),
      AppProcess.start('ui', { API_URL: 'http://api:8000', NMIA_SERVICE_HOSTS: JSON.stringify(hosts) }),
    ]);
    evidenceDir = await mkdtemp(join(tmpdir(), 'nmia-probes-'));
    target = {
      apiUrl: api.url,
      uiUrl: ui.url,
      admin: { username: 'admin', password: db.canaries.adminPassword },
      database: db.postgres.clientConfig(db.database),
      evidenceDir,
      timeouts: { httpMs: 5_000, scanMs: 15_000, workerHeartbeatMaxAgeS: 5, workerWaitMs: 5_000, uiMs: 15_000 },
    };
    const [counts] = await db.query<{ identities: number; enclaves: number; connectors: number }>(
      `SELECT (SELECT count(*)::int FROM identities) AS identities, (SELECT count(*)::int FROM enclaves) AS enclaves,
              (SELECT count(*)::int FROM connectors) AS connectors`,
    );
    expected = counts!;
  });

  afterAll(async () => {
    await Promise.all([worker, api, ui, collector].map((p) => p?.stop()));
    await directory?.stop();
    await db?.stop();
    if (evidenceDir) await rm(evidenceDir, { recursive: true, force: true });
  });

  it('passes every item on a healthy stack, with a token issued before an api restart that kept SECRET_KEY', async () => {
    const preDisasterToken = await login();
    await restartApi(db.canaries.secretKey);
    const results = await run({
      expected,
      preDisasterToken,
      workerLogs: { read: async () => worker.output(), since: suiteStart },
    });
    expect(results.map((r) => r.id)).toEqual([...PROBE_IDS]);
    expect(results.filter((r) => r.outcome !== 'passed')).toEqual([]);

    const ui = byId(results, 'ui-loads');
    expect(ui.evidence.rowsSeen).toBe(expected.enclaves);
    expect(ui.evidence.apiEnclaves).toBe(expected.enclaves);
    expect(ui.evidence.browser).toMatch(/Chrome\/\d+/);
    const screenshot = ui.evidence.screenshot as string;
    expect(screenshot.startsWith(evidenceDir)).toBe(true);
    expect((await stat(screenshot)).size).toBeGreaterThan(1_000);
    expect((await readFile(screenshot)).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));

    expect(byId(results, 'api-docs').evidence).toMatchObject({ docs: { status: 200 }, openapi: { status: 200, version: '3.1.0' } });
    expect(byId(results, 'identity-counts-match').evidence).toMatchObject({ total: expected.identities, expected: expected.identities });
    expect(byId(results, 'enclaves-connectors-visible').evidence).toMatchObject({
      enclaves: expected.enclaves,
      connectors: expected.connectors,
    });
    expect(byId(results, 'worker-running').evidence).toMatchObject({
      heartbeat: { workerId: 'probe-worker' },
      logs: { linesSince: expect.any(Number) },
    });
    const scan = byId(results, 'connector-scan');
    expect(scan.evidence.status).toBe('succeeded');
    expect(scan.evidence.entries).toBeGreaterThan(0);
    expect(String(scan.evidence.ldapUrl)).toMatch(/^ldap:\/\//);
    const [job] = await db.query<{ status: string }>('SELECT status FROM jobs WHERE id = $1', [scan.evidence.jobId]);
    expect(job?.status).toBe('succeeded');
    expect(byId(results, 'jwt-continuity').evidence).toMatchObject({ status: 200 });
  });

  it('fails identity-counts-match and enclaves-connectors-visible on counts that differ from before the disaster', async () => {
    const results = await run({
      only: ['enclaves-connectors-visible', 'identity-counts-match'],
      expected: { identities: expected.identities + 3, connectors: expected.connectors - 1 },
    });
    expect(byId(results, 'identity-counts-match')).toMatchObject({
      outcome: 'failed',
      summary: `the api counts ${expected.identities} identities, the pre-disaster count is ${expected.identities + 3} (-3)`,
    });
    expect(byId(results, 'enclaves-connectors-visible').outcome).toBe('failed');
    expect(byId(results, 'enclaves-connectors-visible').summary).toMatch(
      new RegExp(`${expected.connectors} connectors, expected ${expected.connectors - 1}`),
    );
    // Without the pre-disaster count the item is not checked, and says so.
    const [skipped] = await run({ only: ['identity-counts-match'] });
    expect(skipped).toMatchObject({ outcome: 'skipped', summary: expect.stringMatching(/no pre-disaster identity count/) });
  });

  it('fails admin-login (and the UI sign-in) when the admin password hash in users changed', async () => {
    const [original] = await db.query<{ password_hash: string }>(`SELECT password_hash FROM users WHERE username = 'admin'`);
    await db.query(`UPDATE users SET password_hash = $1 WHERE username = 'admin'`, [bcrypt.hashSync('not-the-pre-disaster-password', 4)]);
    try {
      const results = await run({ only: ['ui-loads', 'admin-login', 'enclaves-connectors-visible'] });
      expect(byId(results, 'admin-login')).toMatchObject({
        outcome: 'failed',
        summary: expect.stringMatching(
          /^POST http:\/\/127\.0\.0\.1:\d+\/api\/auth\/login: HTTP 401 invalid_credentials: incorrect username or password \(the pre-disaster credentials were refused\)$/,
        ),
        evidence: { status: 401, tokenIssued: false },
      });
      const ui = byId(results, 'ui-loads');
      expect(ui.outcome).toBe('failed');
      expect(ui.summary).toMatch(/the UI shows an error after sign-in: Sign-in failed: incorrect username or password/);
      expect(ui.evidence.state).toBe('error');
      expect((await stat(ui.evidence.screenshot as string)).size).toBeGreaterThan(1_000);
      expect(byId(results, 'enclaves-connectors-visible')).toMatchObject({
        outcome: 'skipped',
        summary: expect.stringMatching(/no admin token \(POST .* HTTP 401/),
      });
    } finally {
      await db.query(`UPDATE users SET password_hash = $1 WHERE username = 'admin'`, [original!.password_hash]);
    }
  });

  it('ui-loads follows a configured sign-in path and selectors (probes.ui), and fails on ones the UI does not match', async () => {
    const configured = (ui: ProbeTarget['ui']): ProbeTarget => ({ ...target, ui });
    const [same] = await run(
      { only: ['ui-loads'] },
      configured({
        signIn: '/#username={username}&password={password}',
        selectors: { ready: 'body[data-state=ready]', enclaveRow: '*[data-testid="enclave"]' },
      }),
    );
    expect(same, same?.summary).toMatchObject({ outcome: 'passed', evidence: { rowsSeen: expected.enclaves } });
    const [wrongRow] = await run({ only: ['ui-loads'] }, configured({ selectors: { enclaveRow: '[data-testid=enclave-card]' } }));
    expect(wrongRow).toMatchObject({
      outcome: 'failed',
      summary: 'the UI is ready but rendered no enclave rows ([data-testid=enclave-card])',
    });
    const [wrongSignIn] = await run({ only: ['ui-loads'] }, configured({ signIn: '/#user={username}&pass={password}' }));
    expect(wrongSignIn?.outcome).toBe('failed');
    expect(JSON.stringify(wrongSignIn)).not.toContain(db.canaries.adminPassword);
  });

  it("fails connector-scan when the connector's bind password in the database no longer matches the directory", async () => {
    const [connector] = await db.query<{ id: number; config: unknown }>(
      `SELECT id, config FROM connectors WHERE is_enabled AND config->>'ldap_url' LIKE 'ldap://%' ORDER BY id LIMIT 1`,
    );
    await db.query(
      `UPDATE connectors SET config = jsonb_set(config, '{bind_password}', to_jsonb('changed-after-backup'::text)) WHERE id = $1`,
      [connector!.id],
    );
    try {
      const [result] = await run({ only: ['connector-scan'] }, { ...target, scanConnectorId: connector!.id });
      expect(result).toMatchObject({
        outcome: 'failed',
        evidence: { connectorId: connector!.id, status: 'failed', code: 'invalid_credentials', jobId: expect.any(Number) },
      });
      expect(result!.summary).toMatch(
        new RegExp(`^scan job \\d+ of connector ${connector!.id} \\(.+\\) failed: .*invalid credentials.* \\(invalid_credentials\\)$`),
      );
    } finally {
      await db.query('UPDATE connectors SET config = $2 WHERE id = $1', [connector!.id, connector!.config]);
    }
  });

  it('fails an item pointed at a URL with nothing listening, with a clear cause, and passes none', async () => {
    const dead: ProbeTarget = {
      apiUrl: 'http://127.0.0.1:1',
      uiUrl: 'http://127.0.0.1:1',
      admin: target.admin,
      evidenceDir,
      timeouts: { httpMs: 2_000 },
    };
    const results = await run({ expected, preDisasterToken: 'a-token-from-before-the-disaster' }, dead);
    expect(results.filter((r) => r.outcome === 'passed')).toEqual([]);
    expect(byId(results, 'api-docs')).toMatchObject({
      outcome: 'failed',
      summary: 'GET http://127.0.0.1:1/docs: connection refused (is the api running?)',
    });
    expect(byId(results, 'ui-loads')).toMatchObject({
      outcome: 'failed',
      summary: 'GET http://127.0.0.1:1/: connection refused (is the ui running?)',
    });
    expect(byId(results, 'admin-login')).toMatchObject({
      outcome: 'failed',
      summary: 'POST http://127.0.0.1:1/api/auth/login: connection refused (is the api running?)',
    });
    expect(byId(results, 'jwt-continuity')).toMatchObject({
      outcome: 'failed',
      summary: 'GET http://127.0.0.1:1/api/enclaves: connection refused (is the api running?)',
    });
    expect(byId(results, 'worker-running')).toMatchObject({ outcome: 'skipped' });
    for (const id of ['enclaves-connectors-visible', 'identity-counts-match', 'connector-scan'] as const) {
      expect(byId(results, id)).toMatchObject({
        outcome: 'skipped',
        summary: expect.stringContaining('connection refused (is the api running?)'),
      });
    }
  });

  it('fails api-docs with a timeout when the api accepts connections but never answers', async () => {
    const sockets = new Set<import('node:net').Socket>();
    const hung: Server = createServer((socket) => sockets.add(socket));
    await new Promise<void>((resolve) => hung.listen(0, '127.0.0.1', resolve));
    const port = (hung.address() as { port: number }).port;
    try {
      const [result] = await run({ only: ['api-docs'] }, { ...target, apiUrl: `http://127.0.0.1:${port}`, timeouts: { httpMs: 300 } });
      expect(result).toMatchObject({
        outcome: 'failed',
        summary: `GET http://127.0.0.1:${port}/docs: no complete answer within 300 ms (is the api overloaded or hung?)`,
      });
    } finally {
      for (const socket of sockets) socket.destroy();
      await new Promise((resolve) => hung.close(resolve));
    }
  });

  it('fails worker-running once the worker is stopped: stale heartbeat, and its log ends with its exit', async () => {
    await worker.stop();
    const deadline = Date.now() + 10_000;
    for (;;) {
      const [row] = await db.query<{ age: number }>(
        'SELECT extract(epoch FROM now() - max(beat_at))::float8 AS age FROM worker_heartbeats',
      );
      if ((row?.age ?? 0) > 3) break;
      if (Date.now() > deadline) throw new Error('heartbeat never went stale');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const strict = { ...target, timeouts: { ...target.timeouts, workerHeartbeatMaxAgeS: 3, workerWaitMs: 1_000 } };
    const [heartbeat] = await run({ only: ['worker-running'] }, strict);
    expect(heartbeat).toMatchObject({ outcome: 'failed', evidence: { heartbeat: { workerId: 'probe-worker', maxAgeS: 3 } } });
    expect(heartbeat!.summary).toMatch(
      /^the newest worker heartbeat \(probe-worker\) is [\d.]+ s old after waiting \d+ ms, limit 3 s: no worker is running$/,
    );
    expect(heartbeat!.evidence.heartbeat).toMatchObject({ waitedMs: expect.any(Number) });
    expect((heartbeat!.evidence.heartbeat as { waitedMs: number }).waitedMs).toBeGreaterThanOrEqual(1_000);

    const { database: _database, ...logsOnly } = strict;
    const [fromLogs] = await run(
      { only: ['worker-running'], workerLogs: { read: async () => worker.output(), since: suiteStart } },
      logsOnly,
    );
    expect(fromLogs).toMatchObject({
      outcome: 'failed',
      summary: expect.stringMatching(/the last line says the worker ended: ".* worker stopped"/),
    });
    const [noneSince] = await run(
      { only: ['worker-running'], workerLogs: { read: async () => worker.output(), since: new Date() } },
      logsOnly,
    );
    expect(noneSince).toMatchObject({
      outcome: 'failed',
      summary: expect.stringMatching(/no line since .*: the worker has not run since recovery began/),
    });
    const [nothing] = await run({ only: ['worker-running'] }, logsOnly);
    expect(nothing).toMatchObject({ outcome: 'skipped' });
  });

  it('fails jwt-continuity for a token signed before an api restart with a different SECRET_KEY', async () => {
    const preDisasterToken = await login();
    await restartApi(`${db.canaries.secretKey}-rotated`);
    const raw = await checkToken(api.url, preDisasterToken);
    expect(raw).toEqual({ status: 401, detail: "invalid_token: token signature does not match this server's SECRET_KEY" });
    const [kept] = await run({ only: ['jwt-continuity'], preDisasterToken });
    expect(kept).toMatchObject({
      outcome: 'failed',
      evidence: { status: 401, expected: 200 },
      summary: expect.stringMatching(
        /with a pre-disaster token → HTTP 401 invalid_token: token signature does not match this server's SECRET_KEY \(was SECRET_KEY changed\?/,
      ),
    });
    const [rotated] = await run({ only: ['jwt-continuity'], preDisasterToken, tokenExpectation: 'invalid' });
    expect(rotated).toMatchObject({ outcome: 'passed', evidence: { status: 401, expected: 401 } });
    const [missing] = await run({ only: ['jwt-continuity'] });
    expect(missing).toMatchObject({ outcome: 'skipped' });
  });

  it('never puts the admin password, a token or another secret in any result', async () => {
    expect(allResults.length).toBeGreaterThan(20);
    const text = JSON.stringify(allResults);
    for (const secret of [
      db.canaries.adminPassword,
      encodeURIComponent(db.canaries.adminPassword),
      db.canaries.secretKey,
      ...db.canaries.bindPasswords,
      ...tokensSeen,
    ]) {
      expect(text).not.toContain(secret);
    }
    expect(text).not.toContain('CANARY');
    expect(text).not.toContain('changed-after-backup');
    expect(text).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/);
  });

  it('scrubs a secret that reaches a summary through a caller-given redactor', async () => {
    // A probe repeating a server's words could carry anything; the drill's redactor is the last filter.
    const redactor = new Redactor().add('title', 'NMIA API docs');
    const [result] = await new ChecklistProbes(target, { redactor }).run({ only: ['api-docs'] });
    expect(result!.outcome).toBe('passed');
    expect(JSON.stringify(result)).not.toContain('NMIA API docs');
    expect(result!.summary).toContain('[REDACTED:title]');
  });
});
