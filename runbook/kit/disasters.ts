import { mkdir } from 'node:fs/promises';
import { writeBackupSidecar } from './backup-sidecar.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';

/** The disaster in words, as the journal records it and `nmia-drill plan` announces it. */
export const CORRUPT_DATABASE = 'a bad deploy truncates identities, drops the connector_instances table and overwrites every password hash';

/**
 * A destructive bad deploy inside the nmia database: a table emptied, a table dropped, credentials
 * overwritten. The restore must bring all of it back; anything it misses shows in the manifest diff.
 * TRUNCATE rather than a mass DELETE: the damage is as complete, and it costs milliseconds at any
 * scale instead of the largest share of the drill's overhead (bench/RESULTS.md, "price of proof").
 */
export async function corruptDatabase(context: ProcedureContext): Promise<void> {
  await context.harnessSql(
    `disaster: ${CORRUPT_DATABASE}`,
    `TRUNCATE identities;
     DROP TABLE connector_instances CASCADE;
     UPDATE users SET password_hash = '$2b$10$' || repeat('x', 53);`,
  );
}

/**
 * The harness's own dump, made only when a procedure runs without the section that produces one
 * (a procedure alone, in a fresh workspace). It uses the same pg_dump inside the db service.
 */
export async function harnessDump(context: ProcedureContext, format: 'custom' | 'plain'): Promise<void> {
  const before = await context.manifest(`before harness ${format} dump`);
  const name = `harness_backup_${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}.${format === 'custom' ? 'dump' : 'sql'}`;
  const formatFlag = format === 'custom' ? '-Fc' : '--format=plain';
  await mkdir(context.backupsDir, { recursive: true });
  await context.harnessDocker(`input: a ${format} dump, since no earlier section produced one here`, [
    'compose',
    'exec',
    '-T',
    'db',
    'pg_dump',
    '-U',
    'nmia',
    '-d',
    'nmia',
    formatFlag,
    `--file=/tmp/${name}`,
  ]);
  await context.harnessDocker('input: copy the dump to ./backups', ['compose', 'cp', `db:/tmp/${name}`, `./backups/${name}`]);
  const after = await context.manifest(`after harness ${format} dump`);
  const path = `${context.backupsDir}/${name}`;
  const artifact = format === 'custom' ? 'custom-dump' : 'plain-dump';
  const evidence = await context.checkArtifact(`${artifact} (harness-made input)`, path, format);
  if (evidence.readable) await writeBackupSidecar(context, path, { before, after });
  context.produce({ name: artifact, path, sha256: evidence.sha256, window: { before, after } });
}
