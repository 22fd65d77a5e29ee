import { readFile } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { parallelRestoreTiming } from '../src/evidence/timing-measures.ts';
import { CORRECTED_RUNBOOK, drill, procedure } from './support/drill-harness.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe("RTO lever: pg_restore -j 1 against -j N on the drill's own dump (opt-in)", () => {
  it('measures both on the restored dump, records the hint in the journal and both reports, and changes no outcome', async () => {
    const result = await drill({ runbookPath: CORRECTED_RUNBOOK, only: ['full-backup', 'restore-custom'], parallelRestoreJobs: 2 });
    cleanups.push(result.cleanup);
    expect(result.journal.outcome).toBe('passed');
    const lever = parallelRestoreTiming(result.journal.timing);
    expect(lever).toMatchObject({
      jobs: 2,
      serialMs: expect.any(Number),
      parallelMs: expect.any(Number),
      dump: expect.stringMatching(/^\.\/backups\/nmia_backup_\d{8}_\d{6}\.dump\.gpg$/),
    });
    expect(lever && 'hint' in lever ? lever.hint : '').toMatch(/pg_restore -j 2.*recommendation only|keep -j 1/);
    // The measurement is the harness's own action, kept apart from the runbook's commands.
    expect(procedure(result.journal, 'restore-custom').harnessActions.map((action) => action.purpose)).toContainEqual(
      expect.stringContaining('RTO lever: pg_restore -j 1 vs -j 2'),
    );
    expect(await readFile(result.files.summary, 'utf8')).toMatch(
      /RTO lever \(\.\/backups\/nmia_backup_\d+_\d+\.dump\.gpg\): parallel restore/,
    );
    expect(await readFile(result.files.html, 'utf8')).toContain('id="restore-lever"');
  });

  it('is off by default', async () => {
    const result = await drill({ runbookPath: CORRECTED_RUNBOOK, only: ['full-backup', 'restore-custom'] });
    cleanups.push(result.cleanup);
    expect(result.journal.timing.parallelRestore).toBeUndefined();
  });
});
