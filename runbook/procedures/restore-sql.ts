import { CORRUPT_DATABASE, corruptDatabase, harnessDump } from '../kit/disasters.ts';
import { checkApplicationBack } from '../kit/application-check.ts';
import { FAILING_STATEMENT, runAdversarialRestore } from '../kit/adversarial-restore.ts';
import { inputFileBinding } from '../kit/restore-input.ts';
import { SINGLE_TRANSACTION_FIX, runRestoreWhileStillWriting } from '../kit/still-writing-restore.ts';
import type { Procedure } from '../../src/drill/procedure.ts';
import { planHarnessDump, plannedFileBinding } from '../kit/planned-inputs.ts';

const RUNBOOK_DUMP_NAME = 'nmia_backup_20250201_020000.sql';

/**
 * Database Restore › Restore from SQL Text Dump. psql -f exits 0 even after SQL errors, so the
 * restorability rung reads its output too, and the content rung compares with the manifest.
 */
export const restoreSql: Procedure = {
  id: 'restore-sql',
  title: 'Restore from a plain SQL dump',
  kind: 'restore',
  section: 'Database Restore › Restore from SQL Text Dump',
  blocks: [0],

  async prepare(context) {
    if (!context.artifact('plain-dump')) await harnessDump(context, 'plain');
  },

  async bindings(context) {
    const dump = context.artifact('plain-dump');
    if (!dump) throw new Error('no plain SQL dump to restore');
    return [
      await inputFileBinding(context, {
        placeholder: RUNBOOK_DUMP_NAME,
        file: dump.path,
        value: 'basename',
        reason: `the SQL dump the backup produced (sha256 ${dump.sha256.slice(0, 12)}…)`,
      }),
    ];
  },

  disaster: corruptDatabase,

  plan: {
    disaster: CORRUPT_DATABASE,
    prepare: (plan) => void planHarnessDump(plan, 'plain'),
    bindings: (plan) => [plannedFileBinding(RUNBOOK_DUMP_NAME, planHarnessDump(plan, 'plain'), 'the SQL dump')],
  },

  async verify(context) {
    await context.verifyRestoredDatabase('nmia', context.artifact('plain-dump')!.window!);
    // The block ends by restarting api, worker and collector: the restore is only done when they are back.
    await checkApplicationBack(context);
    // The failure this section exists to survive: a dump with a statement that fails must not restore "fine".
    await runAdversarialRestore(context, {
      artifact: 'plain-dump',
      placeholder: RUNBOOK_DUMP_NAME,
      damage: FAILING_STATEMENT,
      finding: {
        title: 'the SQL restore exits 0 after SQL errors: psql -f without ON_ERROR_STOP leaves a partial database that looks restored',
        command: 'docker compose exec db psql -U nmia -d nmia -f /tmp/nmia_restore.sql',
        whyItMatters:
          'psql carries on past a failed statement and exits 0; the block then restarts the application on a database that lacks the rows of every statement that failed, and nothing tells the operator.',
        suggestedFix:
          'Replay with errors made fatal, in one transaction: docker compose exec db psql -U nmia -d nmia -v ON_ERROR_STOP=1 --single-transaction -f /tmp/nmia_restore.sql',
      },
    });
    // Writes during the restore, from a client the section does not stop.
    await runRestoreWhileStillWriting(context, {
      artifact: 'plain-dump',
      placeholder: RUNBOOK_DUMP_NAME,
      restoreCommand: 'psql -U nmia -d nmia',
      finding: {
        title: 'the SQL restore lets a client it did not stop write into the half-restored database',
        command: 'docker compose exec db psql -U nmia -d nmia -f /tmp/nmia_restore.sql',
        whyItMatters:
          'psql -f commits statement by statement into a database created under the application’s own name. A client the section did not stop (a second worker, a scheduled job, an instance on another host) reconnects as soon as that database exists and writes while its tables are still loading; those rows stay in the restore, and every command exits 0.',
        suggestedFix: `Replay the dump in one transaction, so that no other session sees the database before it is complete:\n${SINGLE_TRANSACTION_FIX}`,
      },
    });
  },

  diagnose(_context, failed) {
    if (/ERROR:/.test(failed.stderr)) {
      return {
        severity: 'high',
        title: 'the SQL restore hit errors',
        whyItMatters: 'Without ON_ERROR_STOP psql continues past failed statements and exits 0, leaving a partial restore.',
        suggestedFix: 'Replay with: psql -v ON_ERROR_STOP=1 --single-transaction -U nmia -d nmia -f /tmp/nmia_restore.sql',
      };
    }
    return undefined;
  },
};
