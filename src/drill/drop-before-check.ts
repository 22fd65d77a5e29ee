import { basename } from 'node:path';
import { connectPg } from '../postgres/pg-connect.ts';
import { checkArtifact } from '../verify/artifact-check.ts';
import type { FailureDiagnosis } from './procedure.ts';
import type { ProcedureContext } from './procedure-context.ts';

const DROPDB = /\bdropdb\b(?:\s+(?:-U|--username|-h|--host|-p|--port)\s+\S+|\s+-\S+)*\s+(\S+)\s*$/;

/**
 * A restore that fails at `pg_restore` after its own `dropdb` succeeded, because the dump does not read
 * back: the database that was there is gone and nothing replaces it. The harness confirms both halves
 * before saying so: the dump fails its own full read (`pg_restore --list` + `pg_restore -f /dev/null`),
 * and the database now holds less than it did. A dump that reads back fine (the restore failed for
 * another reason) is not this defect: undefined.
 */
export async function diagnoseDropBeforeReadCheck(context: ProcedureContext, failed: { command: string }, dumpPath: string | undefined): Promise<FailureDiagnosis | undefined> {
  if (!/\bpg_restore\b/.test(failed.command) || !dumpPath) return undefined;
  const commands = context.record.blocks.flatMap((block) => block.commands);
  const failedAt = commands.findIndex((command) => command.text === failed.command && command.exitCode !== 0);
  const dropped = commands.slice(0, failedAt < 0 ? commands.length : failedAt).find((command) => command.exitCode === 0 && DROPDB.test(command.text));
  if (!dropped) return undefined;
  const database = DROPDB.exec(dropped.text)![1]!;

  const dump = await context.harnessAction(`check: does ${basename(dumpPath)} read back? (what the runbook never checks before dropdb)`, `pg_restore --list + pg_restore -f /dev/null ${basename(dumpPath)}`, () =>
    checkArtifact(dumpPath, { pgRestorePath: context.stack.binaries.path('pg_restore'), expectedFormat: 'custom' }),
  );
  if (dump.readable) return undefined;

  const expectedTables = Object.keys(context.environment.baseline.tables).length;
  const left = await context.harnessAction(`check: what is left of ${database} after the failed restore`, `SELECT count(*) FROM pg_tables WHERE schemaname = 'public' (on ${database})`, () =>
    context.withDb(async (client) => {
      const exists = (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount === 1;
      if (!exists) return `${database} no longer exists`;
      const inner = await connectPg({ ...context.stack.dbClientConfig(database), connectionTimeoutMillis: 10_000 });
      try {
        const tables = Number((await inner.query<{ n: string }>("SELECT count(*) AS n FROM pg_tables WHERE schemaname = 'public'")).rows[0]!.n);
        return `${database} holds ${tables} of the ${expectedTables} tables it had`;
      } finally {
        await inner.end();
      }
    }, 'postgres'),
  );

  return {
    severity: 'high',
    title: 'the restore drops the database before checking that the dump reads back: with an unreadable dump the operator is left with no database',
    whyItMatters: `\`${dropped.text}\` succeeded, then pg_restore could not read the dump (${dump.detail}). The data that was there, damaged or not, is gone and nothing replaced it: ${left}.`,
    suggestedFix:
      'Before dropdb, check the dump inside the container and stop if either fails: `docker compose exec db pg_restore --list /tmp/nmia_restore.dump > /dev/null && docker compose exec db pg_restore -f /dev/null /tmp/nmia_restore.dump` (the second reads every data block). Better still, restore into a new database and rename it over the old one only once the restore succeeded.',
    evidence: { droppedBy: dropped.text, dumpCheck: dump.detail, databaseNow: left },
  };
}
