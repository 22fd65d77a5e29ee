import { runFullDiskCopy } from '../kit/full-disk-run.ts';
import { diagnoseMissingBackupsDir } from '../kit/missing-directory.ts';
import { checkNewBackup, proveBackupComplete, rememberBackups } from '../kit/backup-checks.ts';
import { runKilledDump } from '../kit/killed-dump-run.ts';
import { ENCRYPTED_BACKUP_FIXES } from '../kit/secrets-check.ts';
import type { Procedure } from '../../src/drill/procedure.ts';

/** Database Backup › Full Backup (Recommended): pg_dump -Fc inside the db container, copied to ./backups. */
export const fullBackup: Procedure = {
  id: 'full-backup',
  title: 'Full backup (custom format)',
  kind: 'backup',
  section: 'Database Backup › Full Backup (Recommended)',
  blocks: [0],
  captureWindow: true,
  plan: { produces: [{ name: 'custom-dump', file: 'nmia_backup_{YYYYMMDD_HHMMSS}.dump', from: 'full-backup (when its checks pass)' }] },

  diagnose: (_context, failed) => diagnoseMissingBackupsDir(failed),

  async beforeBlocks(context) {
    rememberBackups(context);
  },

  async verify(context) {
    const backup = await checkNewBackup(context, {
      pattern: /^nmia_backup_\d{8}_\d{6}\.dump(\.gpg)?$/,
      artifactName: 'custom-dump',
      format: 'custom',
      secretsFix: ENCRYPTED_BACKUP_FIXES.full,
      sidecar: true,
    });
    // Proven complete on its own, not only when a later section happens to restore this file.
    if (backup?.evidence.readable) await proveBackupComplete(context, backup.path, 'custom', 'full_backup');
    // The failure this section must make visible: a dump killed part-way must not leave a file that looks like a backup.
    await runKilledDump(context, /^nmia_backup_\d{8}_\d{6}\.dump(\.gpg)?$/, ENCRYPTED_BACKUP_FIXES.full);
    // And a write that fills the disk must not leave a truncated file under a backup's name.
    if (backup?.evidence.readable) await runFullDiskCopy(context, /^nmia_backup_\d{8}_\d{6}\.dump(\.gpg)?$/, ENCRYPTED_BACKUP_FIXES.full);
  },
};
