import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillResult } from '../src/drill/drill-runner.ts';
import { CORRECTED_RUNBOOK, drill } from './support/drill-harness.ts';

/** The corrected copy in fixtures/runbooks fixes every finding; the drill must pass it completely. */
describe('the corrected runbook', () => {
  let result: DrillResult & { cleanup: () => Promise<void> };
  beforeAll(async () => {
    result = await drill({ runbookPath: CORRECTED_RUNBOOK, isolation: 'both' });
  }, 600_000);
  afterAll(async () => {
    await result?.cleanup();
  });

  it('passes every procedure, alone and in runbook order, with no findings', () => {
    expect(result.journal.findings).toEqual([]);
    expect(result.journal.procedures).toHaveLength(24);
    for (const record of result.journal.procedures) {
      expect(
        record.outcome,
        `${record.mode}/${record.id}: ${record.rungs
          .filter((rung) => rung.outcome === 'failed')
          .map((rung) => rung.summary)
          .join('; ')}`,
      ).toBe('passed');
    }
    expect(result.journal.outcome).toBe('passed');
    expect(result.journal.runbook.lockState).toBe('clean');
  });
});
