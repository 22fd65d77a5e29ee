import { afterEach, describe, expect, it } from 'vitest';
import { CORRECTED_RUNBOOK, drill, editedRunbook, failedChecks, procedure } from './support/drill-harness.ts';

/**
 * Every backup proves on its own that its artifact is complete: restored into a scratch database and held
 * to the backup window's manifest. A full backup that silently leaves out one table's data fails Full
 * Backup itself, naming the table, in order and alone (it used to pass, caught only by a later restore).
 */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe('completeness proof of a backup', () => {
  it('a full backup without one table’s data fails Full Backup naming the table, in both isolation modes', async () => {
    const copy = await editedRunbook(CORRECTED_RUNBOOK, '  -Fc \\\n  | gpg', '  -Fc --exclude-table-data=public.findings \\\n  | gpg');
    cleanups.push(copy.cleanup);
    const result = await drill({ runbookPath: copy.path, only: ['full-backup'], isolation: 'both', allowDrift: true, scale: 50 });
    cleanups.push(result.cleanup);
    for (const mode of ['order', 'alone'] as const) {
      const record = procedure(result.journal, 'full-backup', mode);
      expect(record.outcome, mode).toBe('failed');
      expect(failedChecks(record).join('\n'), mode).toMatch(
        /^content: row counts, content hashes and sequences match the backup — .*public\.findings: 0 rows after restore/m,
      );
      expect(record.timings?.completenessProofMs, mode).toBeGreaterThan(0);
    }
  });
});
