import { afterEach, describe, expect, it } from 'vitest';
import { CORRECTED_RUNBOOK, drill, withProcedure } from './support/drill-harness.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/**
 * Between procedures in runbook order the runner checks the environment still holds the seeded data.
 * After a backup it reuses the backup's own "just after the blocks" manifest instead of hashing every
 * table again; these prove the shortcut never hides damage.
 */
describe('damage check between procedures in runbook order', () => {
  it('a backup that damages the database in its blocks: the reused manifest shows it and the environment is rebuilt', async () => {
    const procedures = withProcedure('full-backup', (original) => ({
      ...original,
      checkpoints: (context) => [
        {
          beforeCommand: 'mv "$BACKUP.partial"',
          run: async () =>
            void (await context.harnessSql(
              'fault: a backup step that deletes users',
              "DELETE FROM user_role_enclaves; DELETE FROM users WHERE username <> 'admin'",
            )),
        },
      ],
    }));
    const result = await drill({ runbookPath: CORRECTED_RUNBOOK, only: ['full-backup', 'restore-custom'], procedures });
    cleanups.push(result.cleanup);
    expect(result.journal.environmentResets).toEqual([{ before: 'restore-custom', reason: expect.stringContaining('public.users') }]);
  });

  it('a backup whose checks change the database after its window closed: the manifest is not reused, a fresh one finds it', async () => {
    const procedures = withProcedure('full-backup', (original) => ({
      ...original,
      async verify(context) {
        await original.verify(context);
        await context.harnessSql(
          'fault: a check that changes an enclave',
          "UPDATE enclaves SET name = name || ' (changed)' WHERE id = (SELECT min(id::text)::uuid FROM enclaves)",
        );
      },
    }));
    const result = await drill({ runbookPath: CORRECTED_RUNBOOK, only: ['full-backup', 'restore-custom'], procedures });
    cleanups.push(result.cleanup);
    expect(result.journal.environmentResets).toEqual([{ before: 'restore-custom', reason: expect.stringContaining('public.enclaves') }]);
    expect(result.journal.procedures.find((record) => record.id === 'restore-custom')?.outcome).toBe('passed');
  });

  it('an intact environment is not rebuilt', async () => {
    const result = await drill({ runbookPath: CORRECTED_RUNBOOK, only: ['full-backup', 'sql-backup'] });
    cleanups.push(result.cleanup);
    expect(result.journal.environmentResets).toEqual([]);
    expect(result.journal.outcome).toBe('passed');
  });
});
