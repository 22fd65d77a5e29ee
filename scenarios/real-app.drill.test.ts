import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAppSource } from '../src/app/app-source.ts';
import { drill, REPO } from './support/drill-harness.ts';
import {
  baselineOutcomes,
  HEALTHY_BASELINE,
  outcomesOf,
  REAL_APP,
  realAppAvailability,
  type ScenarioDrill,
} from './support/real-app-drills.ts';
import { join } from 'node:path';

/**
 * The real NMIA (its own repository and docker-compose.yml, on real Docker), drilled with the runbook corrected
 * for it, in runbook order: a few minutes of real containers. The runbook as given on the real app, and its
 * parity with the default drill: scenarios/runbook-as-given.drill.test.ts.
 */
const REAL_APP_RUNBOOK = join(REPO, 'fixtures', 'runbooks', 'backup-restore.real-app.md');
const realApp = await realAppAvailability('real NMIA drills');

describe.skipIf(!realApp.available)(`the real NMIA on its own compose file${realApp.suffix}`, () => {
  const app = parseAppSource(REAL_APP);

  describe('the runbook corrected for the real app', () => {
    let result: ScenarioDrill;
    beforeAll(async () => {
      result = await drill({ runbookPath: REAL_APP_RUNBOOK, app, stack: 'compose', isolation: 'order' });
    }, 1_200_000);
    afterAll(async () => {
      await result?.cleanup();
    });

    it('passes every backup and restore procedure; what only the app can fix is an application finding', () => {
      const findings = result.journal.findings;
      expect(findings.map((finding) => [finding.kind, `${finding.procedure}: ${finding.title}`])).toEqual([
        ['application', expect.stringMatching(/^dr-recovery: step 2's \.env never reaches the app: docker-compose\.yml sets SECRET_KEY/)],
        ['application', expect.stringMatching(/^dr-recovery: UI loads .*before the disaster too/)],
        ['application', expect.stringMatching(/^dr-recovery-key-lost: a lost SECRET_KEY cannot be replaced/)],
      ]);
      expect(outcomesOf(result)).toEqual({
        'order/full-backup': 'passed',
        'order/sql-backup': 'passed',
        'order/schema-backup': 'passed',
        'order/automated-backup': 'passed',
        'order/restore-custom': 'passed',
        'order/restore-sql': 'passed',
        'order/restore-test-db': 'passed',
        'order/volume-backup': 'passed',
        'order/volume-restore': 'passed',
        'order/config-export': 'passed',
        'order/dr-recovery': 'passed',
        'order/dr-recovery-key-lost': 'passed',
      });
    });

    it('probes every "Verify recovery" item of the real app, with a baseline, evidence, RTO and RPO', () => {
      const recovery = result.journal.procedures.find((record) => record.id === 'dr-recovery')!;
      const items = recovery.rungs.filter((rung) => rung.rung === 'application' && rung.evidence?.probe !== undefined);
      expect(Object.fromEntries(items.map((rung) => [rung.evidence!.probe, rung.outcome]))).toEqual({
        'api-docs': 'passed',
        // The real UI's Vite proxy points at the ui container itself: sign-in fails before and after the disaster.
        'ui-loads': 'skipped',
        'admin-login': 'passed',
        'enclaves-connectors-visible': 'passed',
        'identity-counts-match': 'passed',
        'worker-running': 'passed',
        'connector-scan': 'passed',
        'jwt-continuity': 'passed',
      });
      // Each item's baseline before the disaster is on its rung, as on the reference app (scenarios/checklist.drill).
      expect(baselineOutcomes(items)).toEqual(HEALTHY_BASELINE);
      const summary = (probe: string) => items.find((rung) => rung.evidence!.probe === probe)!.summary;
      expect(summary('worker-running')).toMatch(/the poller ran .* s ago/);
      expect(summary('connector-scan')).toMatch(/^scan job \S+ of connector .* completed with \d+ records/);
      expect(recovery.rungs.find((rung) => /SECRET_KEY that step 2 restored/.test(rung.check))).toMatchObject({ outcome: 'skipped' });
      expect(result.journal.timing).toMatchObject({
        rto: { measuredMs: expect.any(Number), targetMs: 900_000 },
        rpo: { measuredMs: expect.any(Number), detail: expect.stringMatching(/newest acknowledged #\d+/) },
      });
      const baseline = result.journal.procedures
        .find((record) => record.id === 'dr-recovery')!
        .harnessActions?.find((action) => /^baseline:/.test(action.purpose));
      expect(baseline).toMatchObject({ exitCode: 0 });
      // The directory the connectors dial, declared and recorded.
      expect(result.journal.app!.composeAdditions?.map((addition) => addition.path)).toContain('services.directory');
    });
    // Each item's seeded defect on the real app: scenarios/real-app-checklist.drill.test.ts (one private stack, no compose lock).
  });
});
