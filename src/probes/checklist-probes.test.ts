import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { type Server, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import bcrypt from 'bcryptjs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
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
/** Every item but the scan, which needs the directory (nmia/directory tests and the drill cover it). */
const WITHOUT_SCAN = PROBE_IDS.filter((id) => id !== 'connector-scan');

describe('DR checklist probes against the reference app (real processes, real Postgres, real Chromium)', () => {
  let db: SeededNmiaDatabase;
  let api: StartedAppProcess;
  let worker: StartedAppProcess;
  let ui: StartedAppProcess;
  let uiAsShipped: StartedAppProcess;
  let uiFormLogin: StartedAppProcess;
  let apiPort: number;
  let apiEnv: Record<string, string>;
  let evidenceDir: string;
  let target: ProbeTarget;
  let expected: { identities: number; enclaves: number; connectors: number };
  let suiteStart: Date;
  const tokensSeen: string[] = [];
  const allResults: ProbeResult[] = [];

  const login = async (): Promise<string> => {
    const response = await fetch(`${api.url}/api/v1/auth/login`, {
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
    apiPort = await freePort();
    apiEnv = { DATABASE_URL: db.url };
    api = await AppProcess.start('api', { ...apiEnv, PORT: String(apiPort), SECRET_KEY: db.canaries.secretKey });
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    [worker, ui, uiAsShipped, uiFormLogin] = await Promise.all([
      AppProcess.start('worker', { ...apiEnv, NMIA_WORKER_POLL_MS: '300' }),
      // The ui with the application's fixes: proxy to the api, JSON sign-in, slash-terminated lists.
      AppProcess.start('ui', { NMIA_UI_PROXY_TARGET: apiUrl, NMIA_UI_APP_FIXES: '1' }),
      // As NMIA ships it under compose: the proxy dials localhost:8000 inside the ui (a container: nothing there).
      AppProcess.start('ui', { NMIA_SERVICE_HOSTS: JSON.stringify({ 'api:8000': `127.0.0.1:${apiPort}` }) }),
      // Proxy fixed, but the ui's own form-encoded sign-in.
      AppProcess.start('ui', { NMIA_UI_PROXY_TARGET: apiUrl }),
    ]);
    evidenceDir = await mkdtemp(join(tmpdir(), 'nmia-probes-'));
    target = {
      apiUrl,
      uiUrl: ui.url,
      admin: { username: 'admin', password: db.canaries.adminPassword },
      evidenceDir,
      timeouts: { httpMs: 5_000, scanMs: 15_000, uiMs: 15_000 },
    };
    const [counts] = await db.query<{ identities: number; enclaves: number; connectors: number }>(
      `SELECT (SELECT count(*)::int FROM identities) AS identities, (SELECT count(*)::int FROM enclaves) AS enclaves,
              (SELECT count(*)::int FROM connector_instances) AS connectors`,
    );
    expected = counts as typeof expected;
  });

  afterAll(async () => {
    await Promise.all([worker, api, ui, uiAsShipped, uiFormLogin].map((p) => p?.stop()));
    await db?.stop();
    if (evidenceDir) await rm(evidenceDir, { recursive: true, force: true });
  });

  it('passes every item on a healthy stack, with a token issued before an api restart that kept SECRET_KEY', async () => {
    const preDisasterToken = await login();
    await restartApi(db.canaries.secretKey);
    const results = await run({
      only: WITHOUT_SCAN,
      expected,
      preDisasterToken,
      workerLogs: { read: async () => worker.output(), since: suiteStart },
    });
    expect(results.map((r) => r.id)).toEqual(WITHOUT_SCAN);
    expect(results.filter((r) => r.outcome !== 'passed')).toEqual([]);

    const uiResult = byId(results, 'ui-loads');
    expect(uiResult.summary).toMatch(/^admin signed in through the login form; Chromium rendered \d+ enclave rows/);
    expect(uiResult.evidence).toMatchObject({
      rowsSeen: expected.enclaves,
      apiEnclaves: expected.enclaves,
      afterSignIn: '/identities',
      tokenStored: true,
    });
    expect(uiResult.evidence.browser).toMatch(/Chrome\/\d+/);
    const screenshot = uiResult.evidence.screenshot as string;
    expect(screenshot.startsWith(evidenceDir)).toBe(true);
    expect((await readFile(screenshot)).subarray(0, 8)).toEqual(Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]));

    expect(byId(results, 'api-docs').evidence).toMatchObject({
      docs: { status: 200, title: 'NMIA - Non-Human Identity Authority - Swagger UI' },
      openapi: { status: 200, version: '3.1.0' },
    });
    expect(byId(results, 'identity-counts-match').evidence).toMatchObject({ total: expected.identities, expected: expected.identities });
    expect(byId(results, 'enclaves-connectors-visible').evidence).toMatchObject({
      enclaves: expected.enclaves,
      connectors: expected.connectors,
    });
    expect(byId(results, 'worker-running').evidence).toMatchObject({ logs: { linesSince: expect.any(Number) } });
    expect(byId(results, 'jwt-continuity').evidence).toMatchObject({ status: 200 });
  });

  it('fails identity-counts-match and enclaves-connectors-visible on counts that differ from before the disaster', async () => {
    const results = await run({
      only: ['enclaves-connectors-visible', 'identity-counts-match'],
      expected: { identities: expected.identities + 3, connectors: expected.connectors - 1 },
    });
    expect(byId(results, 'identity-counts-match')).toMatchObject({
      outcome: 'failed',
      summary: `the api lists ${expected.identities} identities, the pre-disaster count is ${expected.identities + 3} (-3)`,
    });
    expect(byId(results, 'enclaves-connectors-visible').summary).toMatch(
      new RegExp(`${expected.connectors} connectors, expected ${expected.connectors - 1}`),
    );
    const [skipped] = await run({ only: ['identity-counts-match'] });
    expect(skipped).toMatchObject({ outcome: 'skipped', summary: expect.stringMatching(/no pre-disaster identity count/) });
  });

  it('fails admin-login and the UI sign-in when the admin password hash changed after the backup', async () => {
    const [original] = await db.query<{ password_hash: string }>(`SELECT password_hash FROM users WHERE username = 'admin'`);
    await db.query(`UPDATE users SET password_hash = $1 WHERE username = 'admin'`, [bcrypt.hashSync('not-the-pre-disaster-password', 4)]);
    try {
      const results = await run({ only: ['ui-loads', 'admin-login', 'enclaves-connectors-visible'] });
      expect(byId(results, 'admin-login')).toMatchObject({
        outcome: 'failed',
        summary: expect.stringMatching(
          /^POST http:\/\/127\.0\.0\.1:\d+\/api\/v1\/auth\/login: HTTP 401 Invalid username or password \(the pre-disaster credentials were refused\)$/,
        ),
        evidence: { status: 401, tokenIssued: false },
      });
      const uiResult = byId(results, 'ui-loads');
      expect(uiResult).toMatchObject({
        outcome: 'failed',
        summary: 'admin could not sign in through the UI: the UI refused the sign-in: Invalid username or password',
      });
      expect((await stat(uiResult.evidence.screenshot as string)).size).toBeGreaterThan(1_000);
      expect(byId(results, 'enclaves-connectors-visible')).toMatchObject({
        outcome: 'skipped',
        summary: expect.stringMatching(/no admin token \(POST .* HTTP 401/),
      });
    } finally {
      await db.query(`UPDATE users SET password_hash = $1 WHERE username = 'admin'`, [original?.password_hash]);
    }
  });

  it('fails ui-loads on the UI as NMIA ships it: the proxy reaches no api, and the form-encoded sign-in crashes the page', async () => {
    const [shipped] = await run({ only: ['ui-loads'] }, { ...target, uiUrl: uiAsShipped.url });
    expect(shipped).toMatchObject({
      outcome: 'failed',
      summary: 'admin could not sign in through the UI: the UI refused the sign-in: Login failed. Check your credentials.',
    });
    expect(shipped?.evidence.messages).toEqual(['Could not check bootstrap status.', 'Login failed. Check your credentials.']);
    expect(shipped?.evidence.apiCalls).toEqual(expect.arrayContaining(['GET /api/v1/bootstrap/status 500', 'POST /api/v1/auth/login 500']));
    // A crashed page is told from a slow one only when the wait runs out: a shorter wait than the default keeps this test short.
    const [formLogin] = await run(
      { only: ['ui-loads'] },
      { ...target, uiUrl: uiFormLogin.url, timeouts: { ...target.timeouts, uiMs: 6_000 } },
    );
    expect(formLogin).toMatchObject({
      outcome: 'failed',
      summary: 'admin could not sign in through the UI: the page went blank after submitting (the UI crashed)',
    });
    expect(formLogin?.evidence.apiCalls).toEqual(expect.arrayContaining(['POST /api/v1/auth/login 422']));
  }, 60_000);

  it('ui-loads follows configured selectors (probes.ui), and fails on ones the UI does not have', async () => {
    // The failing cases wait out their whole budget for a selector that never appears: shorter than the passing one's.
    const configured = (settings: ProbeTarget['ui'], uiMs = 8_000): ProbeTarget => ({
      ...target,
      ui: settings,
      timeouts: { ...target.timeouts, uiMs },
    });
    const [same] = await run(
      { only: ['ui-loads'] },
      configured({
        loginPath: '/login',
        selectors: { username: '#username', password: '#password', submit: 'button:has-text("Sign In")' },
      }),
    );
    expect(same, same?.summary).toMatchObject({ outcome: 'passed', evidence: { rowsSeen: expected.enclaves } });
    const [wrongField] = await run({ only: ['ui-loads'] }, configured({ selectors: { username: 'input[name=login]' } }, 4_000));
    expect(wrongField?.outcome).toBe('failed');
    expect(wrongField?.summary).toMatch(/^the login page http:\/\/127\.0\.0\.1:\d+\/login shows no sign-in form \(input\[name=login\]\)/);
    const [wrongRow] = await run({ only: ['ui-loads'] }, configured({ selectors: { enclaveRow: '.enclave-card' } }, 4_000));
    expect(wrongRow?.outcome).toBe('failed');
    expect(wrongRow?.summary).toMatch(/^signed in, but http:\/\/127\.0\.0\.1:\d+\/enclaves rendered no enclave rows \(0\)/);
    expect(JSON.stringify([same, wrongField, wrongRow])).not.toContain(db.canaries.adminPassword);
  }, 60_000);

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
      summary: 'POST http://127.0.0.1:1/api/v1/auth/login: connection refused (is the api running?)',
    });
    expect(byId(results, 'jwt-continuity')).toMatchObject({
      outcome: 'failed',
      summary: 'GET http://127.0.0.1:1/api/v1/enclaves/: connection refused (is the api running?)',
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

  it('fails jwt-continuity for a token signed before an api restart with a different SECRET_KEY', async () => {
    const preDisasterToken = await login();
    await restartApi(`${db.canaries.secretKey}-rotated`);
    try {
      expect(await checkToken(api.url, preDisasterToken)).toEqual({ status: 401, detail: 'Invalid or expired token' });
      const [kept] = await run({ only: ['jwt-continuity'], preDisasterToken });
      expect(kept).toMatchObject({
        outcome: 'failed',
        evidence: { status: 401, expected: 200 },
        summary: expect.stringMatching(/with a pre-disaster token → HTTP 401 Invalid or expired token \(was SECRET_KEY changed\?/),
      });
      const [rotated] = await run({ only: ['jwt-continuity'], preDisasterToken, tokenExpectation: 'invalid' });
      expect(rotated).toMatchObject({ outcome: 'passed', evidence: { status: 401, expected: 401 } });
      const [missing] = await run({ only: ['jwt-continuity'] });
      expect(missing).toMatchObject({ outcome: 'skipped' });
    } finally {
      await restartApi(db.canaries.secretKey);
    }
  });

  it('fails worker-running once the worker is stopped: its log ends with its exit', async () => {
    await worker.stop();
    const [fromLogs] = await run({ only: ['worker-running'], workerLogs: { read: async () => worker.output(), since: suiteStart } });
    expect(fromLogs).toMatchObject({
      outcome: 'failed',
      summary: expect.stringMatching(/the last line says the worker ended: ".*stopped\.?"/),
    });
    const [noneSince] = await run({
      only: ['worker-running'],
      workerLogs: { read: async () => worker.output(), since: new Date(Date.now() + 1_000) },
    });
    expect(noneSince).toMatchObject({
      outcome: 'failed',
      summary: expect.stringMatching(/no line since .*: the worker has not run since recovery began/),
    });
    const [nothing] = await run({ only: ['worker-running'] });
    expect(nothing).toMatchObject({ outcome: 'skipped' });
  });

  it('never puts the admin password, a token or another secret in any result', () => {
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
    expect(text).not.toMatch(/eyJ[\w-]+\.[\w-]+\.[\w-]+/);
  });

  it('scrubs a secret that reaches a summary through a caller-given redactor', async () => {
    const redactor = new Redactor().add('title', 'Swagger UI');
    const [result] = await new ChecklistProbes(target, { redactor }).run({ only: ['api-docs'] });
    expect(result?.outcome).toBe('passed');
    expect(JSON.stringify(result)).not.toContain('Swagger UI');
    expect(result?.summary).toContain('[REDACTED:title]');
  });
});
