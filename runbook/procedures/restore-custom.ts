import { CORRUPT_DATABASE, corruptDatabase, harnessDump } from '../kit/disasters.ts';
import { checkApplicationBack } from '../kit/application-check.ts';
import { TRUNCATED_DUMP, runAdversarialRestore } from '../kit/adversarial-restore.ts';
import { diagnoseDropBeforeReadCheck } from '../kit/drop-before-check.ts';
import type { Procedure } from '../../src/drill/procedure.ts';
import { planHarnessDump, plannedFileBinding } from '../kit/planned-inputs.ts';
import { recordParallelRestoreHint } from '../kit/restore-lever.ts';
import { inputFileBinding } from '../kit/restore-input.ts';
import { RESTORE_ASIDE_FIX, runRestoreWhileStillWriting } from '../kit/still-writing-restore.ts';

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

  async bindings(context) {
    const dump = context.artifact('custom-dump');
    if (!dump) throw new Error('no custom-format dump to restore');
    return [
      await inputFileBinding(context, {
        placeholder: RUNBOOK_DUMP_NAME,
        file: dump.path,
        value: 'basename',
        reason: `the dump the backup produced (sha256 ${dump.sha256.slice(0, 12)}…)`,
      }),
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
    // The failure this section must make visible: a dump cut short (a full disk, an interrupted copy).
    await runAdversarialRestore(context, {
      artifact: 'custom-dump',
      placeholder: RUNBOOK_DUMP_NAME,
      damage: TRUNCATED_DUMP,
      finding: {
        title: 'the custom restore exits 0 on a truncated dump: the application restarts on a partial database',
        command: 'docker compose exec db pg_restore -U nmia -d nmia --no-owner --no-privileges /tmp/nmia_restore.dump',
        whyItMatters:
          'A dump cut short restores only the objects before the cut; when the section still ends in exit 0 the operator restarts the application on a database missing tables and rows.',
        suggestedFix:
          'Let pg_restore fail the section: run it with --exit-on-error, never mask its exit code, and read the dump back (pg_restore --list and pg_restore -f /dev/null) before dropdb.',
      },
    });
    // The failure its first line exists for: writes during the restore, from a client the section does not stop.
    await runRestoreWhileStillWriting(context, {
      artifact: 'custom-dump',
      placeholder: RUNBOOK_DUMP_NAME,
      restoreCommand: 'pg_restore',
      finding: {
        title: 'the custom restore lets a client it did not stop write into the half-restored database',
        command: 'docker compose exec db createdb -U nmia nmia && docker compose exec db pg_restore -U nmia -d nmia …',
        whyItMatters:
          'The section stops api, worker and collector, ends the other sessions once, and restores into a database created under the application’s own name. A client it did not stop (a second worker, a scheduled job, an instance on another host) reconnects to that database as soon as it exists and writes while pg_restore is still loading it; those rows, made against a half-restored database, stay in the restore, and every command exits 0.',
        suggestedFix: `Restore into a database of its own and swap it in once complete, with new connections to the old one refused first (the old one is kept until the next restore):\n${RESTORE_ASIDE_FIX}`,
      },
    });
  },

  // pg_restore failing on an unreadable dump after dropdb already ran: the runbook's order is the defect.
  diagnose: (context, failed) => diagnoseDropBeforeReadCheck(context, failed, context.artifact('custom-dump')?.path),
};
