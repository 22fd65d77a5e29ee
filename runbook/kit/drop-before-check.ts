import { basename } from 'node:path';
import pg from 'pg';
import { connectPg } from '../../src/postgres/pg-connect.ts';
import { checkArtifact } from '../../src/verify/artifact-check.ts';
import type { FailureDiagnosis } from '../../src/drill/procedure.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';

const { escapeIdentifier } = pg;
const DROPDB = /\bdropdb\b(?:\s+(?:-U|--username|-h|--host|-p|--port)\s+\S+|\s+-\S+)*\s+(\S+)\s*$/;

/**
 * A restore that fails at `pg_restore` after its own `dropdb` succeeded, because the dump does not read
 * back: the database that was there is gone and nothing replaces it. The harness confirms both halves
 * before saying so: the dump fails its own full read (`pg_restore --list` + `pg_restore -f /dev/null`),
 * and the database now holds less than it did. A dump that reads back fine (the restore failed for
 * another reason) is not this defect: undefined.
 */
export async function diagnoseDropBeforeReadCheck(
  context: ProcedureContext,
  failed: { command: string },
  dumpPath: string | undefined,
): Promise<FailureDiagnosis | undefined> {
  if (!/\bpg_restore\b/.test(failed.command) || !dumpPath) return undefined;
  const commands = context.evidence.blocks.flatMap((block) => block.commands);
  const failedAt = commands.findIndex((command) => command.text === failed.command && command.exitCode !== 0);
  // Only the application's own database counts: a restore that drops a database of its own (nmia_restoring) first leaves nmia as it was.
  const application = context.stack.dbClientConfig().database;
  const dropped = commands
    .slice(0, failedAt < 0 ? commands.length : failedAt)
    .find((command) => command.exitCode === 0 && DROPDB.exec(command.text)?.[1] === application);
  if (!dropped) return undefined;
  const database = DROPDB.exec(dropped.text)![1]!;

  const dump = await context.harnessAction(
    `check: does ${basename(dumpPath)} read back? (what the runbook never checks before dropdb)`,
    `pg_restore --list + pg_restore -f /dev/null ${basename(dumpPath)}`,
    async () =>
      checkArtifact(await context.readablePath(dumpPath).catch(() => dumpPath), {
        pgRestorePath: context.stack.binaries.path('pg_restore'),
        expectedFormat: 'custom',
      }),
  );
  if (dump.readable) return undefined;

  // What the environment held before the drill touched it: the seeded baseline (tables and exact row counts).
  const baseline = context.environment.baseline.tables;
  const rowsBefore = Object.values(baseline).reduce((sum, table) => sum + table.rows, 0);
  const left = await context.harnessAction(
    `check: what is left of ${database} after the failed restore`,
    `count(*) of each table the seeded ${database} had`,
    () =>
      context.withDb(async (client) => {
        const exists = (await client.query('SELECT 1 FROM pg_database WHERE datname = $1', [database])).rowCount === 1;
        if (!exists) return `${database} no longer exists`;
        const inner = await connectPg({ ...context.stack.dbClientConfig(database), connectionTimeoutMillis: 10_000 });
        try {
          let tables = 0;
          let rows = 0;
          for (const name of Object.keys(baseline)) {
            const [schema, table] = name.split('.') as [string, string];
            if ((await inner.query('SELECT 1 FROM pg_tables WHERE schemaname = $1 AND tablename = $2', [schema, table])).rowCount !== 1)
              continue;
            tables++;
            rows += Number(
              (await inner.query<{ n: string }>(`SELECT count(*) AS n FROM ${escapeIdentifier(schema)}.${escapeIdentifier(table)}`))
                .rows[0]!.n,
            );
          }
          return `${database} now holds ${tables} of its ${Object.keys(baseline).length} tables and ${rows} of the ${rowsBefore} rows seeded into it`;
        } finally {
          await inner.end();
        }
      }, 'postgres'),
  );

  return {
    severity: 'high',
    title:
      'the restore drops the database before checking that the dump reads back: an unreadable dump leaves the operator with no usable database',
    whyItMatters: `\`${dropped.text}\` succeeded, then pg_restore could not read the dump (${dump.detail}). The data that was there, damaged or not, is gone and nothing replaced it: ${left}.`,
    suggestedFix:
      'Before dropdb, check the dump inside the container and stop if either fails: `docker compose exec db pg_restore --list /tmp/nmia_restore.dump > /dev/null && docker compose exec db pg_restore -f /dev/null /tmp/nmia_restore.dump` (the second reads every data block). Better still, restore into a new database and rename it over the old one only once the restore succeeded.',
    evidence: { droppedBy: dropped.text, dumpCheck: dump.detail, databaseNow: left },
  };
}
