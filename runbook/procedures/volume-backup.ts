import { rememberBackups } from '../kit/backup-checks.ts';
import { ENCRYPTED_BACKUP_FIXES, checkSecretsProtected } from '../kit/secrets-check.ts';
import { newFiles } from '../kit/backup-files.ts';
import type { Procedure } from '../../src/drill/procedure.ts';
import { reportVolumeMismatch } from '../kit/volume-checks.ts';
import { compareWithBackupWindow } from '../../src/verify/backup-window.ts';
import {
  listArchive,
  manifestOfDataArchive,
  manifestOfDataArchiveInImage,
  missingDataFiles,
} from '../../src/verify/data-directory-check.ts';

/** Docker Volume Backup. Intent: the archive holds a complete, restorable copy of the db service's data volume. */
export const volumeBackup: Procedure = {
  id: 'volume-backup',
  title: 'Back up the raw PostgreSQL data volume',
  kind: 'backup',
  section: 'Docker Volume Backup',
  blocks: [0],
  captureWindow: true,
  plan: {
    produces: [
      { name: 'volume-archive', file: 'pgdata_{YYYYMMDD_HHMMSS}.tar.gz', from: 'volume-backup (when the archive matches the database)' },
    ],
  },

  async beforeBlocks(context) {
    rememberBackups(context);
  },

  async verify(context) {
    const created = newFiles(context.backupsDir, context.scratch.backupsBefore as Set<string>, /^pgdata_\d{8}_\d{6}\.tar\.gz(\.gpg)?$/);
    if (created.length !== 1) {
      context.fail('artifact', 'the block leaves one new pgdata_*.tar.gz', `found ${created.length}`);
      return;
    }
    const file = created[0]!;
    const evidence = await context.checkArtifact('volume-archive', file, 'tar.gz');
    if (!evidence.readable) return;
    await checkSecretsProtected(context, file, 'tar.gz', ENCRYPTED_BACKUP_FIXES.volume);
    // An encrypted archive is checked through its plaintext, decrypted with the drill's key.
    const archive = await context.readablePath(file);
    const entries = await listArchive(archive);
    const missing = missingDataFiles(entries);
    if (missing.length > 0) {
      context.fail(
        'intent',
        'the archive holds a complete PostgreSQL data directory',
        `${entries.length} entries; missing ${missing.join(', ')}`,
        { entries: entries.slice(0, 20) },
      );
      reportVolumeMismatch(context, 0);
      return;
    }
    context.pass(
      'intent',
      'the archive holds a complete PostgreSQL data directory',
      `${entries.length} entries including ${missing.length === 0 ? 'PG_VERSION, global/pg_control, base/' : ''}`,
    );
    // The archive is the db service's PostgreSQL; when the host's server is older (the db image's clients are in
    // use), a container of that image starts it instead.
    const image = context.stack.binaries.source === 'db image' ? context.stack.appSetup?.clients?.image : undefined;
    const database = context.stack.dbClientConfig('nmia');
    const restored = image
      ? await context.harnessAction(
          `check: a server of the db image ${image} starts on the extracted archive`,
          `docker run -d -v <extracted archive>:/var/lib/postgresql/data ${image}`,
          () =>
            manifestOfDataArchiveInImage(archive, {
              image,
              drillId: context.stack.workspace.drillId,
              workDir: context.stack.workspace.harnessDir,
              docker: (args) => context.stack.docker(args),
              user: String(database.user),
              password: String(database.password),
            }),
        )
      : await manifestOfDataArchive(archive, context.stack.binaries);
    if (!restored.ok) {
      context.fail('restorability', 'a server starts on the extracted archive', restored.reason);
      return;
    }
    context.pass(
      'restorability',
      'a server starts on the extracted archive',
      `throwaway server${image ? ` of ${image}` : ''} started on the extracted data directory`,
    );
    const window = (await context.backupWindow())!;
    const comparison = compareWithBackupWindow(window.before, window.after, restored.manifest);
    if (comparison.problems.length === 0) {
      context.pass(
        'content',
        "the archived data matches the db service's state",
        `${comparison.exactTables.length} tables exact${comparison.liveTables.length ? `; written meanwhile (bounds): ${comparison.liveTables.join(', ')}` : ''}`,
      );
      context.produce({ name: 'volume-archive', path: file, sha256: evidence.sha256, window });
    } else {
      context.fail(
        'content',
        "the archived data matches the db service's state",
        comparison.problems
          .slice(0, 5)
          .map((problem) => problem.message)
          .join('; '),
      );
    }
  },
};
