import { checkNewBackup, rememberBackups } from '../kit/backup-checks.ts';
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

  async beforeBlocks(context) {
    rememberBackups(context);
  },

  async verify(context) {
    await checkNewBackup(context, {
      pattern: /^nmia_backup_\d{8}_\d{6}\.sql$/,
      artifactName: 'plain-dump',
      format: 'plain',
      sidecar: true,
    });
  },
};
