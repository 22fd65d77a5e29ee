import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { canariesFor } from '../../nmia/seed/canaries.ts';
import { ChecklistProbes } from '../../src/probes/checklist-probes.ts';
import type { ProbeResult } from '../../src/probes/probe.ts';
import { announceSkip, dockerAvailability } from '../../src/docker/docker-availability.ts';
import { AppProcess } from '../../test-support/app-process.ts';
import { SeededNmiaDatabase } from '../../test-support/seeded-nmia-database.ts';
import type { StartedAppProcess } from '../../test-support/started-app-process.ts';
import { type Observation, observeApi } from './api-observations.ts';
import { REAL_NMIA_IMAGES, RealNmiaCompose } from './real-nmia-compose.ts';
import { realNmiaSource } from '../../test-support/real-nmia-checkout.ts';

const SEED = 41;
const SCALE = 60;
/** Hard-coded in both compose files (docs/reference-app.md): what the api signs with. */
const COMPOSE_SECRET_KEY = 'dev-secret-key-change-in-prod';

const docker = await dockerAvailability(REAL_NMIA_IMAGES);
const source = realNmiaSource();
const suffix = source ? announceSkip('app parity suite', docker) : ' [skipped: no real NMIA repository (set NMIA_DRILL_APP_REPO)]';

/**
 * App parity: the same observations against the reference api (a local process on a local cluster, as
 * the emulated stack runs it) and the real NMIA api (its own compose file on real Docker), both seeded
 * with the same seed. Every difference is fixed in the reference, never here. Run it under
 * `flock /tmp/nmia-compose.lock` when other compose drills share the engine.
 */
describe.skipIf(!docker.available || !source)(`app parity: the reference NMIA answers as the real one${suffix}`, () => {
  const admin = { username: 'admin', password: canariesFor(SEED).adminPassword };
  let db: SeededNmiaDatabase;
  let referenceApi: StartedAppProcess;
  let referenceUi: StartedAppProcess;
  let referenceWorker: StartedAppProcess;
  let realApiUrl: string;
  let evidenceDir: string;
  let real: RealNmiaCompose;
  let reference: Record<string, Observation>;
  let actual: Record<string, Observation>;

  beforeAll(async () => {
    [db, real] = await Promise.all([
      SeededNmiaDatabase.start({ seed: SEED, scale: SCALE }),
      RealNmiaCompose.start({ seed: SEED, scale: SCALE, services: ['api', 'ui', 'worker'] }),
    ]);
    referenceApi = await AppProcess.start('api', { DATABASE_URL: db.url, SECRET_KEY: COMPOSE_SECRET_KEY });
    // As the emulated stack runs it: the compose names mapped, the ui's own localhost left alone.
    referenceUi = await AppProcess.start('ui', { NMIA_SERVICE_HOSTS: JSON.stringify({ 'api:8000': `127.0.0.1:${referenceApi.port}` }) });
    referenceWorker = await AppProcess.start('worker', { DATABASE_URL: db.url });
    evidenceDir = await mkdtemp(join(tmpdir(), 'nmia-parity-evidence-'));
    realApiUrl = await real.url('api', 8000);
    const deadline = Date.now() + 60_000;
    while (
      (await fetch(`${realApiUrl}/health`).then(
        (r) => r.status,
        () => 0,
      )) !== 200
    ) {
      if (Date.now() > deadline) throw new Error(`the real api did not answer /health within 60 s:\n${await real.logs('api')}`);
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    [reference, actual] = await Promise.all([observeApi(referenceApi.url, admin), observeApi(realApiUrl, admin)]);
  }, 240_000);

  afterAll(async () => {
    await referenceWorker?.stop();
    await referenceUi?.stop();
    await referenceApi?.stop();
    if (evidenceDir) await rm(evidenceDir, { recursive: true, force: true });
    await Promise.all([db?.stop(), real?.stop()]);
  });

  it('observes something real on the real app (guards the comparison against vacuous equality)', () => {
    expect(actual.loginOk).toMatchObject({
      status: 200,
      tokenType: 'bearer',
      token: { keys: ['exp', 'sub'], sub: 'admin', lifetimeMin: 480 },
    });
    expect(actual.enclavesNoToken).toMatchObject({ status: 403, body: { detail: 'Not authenticated' } });
    expect(actual.enclavesBadToken).toMatchObject({ status: 401, body: { detail: 'Invalid or expired token' } });
    expect(actual.enclaves).toMatchObject({ status: 200, keys: ['id', 'name', 'description', 'created_at'] });
    expect(actual.enclaves?.length).toBeGreaterThan(0);
    expect(actual.connectors?.length).toBeGreaterThan(0);
    expect(actual.identities).toMatchObject({ status: 200, length: SCALE });
    expect(actual.loginFormEncoded).toMatchObject({ status: 422 });
  });

  it.each([
    ['health', 'GET /health'],
    ['docs', 'GET /docs'],
    ['openapi', 'GET /openapi.json'],
    ['loginOk', 'login ok: 200, bearer, JWT {sub, exp} 480 min'],
    ['loginWrongPassword', 'wrong password: 401'],
    ['loginUnknownUser', 'unknown user: 401'],
    ['loginMissingField', 'a field missing: 422'],
    ['loginFormEncoded', 'form-encoded credentials (the real UI): 422'],
    ['enclavesNoToken', 'no token: 403'],
    ['enclavesBasicAuth', 'another scheme: 403'],
    ['enclavesBadToken', 'a malformed token: 401'],
    ['enclavesForeignKeyToken', 'a token signed with another key: 401'],
    ['enclavesWithoutSlash', 'the list without its slash: 307'],
    ['enclaves', 'the enclaves list, whole'],
    ['connectors', 'the connectors list, whole'],
    ['connectorTypes', 'the connector types'],
    ['identities', 'the identities list: length, shape, first row'],
    ['usersMe', '/api/v1/users/me does not exist (422 on user_id)'],
    ['loginWrongMethod', 'GET on the login route: 405'],
    ['unknownRoute', 'an unknown route: 404'],
  ])('%s (%s) is the same on both', (key) => {
    expect(reference[key], `reference ${key}`).toBeDefined();
    expect(reference[key]).toEqual(actual[key]);
  });

  it('the UI item: signing in through the real UI and through the reference UI ends the same way', async () => {
    const probe = async (apiUrl: string, uiUrl: string): Promise<ProbeResult | undefined> => {
      const [result] = await new ChecklistProbes({ apiUrl, uiUrl, admin, evidenceDir, timeouts: { uiMs: 90_000, httpMs: 30_000 } }).run({
        only: ['ui-loads'],
      });
      return result;
    };
    const realUi = await real.url('ui', 5173);
    const [onReference, onReal] = await Promise.all([probe(referenceApi.url, referenceUi.url), probe(realApiUrl, realUi)]);
    const essence = (result: ProbeResult | undefined) => ({
      outcome: result?.outcome,
      summary: result?.summary,
      messages: result?.evidence.messages,
      apiCalls: result?.evidence.apiCalls,
      afterSignIn: result?.evidence.afterSignIn,
    });
    // The real ui under its own compose file: its Vite proxy dials localhost:8000 inside the ui container.
    expect(onReal?.summary, JSON.stringify(onReal)).toBe(
      'admin could not sign in through the UI: the UI refused the sign-in: Login failed. Check your credentials.',
    );
    expect(onReal?.evidence.apiCalls).toEqual(expect.arrayContaining(['POST /api/v1/auth/login 500']));
    expect(essence(onReference)).toEqual(essence(onReal));
  }, 200_000);

  it('the worker: the same start-up log, and pending jobs end the same way on both (restored running jobs untouched)', async () => {
    const realDb = new pg.Client({ ...(await real.endpoint('db', 5432)), user: 'nmia', password: 'nmia', database: 'nmia' });
    await realDb.connect();
    try {
      const sides = {
        reference: (sql: string, params: unknown[] = []) => db.query(sql, params),
        real: async (sql: string, params: unknown[] = []) => (await realDb.query(sql, params)).rows,
      };
      const connectorOf = `SELECT c.id FROM connector_instances c JOIN connector_types t ON t.id = c.connector_type_id WHERE t.code = $1 ORDER BY c.name LIMIT 1`;
      const insert = `INSERT INTO jobs (id, connector_instance_id, status, records_found, records_ingested, triggered_by, created_at, updated_at)
        VALUES ($1, $2, 'pending', 0, 0, 'manual', now(), now())`;
      const ids = { ldap: '11111111-1111-4111-8111-111111111111', file: '22222222-2222-4222-8222-222222222222' };
      for (const query of Object.values(sides)) {
        for (const [key, code] of [
          ['ldap', 'ad_ldap'],
          ['file', 'adcs_file'],
        ] as const) {
          const [connector] = (await query(connectorOf, [code])) as Array<{ id: string }>;
          await query(insert, [ids[key], connector?.id]);
        }
      }
      const outcome = async (query: (sql: string, params?: unknown[]) => Promise<unknown[]>) =>
        query(
          `SELECT id, status, error_message, records_found, records_ingested, triggered_by, finished_at IS NOT NULL AS finished
             FROM jobs WHERE id = ANY($1::uuid[]) ORDER BY id`,
          [Object.values(ids)],
        );
      const deadline = Date.now() + 60_000;
      let results: [unknown[], unknown[]];
      for (;;) {
        results = [await outcome(sides.reference), await outcome(sides.real)];
        const done = results.every((rows) => (rows as Array<{ status: string }>).every((row) => row.status !== 'pending'));
        if (done || Date.now() > deadline) break;
        await new Promise((resolve) => setTimeout(resolve, 1_000));
      }
      // No directory on either side: the AD server's name does not resolve, so the scan fails.
      expect(results[1]).toEqual(expect.arrayContaining([expect.objectContaining({ id: ids.ldap, status: 'failed' })]));
      expect(results[0]).toEqual(results[1]);
      const running = `SELECT count(*)::int AS n FROM jobs WHERE status = 'running'`;
      expect(await sides.reference(running)).toEqual(await sides.real(running));
    } finally {
      await realDb.end();
    }
    const essentials = (log: string) =>
      [
        ...log.matchAll(
          /(NMIA Worker starting\.\.\.|_load_existing_schedules: found \d+ scheduled connector\(s\)|Scheduler started with \d+ job\(s\)|poll_pending_jobs: found \d+ pending job\(s\))/g,
        ),
      ].map((m) => m[1]);
    expect(essentials(referenceWorker.output())).toEqual(essentials(await real.logs('worker')));
  }, 120_000);
});
