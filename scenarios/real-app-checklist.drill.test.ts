import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announceSkip, dockerAvailability } from '../src/docker/docker-availability.ts';
import { ApiSentinelWriter } from '../src/probes/api-sentinel-writer.ts';
import { ChecklistProbes } from '../src/probes/checklist-probes.ts';
import { issueToken } from '../src/probes/jwt-continuity-probe.ts';
import type { ChecklistExpectations, ProbeId, ProbeResult, ProbeTarget } from '../src/probes/probe.ts';
import { RealAppStack } from '../test-support/real-app-stack.ts';
import { cloneRealNmia, realNmiaSource } from '../test-support/real-nmia-checkout.ts';
import { type DefectTarget, probeSeededDefects } from './support/seeded-checklist-defects.ts';

/**
 * The DR checklist probes against the real NMIA itself (its images and source, seeded as a drill seeds it), on a
 * private network with free loopback ports: no compose project `nmia`, one start-up for every item and its seeded
 * defect. The drill-level proof (baseline, recovery, RTO/RPO) is scenarios/runbook-corrected.drill.test.ts.
 */
const docker = await dockerAvailability(['postgres:15', 'nmia-api', 'nmia-worker', 'nmia-ui', 'nmia-drill/node:20']);
const source = realNmiaSource();
const suffix = source ? announceSkip('real NMIA checklist probes', docker) : ' [skipped: no real NMIA repository]';

describe.skipIf(!docker.available || !source)(`the DR checklist probes on the real NMIA${suffix}`, () => {
  let app: Awaited<ReturnType<typeof cloneRealNmia>>;
  let stack: RealAppStack;
  let target: ProbeTarget;
  let expectations: ChecklistExpectations;
  let evidenceDir: string;
  beforeAll(async () => {
    app = await cloneRealNmia();
    evidenceDir = await mkdtemp(join(tmpdir(), 'nmia-drill-real-checklist-'));
    stack = await RealAppStack.start({ appDir: app.dir, seed: 42, scale: 300 });
    // Vite compiles on first request and the machine is shared: more than the 5 s default per request.
    target = { apiUrl: stack.urls.api, uiUrl: stack.urls.ui, admin: stack.admin, evidenceDir, timeouts: { httpMs: 20_000, uiMs: 40_000 } };
    const count = async (table: string) => Number((await stack.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`))[0]!.n);
    expectations = {
      expected: {
        identities: await count('identities'),
        enclaves: await count('enclaves'),
        connectors: await count('connector_instances'),
      },
      preDisasterToken: await issueToken(stack.urls.api, stack.admin),
      tokenExpectation: 'valid',
      workerLogs: { read: () => stack.logs('worker'), since: new Date(Date.now() - 600_000) },
    };
  }, 300_000);
  afterAll(async () => {
    await stack?.stop();
    await app?.remove();
    if (evidenceDir) await rm(evidenceDir, { recursive: true, force: true });
  });

  it('passes every item on the healthy app except the UI sign-in, which its Vite proxy breaks', async () => {
    const results = await new ChecklistProbes(target).run(expectations);
    const byId = Object.fromEntries(results.map((result) => [result.id, [result.outcome, result.summary]]));
    expect(byId).toEqual({
      'api-docs': ['passed', expect.stringMatching(/OpenAPI 3\.\d+\.\d+ with \d+ paths/)],
      // ui/vite.config.ts proxies /api to localhost:8000, the ui container itself: an application defect.
      'ui-loads': ['failed', expect.stringMatching(/could not sign in through the UI/)],
      'admin-login': ['passed', expect.stringMatching(/admin logged in/)],
      'enclaves-connectors-visible': ['passed', expect.stringMatching(/as before the disaster/)],
      'identity-counts-match': ['passed', expect.stringMatching(/as before the disaster/)],
      'worker-running': ['passed', expect.stringMatching(/the poller ran .* s ago/)],
      'connector-scan': ['passed', expect.stringMatching(/completed with \d+ records/)],
      'jwt-continuity': ['passed', expect.stringMatching(/→ 200/)],
    });
  }, 240_000);

  it("writes RPO sentinels through the app's own POST /api/v1/enclaves/ and reads the newest back", async () => {
    const token = await issueToken(stack.urls.api, stack.admin);
    const writer = await ApiSentinelWriter.start({ apiUrl: stack.urls.api, token, prefix: 'rpo-test-', intervalMs: 100 });
    while ((writer.newest()?.id ?? 0) < 3) await new Promise((resolve) => setTimeout(resolve, 50));
    await writer.stop();
    const newest = writer.newest()!;
    expect(await ApiSentinelWriter.latest(stack.urls.api, token, 'rpo-test-')).toEqual({ id: newest.id, writtenAt: newest.writtenAt });
    expect(await stack.query(`SELECT name FROM enclaves WHERE name LIKE 'rpo-test-%'`)).toHaveLength(newest.id);
    await stack.query(`DELETE FROM enclaves WHERE name LIKE 'rpo-test-%'`);
  }, 60_000);

  it('fails each item on its seeded defect', async () => {
    const defectTarget: DefectTarget = {
      probes: target,
      expectations: { ...expectations, workerLogs: { read: () => stack.logs('worker'), since: new Date(0) } },
      stop: (service) => stack.stopService(service),
      start: (service) => stack.startService(service),
      query: (text, values) => stack.query(text, values),
    };
    const defects: Partial<Record<ProbeId, ProbeResult>> = await probeSeededDefects(defectTarget);
    const outcome = (id: ProbeId) => [defects[id]?.outcome, defects[id]?.summary];
    expect(outcome('api-docs')).toEqual(['failed', expect.stringMatching(/connection refused/)]);
    expect(outcome('ui-loads')).toEqual(['failed', expect.stringMatching(/connection refused/)]);
    expect(outcome('admin-login')).toEqual(['failed', expect.stringMatching(/401.*pre-disaster credentials were refused/)]);
    expect(outcome('enclaves-connectors-visible')).toEqual(['failed', expect.stringMatching(/connectors, expected \d+/)]);
    expect(outcome('identity-counts-match')).toEqual(['failed', expect.stringMatching(/\(-1\)$/)]);
    expect(outcome('worker-running')).toEqual(['failed', expect.stringMatching(/logged its stop/)]);
    expect(outcome('connector-scan')).toEqual(['failed', expect.stringMatching(/failed: .*invalidCredentials/)]);
    expect(outcome('jwt-continuity')).toEqual(['failed', expect.stringMatching(/HTTP 401/)]);
  }, 420_000);
});
