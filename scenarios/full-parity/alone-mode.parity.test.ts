import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAppSource } from '../../src/app/app-source.ts';
import { CORRECTED_RUNBOOK, drill, GIVEN_RUNBOOK } from '../support/drill-harness.ts';
import { REAL_APP, realAppAvailability, type ScenarioDrill, verdicts } from '../support/real-app-drills.ts';

/**
 * App parity for every procedure alone, each in a fresh environment, on both apps, with the reference worker's real
 * 15 s poll. runbook-as-given and runbook-corrected compare every procedure in runbook order; this compares all
 * twelve alone. A real-app drill alone starts twelve compose environments, ~6 minutes here, so it is not in
 * `npm test` (15-minute budget): .ci/run runs it after, through `npm run test:full-parity`.
 */
const realApp = await realAppAvailability('full app parity (each procedure alone)');
const SCALE = 200;
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

async function bothApps(runbookPath: string): Promise<{ reference: ScenarioDrill; real: ScenarioDrill }> {
  // As `npm run drill` runs it: adversarial runs on. The real app first: it waits for the compose lock.
  const real = await drill({
    runbookPath,
    app: parseAppSource(REAL_APP),
    stack: 'compose',
    isolation: 'alone',
    adversarial: true,
    scale: SCALE,
  });
  cleanups.push(real.cleanup);
  const reference = await drill({ runbookPath, isolation: 'alone', adversarial: true, scale: SCALE });
  cleanups.push(reference.cleanup);
  return { reference, real };
}

describe.skipIf(!realApp.available)(`each procedure alone, on the reference and the real app${realApp.suffix}`, () => {
  describe('the runbook as given', () => {
    let runs: { reference: ScenarioDrill; real: ScenarioDrill };
    beforeAll(async () => {
      runs = await bothApps(GIVEN_RUNBOOK);
    }, 1_800_000);

    it('the same outcome for every procedure, the same findings by kind, checks and exit codes', () => {
      expect(verdicts(runs.reference, { mode: 'alone' })).toEqual(verdicts(runs.real, { mode: 'alone' }));
      // A comparison of real findings: the runbook as given fails alone on both, with a finding per failure.
      const real = verdicts(runs.real, { mode: 'alone' });
      expect(Object.keys(real.outcomes)).toHaveLength(12);
      expect(Object.values(real.outcomes).filter((outcome) => outcome === 'failed').length).toBeGreaterThan(8);
      expect(real.findings).toHaveLength(runs.real.journal.findings.length);
    });
  });

  describe('the corrected runbook', () => {
    let runs: { reference: ScenarioDrill; real: ScenarioDrill };
    beforeAll(async () => {
      runs = await bothApps(CORRECTED_RUNBOOK);
    }, 1_800_000);

    it('passes every procedure alone on both apps, with the same checks and exit codes', () => {
      expect(new Set(Object.values(verdicts(runs.real, { mode: 'alone' }).outcomes))).toEqual(new Set(['passed']));
      expect(verdicts(runs.reference, { mode: 'alone' })).toEqual(verdicts(runs.real, { mode: 'alone' }));
      expect(runs.real.journal.findings.filter((finding) => finding.kind === 'runbook')).toEqual([]);
    });
  });
});
