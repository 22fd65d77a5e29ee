import { checkNewBackup, rememberBackups } from '../kit/backup-checks.ts';
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

  async beforeBlocks(context) {
    rememberBackups(context);
  },

  async verify(context) {
    await checkNewBackup(context, {
      pattern: /^nmia_backup_\d{8}_\d{6}\.dump$/,
      artifactName: 'custom-dump',
      format: 'custom',
      sidecar: true,
    });
  },
};
