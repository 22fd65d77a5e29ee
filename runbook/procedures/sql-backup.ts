import { runFullDiskCopy } from '../kit/full-disk-run.ts';
import { diagnoseMissingBackupsDir } from '../kit/missing-directory.ts';
import { checkNewBackup, proveBackupComplete, rememberBackups } from '../kit/backup-checks.ts';
import { ENCRYPTED_BACKUP_FIXES } from '../kit/secrets-check.ts';
import type { Procedure } from '../../src/drill/procedure.ts';

/** Database Backup › SQL Text Backup: pg_dump --format=plain inside the db container, copied to ./backups. */
export const sqlBackup: Procedure = {
  id: 'sql-backup',
  title: 'SQL text backup (plain format)',
  kind: 'backup',
  section: 'Database Backup › SQL Text Backup',
  blocks: [0],
  captureWindow: true,
  plan: { produces: [{ name: 'plain-dump', file: 'nmia_backup_{YYYYMMDD_HHMMSS}.sql', from: 'sql-backup (when its checks pass)' }] },

  diagnose: (_context, failed) => diagnoseMissingBackupsDir(failed),

  async beforeBlocks(context) {
    rememberBackups(context);
  },

  async verify(context) {
    const backup = await checkNewBackup(context, {
      pattern: /^nmia_backup_\d{8}_\d{6}\.sql(\.gpg)?$/,
      artifactName: 'plain-dump',
      format: 'plain',
      secretsFix: ENCRYPTED_BACKUP_FIXES.sql,
      sidecar: true,
    });
    // Proven complete on its own, not only when a later section happens to restore this file.
    if (backup?.evidence.readable) await proveBackupComplete(context, backup.path, 'plain', 'sql_backup');
    // The failure this section must make visible: a write that fills the disk leaves no truncated "backup".
    if (backup?.evidence.readable) await runFullDiskCopy(context, /^nmia_backup_\d{8}_\d{6}\.sql(\.gpg)?$/, ENCRYPTED_BACKUP_FIXES.sql);
  },
};
