import { partialCopy, runFullDiskCopy } from '../kit/full-disk-run.ts';
import { diagnoseMissingBackupsDir } from '../kit/missing-directory.ts';
import { checkNewBackup, rememberBackups, restoreIntoScratch } from '../kit/backup-checks.ts';
import { ENCRYPTED_BACKUP_FIXES } from '../kit/secrets-check.ts';
import type { Procedure } from '../../src/drill/procedure.ts';
import { lastLines } from '../../src/exec/error-lines.ts';
import { diffManifests } from '../../src/verify/manifest-diff.ts';

/** Database Backup › Schema-Only Backup. Intent: the schema dump alone rebuilds an identical, empty structure. */
export const schemaBackup: Procedure = {
  id: 'schema-backup',
  title: 'Schema-only backup',
  kind: 'backup',
  section: 'Database Backup › Schema-Only Backup',
  blocks: [0],
  captureWindow: true,
  plan: { produces: [{ name: 'schema-dump', file: 'nmia_schema_{YYYYMMDD_HHMMSS}.sql', from: 'schema-backup (when its checks pass)' }] },

  diagnose: (_context, failed) => diagnoseMissingBackupsDir(failed),

  async beforeBlocks(context) {
    rememberBackups(context);
  },

  async verify(context) {
    const backup = await checkNewBackup(context, {
      pattern: /^nmia_schema_\d{8}_\d{6}\.sql(\.gpg)?$/,
      artifactName: 'schema-dump',
      format: 'plain',
      // A schema-only dump carries no rows; should a secret ever appear in it, it is protected as the SQL backup is.
      secretsFix: ENCRYPTED_BACKUP_FIXES.sql.replace('--format=plain', '--schema-only').replaceAll('nmia_backup_', 'nmia_schema_'),
    });
    if (!backup?.evidence.readable) return;
    const scratch = await restoreIntoScratch(context, backup.path, 'plain', 'schema_check');
    try {
      if (!scratch.ok) {
        context.fail('restorability', 'the schema dump replays without errors', lastLines(scratch.stderr, 2, ' | '));
        return;
      }
      context.pass(
        'restorability',
        'the schema dump replays without errors',
        `psql -v ON_ERROR_STOP=1 replayed ${backup.path.split('/').at(-1)}`,
      );
      const rebuilt = await context.manifest('rebuilt from the schema dump', scratch.database);
      // A schema-only dump carries no data, so materialized views come back unpopulated: content, not structure.
      const structural = diffManifests((await context.backupWindow())!.before, rebuilt).filter(
        (difference) =>
          difference.kind.startsWith('schema-object') &&
          !(difference.message.startsWith('materialized view') && /"not populated"/.test(difference.message)),
      );
      if (structural.length === 0)
        context.pass(
          'structure',
          'the schema dump rebuilds an identical structure',
          `schema fingerprint ${rebuilt.schema.fingerprint.slice(0, 12)}… equal, privileges included`,
        );
      else
        context.fail(
          'structure',
          'the schema dump rebuilds an identical structure',
          structural
            .slice(0, 5)
            .map((difference) => difference.message)
            .join('; '),
          { differences: structural },
        );
      const nonEmpty = Object.entries(rebuilt.tables).filter(([, table]) => table.rows > 0);
      if (nonEmpty.length === 0)
        context.pass('content', 'the schema dump carries no rows', `${Object.keys(rebuilt.tables).length} tables, all empty`);
      else
        context.fail(
          'content',
          'the schema dump carries no rows',
          nonEmpty.map(([name, table]) => `${name}: ${table.rows} rows`).join(', '),
        );
    } finally {
      await context.dropScratchDatabase(scratch.database);
    }
    // The failure this section must make visible: a copy-out that fills the disk leaves no truncated "backup".
    await runFullDiskCopy(
      context,
      /^nmia_schema_\d{8}_\d{6}\.sql$/,
      partialCopy('db:/tmp/nmia_schema.sql', './backups/nmia_schema_$(date +%Y%m%d_%H%M%S).sql'),
    );
  },
};
