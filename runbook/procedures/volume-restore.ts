import { CORRUPT_DATABASE, corruptDatabase } from '../kit/disasters.ts';
import { checkApplicationBack } from '../kit/application-check.ts';
import { waitForDatabase } from '../../src/drill/drill-environment.ts';
import { inputFileBinding } from '../kit/restore-input.ts';
import type { Procedure } from '../../src/drill/procedure.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';
import { plannedFileBinding } from '../kit/planned-inputs.ts';
import type { PlanContext, PlannedArtifact } from '../../src/plan/procedure-plan.ts';
import { dbVolumeName, reportVolumeMismatch, volumesNamedIn } from '../kit/volume-checks.ts';

const RUNBOOK_ARCHIVE_NAME = 'pgdata_20250201_020000.tar.gz';

/** A correct archive of the db volume, made by the harness when no earlier section left one. */
async function harnessVolumeArchive(context: ProcedureContext): Promise<void> {
  const volume = dbVolumeName(context);
  const name = `harness_pgdata_${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}.tar.gz`;
  const before = await context.manifest('before harness volume archive');
  await context.harnessDocker('input: stop db to archive its volume consistently', ['compose', 'stop', 'db']);
  await context.harnessDocker(`input: archive ${volume}, since no earlier section produced a usable archive here`, [
    'run',
    '--rm',
    '-v',
    `${volume}:/data`,
    '-v',
    `${context.backupsDir}:/backup`,
    'alpine',
    'tar',
    'czf',
    `/backup/${name}`,
    '-C',
    '/data',
    '.',
  ]);
  await context.harnessDocker('input: start db again', ['compose', 'start', 'db']);
  await waitForDatabase(context.stack);
  const after = await context.manifest('after harness volume archive');
  const path = `${context.backupsDir}/${name}`;
  const evidence = await context.checkArtifact('volume-archive (harness-made input)', path, 'tar.gz');
  context.produce({ name: 'volume-archive', path, sha256: evidence.sha256, window: { before, after } });
}

/** Plan-time counterpart of harnessVolumeArchive. */
function planVolumeArchive(plan: PlanContext): PlannedArtifact {
  const existing = plan.artifact('volume-archive');
  if (existing) return existing;
  const made = {
    name: 'volume-archive',
    file: 'harness_pgdata_{YYYYMMDDHHMMSS}.tar.gz',
    from: 'the harness (db stopped, volume archived with tar)',
  };
  plan.harnessInput(made, 'an archive of the db volume, since no earlier section produced a usable one here');
  return made;
}

/** Docker Volume Backup › Restore Docker Volume. Intent: db starts on the restored data and matches the archive. */
export const volumeRestore: Procedure = {
  id: 'volume-restore',
  title: 'Restore the raw PostgreSQL data volume',
  kind: 'restore',
  section: 'Docker Volume Backup › Restore Docker Volume',
  blocks: [0],

  async prepare(context) {
    if (!context.artifact('volume-archive')) await harnessVolumeArchive(context);
  },

  async bindings(context) {
    const archive = context.artifact('volume-archive')!;
    return [
      await inputFileBinding(context, {
        placeholder: RUNBOOK_ARCHIVE_NAME,
        file: archive.path,
        value: 'basename',
        reason: `the volume archive (sha256 ${archive.sha256.slice(0, 12)}…)`,
      }),
    ];
  },

  disaster: corruptDatabase,

  plan: {
    disaster: CORRUPT_DATABASE,
    prepare: (plan) => void planVolumeArchive(plan),
    bindings: (plan) => [plannedFileBinding(RUNBOOK_ARCHIVE_NAME, planVolumeArchive(plan), 'the volume archive')],
  },

  async verify(context) {
    try {
      await waitForDatabase(context.stack, 'nmia', 30_000);
    } catch (error) {
      context.fail('restorability', 'the db service starts on the restored volume', (error as Error).message);
      return;
    }
    context.pass('restorability', 'the db service starts on the restored volume', 'db accepts connections');
    const ok = await context.verifyRestoredDatabase('nmia', context.artifact('volume-archive')!.window!);
    if (!ok) reportVolumeMismatch(context, 0);
    // The block restarts the db under a running api: the application is back only when the api reaches it again.
    await checkApplicationBack(context);
  },

  diagnose(context, failed) {
    const expected = dbVolumeName(context);
    const wrong = volumesNamedIn(context.block(0).text).filter((name) => name !== expected);
    if (/no such volume/i.test(failed.stderr) && wrong.length > 0) {
      return {
        severity: 'critical',
        title: `the section removes and restores volume ${wrong.join(', ')}, but the db service's data lives in ${expected}`,
        whyItMatters:
          'On a host where the typo volume does not exist the restore stops at `docker volume rm`; where it does, the archive goes into a volume the db never reads.',
        suggestedFix: `Use ${expected} throughout the section.`,
      };
    }
    if (/volume is in use/i.test(failed.stderr)) {
      return {
        severity: 'high',
        title: '`docker compose stop db` keeps the db container, so `docker volume rm` refuses: the volume is in use',
        whyItMatters: 'A stopped container still holds its volumes; the restore cannot proceed as written.',
        suggestedFix:
          'Replace `docker compose stop db` with `docker compose rm --stop --force db` before removing the volume, and `docker compose start db` with `docker compose up -d db` after the restore.',
      };
    }
    return undefined;
  },
};
