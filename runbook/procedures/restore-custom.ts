import { basename } from 'node:path';
import { CORRUPT_DATABASE, corruptDatabase, harnessDump } from '../kit/disasters.ts';
import { checkApplicationBack } from '../kit/application-check.ts';
import { diagnoseDropBeforeReadCheck } from '../kit/drop-before-check.ts';
import type { Procedure } from '../../src/drill/procedure.ts';
import { planHarnessDump, plannedFileBinding } from '../kit/planned-inputs.ts';
import { recordParallelRestoreHint } from '../kit/restore-lever.ts';

const RUNBOOK_DUMP_NAME = 'nmia_backup_20250201_020000.dump';

/** Database Restore › Restore from Custom Format Dump: stop writers, drop, recreate, pg_restore, restart. */
export const restoreCustom: Procedure = {
  id: 'restore-custom',
  title: 'Restore from a custom-format dump',
  kind: 'restore',
  section: 'Database Restore › Restore from Custom Format Dump',
  blocks: [0],

  async prepare(context) {
    if (!context.artifact('custom-dump')) await harnessDump(context, 'custom');
  },

  bindings(context) {
    const dump = context.artifact('custom-dump');
    if (!dump) throw new Error('no custom-format dump to restore');
    return [
      {
        placeholder: RUNBOOK_DUMP_NAME,
        value: basename(dump.path),
        reason: `the dump the backup produced (sha256 ${dump.sha256.slice(0, 12)}…)`,
      },
    ];
  },

  disaster: corruptDatabase,

  plan: {
    disaster: CORRUPT_DATABASE,
    prepare: (plan) => void planHarnessDump(plan, 'custom'),
    bindings: (plan) => [plannedFileBinding(RUNBOOK_DUMP_NAME, planHarnessDump(plan, 'custom'), 'the custom-format dump')],
  },

  async verify(context) {
    const dump = context.artifact('custom-dump')!;
    const restored = await context.verifyRestoredDatabase('nmia', dump.window!, { privilegesDroppedByDesign: true });
    // The block ends by restarting api, worker and collector: the restore is only done when they are back.
    await checkApplicationBack(context);
    if (restored && context.drill.parallelRestoreJobs)
      await recordParallelRestoreHint(context, dump.path, context.drill.parallelRestoreJobs);
  },

  // pg_restore failing on an unreadable dump after dropdb already ran: the runbook's order is the defect.
  diagnose: (context, failed) => diagnoseDropBeforeReadCheck(context, failed, context.artifact('custom-dump')?.path),
};
