import type { ProcedureContext } from './procedure-context.ts';

/**
 * A destructive bad deploy inside the nmia database: rows deleted, a table dropped, credentials
 * overwritten. The restore must bring all of it back; anything it misses shows in the manifest diff.
 */
export async function corruptDatabase(context: ProcedureContext): Promise<void> {
  await context.harnessSql(
    'disaster: a bad deploy deletes identities, drops the connectors table and overwrites every password hash',
    `DELETE FROM identities WHERE id IN (SELECT id FROM identities ORDER BY id LIMIT (SELECT greatest(1, count(*) / 2) FROM identities));
     DROP TABLE connectors CASCADE;
     UPDATE users SET password_hash = '$2b$10$' || repeat('x', 53);`,
  );
}

/** The harness's own dump, made only when a procedure runs without the section that produces one. */
export async function harnessCustomDump(context: ProcedureContext): Promise<void> {
  const before = await context.manifest('before harness dump');
  const name = `harness_backup_${new Date().toISOString().replace(/\D/g, '').slice(0, 14)}.dump`;
  await context.harnessDocker('input: a custom-format dump, since no earlier section produced one here', ['compose', 'exec', '-T', 'db', 'pg_dump', '-U', 'nmia', '-d', 'nmia', '-Fc', `--file=/tmp/${name}`]);
  await context.harnessDocker('input: copy the dump to ./backups', ['compose', 'cp', `db:/tmp/${name}`, `./backups/${name}`]);
  const after = await context.manifest('after harness dump');
  const path = `${context.backupsDir}/${name}`;
  const evidence = await context.checkArtifact('custom-dump (harness-made input)', path, 'custom');
  context.produce({ name: 'custom-dump', path, sha256: evidence.sha256, window: { before, after } });
}
