import { basename } from 'node:path';
import { listFiles, newFiles } from '../../src/drill/backup-files.ts';
import type { Procedure } from '../../src/drill/procedure.ts';

/** Database Backup › Full Backup (Recommended): pg_dump -Fc inside the db container, copied to ./backups. */
export const fullBackup: Procedure = {
  id: 'full-backup',
  title: 'Full backup (custom format)',
  kind: 'backup',
  section: 'Database Backup › Full Backup (Recommended)',
  blocks: [0],
  captureWindow: true,

  async verify(context) {
    const created = newFiles(context.backupsDir, context.scratch.backupsBefore as Set<string>, /^nmia_backup_\d{8}_\d{6}\.dump$/);
    if (created.length !== 1) {
      context.fail('artifact', 'the block leaves one dated dump in ./backups', `found ${created.length} new nmia_backup_*.dump files`, { files: created.map((file) => basename(file)) });
      return;
    }
    const dump = created[0]!;
    const evidence = await context.checkArtifact('custom-dump', dump, 'custom');
    if (evidence.readable && context.window) context.produce({ name: 'custom-dump', path: dump, sha256: evidence.sha256, window: context.window });
  },

  async beforeBlocks(context) {
    context.scratch.backupsBefore = listFiles(context.backupsDir);
  },
};
