import { rememberBackups } from '../kit/backup-checks.ts';
import { newFiles } from '../kit/backup-files.ts';
import type { Procedure } from '../../src/drill/procedure.ts';
import { reportVolumeMismatch } from '../kit/volume-checks.ts';
import { compareWithBackupWindow } from '../../src/verify/backup-window.ts';
import { listArchive, manifestOfDataArchive, missingDataFiles } from '../../src/verify/data-directory-check.ts';

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
    const created = newFiles(context.backupsDir, context.scratch.backupsBefore as Set<string>, /^pgdata_\d{8}_\d{6}\.tar\.gz$/);
    if (created.length !== 1) {
      context.fail('artifact', 'the block leaves one new pgdata_*.tar.gz', `found ${created.length}`);
      return;
    }
    const archive = created[0]!;
    const evidence = await context.checkArtifact('volume-archive', archive, 'tar.gz');
    if (!evidence.readable) return;
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
    if (context.stack.binaries.source === 'db image') {
      // The archive is the db image's PostgreSQL (newer than this host's server): no host server can start it.
      context.rung({
        rung: 'restorability',
        check: 'a server starts on the extracted archive',
        outcome: 'skipped',
        summary: `the archive holds a PostgreSQL ${context.drill.journal.app?.serverVersion ?? 'server'} data directory; the host's server is older and cannot start it (checked instead by restoring it: volume-restore)`,
      });
      // volume-restore, next in runbook order, restores this archive and compares it with the same window.
      context.produce({ name: 'volume-archive', path: archive, sha256: evidence.sha256, window: (await context.backupWindow())! });
      return;
    }
    const restored = await manifestOfDataArchive(archive, context.stack.binaries);
    if (!restored.ok) {
      context.fail('restorability', 'a server starts on the extracted archive', restored.reason);
      return;
    }
    context.pass('restorability', 'a server starts on the extracted archive', 'throwaway server started on the extracted data directory');
    const window = (await context.backupWindow())!;
    const comparison = compareWithBackupWindow(window.before, window.after, restored.manifest);
    if (comparison.problems.length === 0) {
      context.pass(
        'content',
        "the archived data matches the db service's state",
        `${comparison.exactTables.length} tables exact${comparison.liveTables.length ? `; written meanwhile (bounds): ${comparison.liveTables.join(', ')}` : ''}`,
      );
      context.produce({ name: 'volume-archive', path: archive, sha256: evidence.sha256, window });
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
