import { harnessDump } from '../kit/disasters.ts';
import { inputFileBinding } from '../kit/restore-input.ts';
import type { Procedure } from '../../src/drill/procedure.ts';
import { planHarnessDump, plannedFileBinding } from '../kit/planned-inputs.ts';
import type { Manifest } from '../../src/verify/manifest.ts';

const TEST_DATABASE = 'nmia_restore_test';

/**
 * Database Restore › Restore to a Different Database (for Testing). The block drops its test database
 * at the end, so the harness looks at it from a checkpoint right before that `dropdb`.
 */
export const restoreTestDb: Procedure = {
  id: 'restore-test-db',
  title: 'Restore into a separate test database',
  kind: 'restore',
  section: 'Database Restore › Restore to a Different Database (for Testing)',
  blocks: [0],

  async prepare(context) {
    // Only used when the section copies a dump itself (the corrected runbook does; the given one relies on /tmp).
    if (!context.artifact('custom-dump') && context.block(0).text.includes('./backups/')) await harnessDump(context, 'custom');
  },

  async bindings(context) {
    const dump = context.artifact('custom-dump');
    return dump
      ? [
          await inputFileBinding(context, {
            placeholder: 'nmia_backup_20250201_020000.dump',
            file: dump.path,
            value: 'basename',
            reason: `the dump the backup produced (sha256 ${dump.sha256.slice(0, 12)}…)`,
          }),
        ]
      : [];
  },

  plan: {
    prepare(plan) {
      if (!plan.artifact('custom-dump') && plan.block(0).text.includes('./backups/')) planHarnessDump(plan, 'custom');
    },
    bindings(plan) {
      const dump = plan.artifact('custom-dump');
      return dump ? [plannedFileBinding('nmia_backup_20250201_020000.dump', dump, 'the custom-format dump')] : [];
    },
  },

  async beforeBlocks(context) {
    context.scratch.nmiaBefore = await context.manifest('nmia before the section');
  },

  checkpoints(context) {
    return [
      {
        beforeCommand: `dropdb -U nmia ${TEST_DATABASE}`,
        run: async () => {
          context.scratch.testDatabase = await context.manifest(`${TEST_DATABASE} before cleanup`, TEST_DATABASE);
          // After the manifest (pg_amcheck installs and drops its extension), before the section's own dropdb.
          await context.checkRestoredPages(TEST_DATABASE);
          context.scratch.testDatabasePagesChecked = true;
        },
      },
    ];
  },

  async verify(context) {
    // Without a cleanup command the checkpoint never fires; the test database is then still there to look at.
    const leftOver = await context.withDb(
      async (client) => (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [TEST_DATABASE])).rowCount === 1,
      'postgres',
    );
    const restored =
      (context.scratch.testDatabase as Manifest | undefined) ??
      (leftOver ? await context.manifest(`${TEST_DATABASE} after the section`, TEST_DATABASE) : undefined);
    if (!restored) {
      context.fail('content', `${TEST_DATABASE} matches the backup`, 'the harness never saw the test database');
      return;
    }
    // The block restores whatever dump sits at /tmp/nmia_restore.dump; in runbook order that is the custom restore's input.
    const dump = context.artifact('custom-dump');
    if (!dump?.window) {
      context.fail(
        'content',
        `${TEST_DATABASE} matches the backup`,
        'no known dump to compare with: /tmp/nmia_restore.dump came from outside this section',
      );
      return;
    }
    // The section drops its test database at its end: its manifest and pg_amcheck ran at the checkpoint right before.
    await context.verifyRestoredDatabase(TEST_DATABASE, dump.window, { privilegesDroppedByDesign: true, restored, physical: false });
    if (!context.scratch.testDatabasePagesChecked && leftOver) await context.checkRestoredPages(TEST_DATABASE);

    const countCommand = context.evidence.blocks[0]?.commands.find((command) => command.text.includes('SELECT count(*) FROM identities'));
    const printed = Number(/(\d+)\s*\n?\s*\(1 row\)/.exec(countCommand?.stdoutTail ?? '')?.[1]);
    const expected = restored.tables['public.identities']?.rows;
    if (printed === expected) context.pass('intent', 'the verification query prints the restored identity count', `count(*) = ${printed}`);
    else
      context.fail(
        'intent',
        'the verification query prints the restored identity count',
        `printed ${Number.isNaN(printed) ? 'nothing' : printed}, the test database holds ${expected}`,
      );

    const databases = await context.withDb(
      async (client) => (await client.query<{ datname: string }>('SELECT datname FROM pg_database')).rows.map((row) => row.datname),
      'postgres',
    );
    const after = await context.manifest('nmia after the section');
    const before = context.scratch.nmiaBefore as Manifest;
    const nmiaUntouched =
      before.schema.fingerprint === after.schema.fingerprint &&
      Object.keys(before.tables).every((table) => before.tables[table]!.rows === after.tables[table]?.rows);
    if (!databases.includes(TEST_DATABASE) && databases.includes('nmia') && nmiaUntouched) {
      context.pass(
        'intent',
        'cleanup drops only the test database',
        `${TEST_DATABASE} gone; nmia still present with its schema and row counts unchanged`,
      );
    } else {
      context.fail(
        'intent',
        'cleanup drops only the test database',
        `databases now: ${databases.join(', ')}; nmia unchanged: ${nmiaUntouched}`,
      );
    }
  },

  diagnose(_context, failed) {
    if (/nmia_restore\.dump/.test(failed.stderr) && /(could not open|No such file)/i.test(failed.stderr)) {
      return {
        severity: 'high',
        title: 'the section restores /tmp/nmia_restore.dump, which only "Restore from Custom Format Dump" copies into the container',
        whyItMatters:
          'Run on its own, as a test restore usually is, the section fails; it only works after a production restore has just been done.',
        suggestedFix: 'Start the section with: docker compose cp ./backups/<dump file> db:/tmp/nmia_restore.dump',
      };
    }
    return undefined;
  },
};
