import type { ProcedureContext } from '../../src/drill/procedure-context.ts';
import type { BlockRun } from '../../src/exec/block-runner.ts';
import { sqlLiteral } from '../../src/safety/ownership-marker.ts';
import { waitForApplication } from './application-check.ts';
import { putTheDatabaseBack, restoreInput, runRestoreAside } from './restore-aside.ts';
import { StrayWriter } from './stray-writer.ts';

export const STILL_WRITING = 'a restore while the application is still writing';

/** The corrected custom restore's text from the new database on (a unit test holds it to the corrected runbook, word for word). */
export const RESTORE_ASIDE_FIX = [
  'docker compose exec db dropdb -U nmia --if-exists nmia_before_restore',
  'docker compose exec db dropdb -U nmia --if-exists nmia_restoring',
  'docker compose exec db createdb -U nmia nmia_restoring',
  '',
  '# Restore, decrypting the dump on its way into the container (see "Backup Encryption")',
  'set -o pipefail',
  'gpg --batch --decrypt --passphrase-file /etc/nmia/backup.passphrase ./backups/nmia_backup_20250201_020000.dump.gpg \\',
  '  | docker compose exec -T db pg_restore \\',
  '      -U nmia \\',
  '      -d nmia_restoring \\',
  '      --no-owner \\',
  '      --no-privileges',
  '',
  '# Swap the restored database in: refuse new connections to the old one, end those left, rename both at once.',
  '# The old database stays as nmia_before_restore (closed to connections) until the next restore drops it.',
  '# Should the swap fail, nmia is unchanged but closed; open it again with:',
  '#   docker compose exec db psql -U nmia -d postgres -c "ALTER DATABASE nmia ALLOW_CONNECTIONS true"',
  "docker compose exec -T db psql -U nmia -d postgres -v ON_ERROR_STOP=1 <<'SQL'",
  'ALTER DATABASE nmia ALLOW_CONNECTIONS false;',
  "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'nmia';",
  'BEGIN;',
  'ALTER DATABASE nmia RENAME TO nmia_before_restore;',
  'ALTER DATABASE nmia_restoring RENAME TO nmia;',
  'COMMIT;',
  'SQL',
].join('\n');

/** The corrected SQL restore's replay: one transaction, so no other session sees the database before it is complete. */
export const SINGLE_TRANSACTION_FIX = '  | docker compose exec -T db psql -U nmia -d nmia -v ON_ERROR_STOP=1 --single-transaction';

export interface StillWritingRestore {
  artifact: 'plain-dump' | 'custom-dump';
  /** The runbook's dump file name the section's binding replaces. */
  placeholder: string;
  /** The section's restore command: from it on the writer's attempts count as made while the restore ran. */
  restoreCommand: string;
  /** The runbook finding when a write into the half-restored database stays in it and the section exits 0. */
  finding: { title: string; command: string; whyItMatters: string; suggestedFix: string };
}

/**
 * An adversarial run of a restore section: its block again, on the good dump, while a client the section does
 * not stop keeps writing (see StrayWriter). The drill holds the writer from the moment the section ends the
 * database's sessions until a database of its name takes connections again; a reconnect before that makes
 * dropdb refuse, which is visible. The runbook passes when its commands fail, or when no row written into a
 * half-restored database is left in the one the section hands back to the application.
 */
export async function runRestoreWhileStillWriting(context: ProcedureContext, run: StillWritingRestore): Promise<void> {
  if (!context.drill.adversarial) return;
  const dump = context.artifact(run.artifact);
  if (!dump?.window) throw new Error(`adversarial run: no ${run.artifact} with a backup window to restore`);
  const check = `adversarial: ${STILL_WRITING} leaves no write into the half-restored database`;
  const label = 'block-0-adversarial-still-writing';
  const backupRows = dump.window.before.tables['public.audit_logs']?.rows;
  if (backupRows === undefined) throw new Error('adversarial run: the backup window has no public.audit_logs to write into');
  const writer = new StrayWriter(
    context.stack.dbClientConfig('nmia'),
    context.stack.dbClientConfig('postgres'),
    `nmia-drill stray writer ${context.drill.drillId}`,
    backupRows,
  );
  writer.start();
  let attempt: BlockRun | undefined;
  let blockStarted = false;
  try {
    await writer.firstWrite(10_000);
    blockStarted = true;
    attempt = await runRestoreAside(context, {
      bindings: [await restoreInput(context, run.placeholder, dump.path, `adversarial run: ${STILL_WRITING}`)],
      label,
      judgedBy: `restorability: ${check}`,
      checkpoints: [
        { beforeCommand: 'pg_terminate_backend', run: () => writer.hold() },
        { beforeCommand: run.restoreCommand, run: async () => writer.mark() },
        { beforeCommand: 'docker compose start', run: () => writer.stop() },
      ],
    });
    await writer.stop();
    await judge(context, run, writer, attempt, check);
  } finally {
    await writer.stop();
    // On the good dump's exit 0, the writer's entries are all the section added; anything else gets the full restore.
    if (attempt?.exitCode === 0) await removeTheWrites(context, writer.marker);
    else if (blockStarted) await putTheDatabaseBack(context, run.placeholder, dump, label);
  }
}

async function judge(
  context: ProcedureContext,
  run: StillWritingRestore,
  writer: StrayWriter,
  attempt: BlockRun,
  check: string,
): Promise<void> {
  const refusals = [...writer.refusals].map(([reason, count]) => `${count}× ${reason}`);
  const partial = writer.writes.filter((write) => write.intoPartialDatabase).map((write) => write.id);
  const kept = partial.length === 0 || attempt.exitCode !== 0 ? [] : await rowsStillThere(context, writer.marker, new Set(partial));
  await context.harnessAction(
    `adversarial run: a client the section does not stop, writing audit entries (${writer.marker})`,
    `${writer.writes.length} write(s), ${writer.writesSinceMark} from the restore command on, ${partial.length} into a half-restored database, ${kept.length} of them in the database the section left; refused: ${refusals.slice(0, 4).join('; ') || 'none'}`,
    async () => undefined,
  );
  // The writer's timing is the experiment: a checkpoint that failed, or a restore command never reached, tested nothing.
  if (attempt.checkpointErrors?.length) throw new Error(`adversarial run: ${attempt.checkpointErrors[0]}`);
  if (!writer.marked)
    throw new Error(
      `adversarial run: the block never reached "${run.restoreCommand}" (${attempt.failedCommand?.text.split('\n')[0] ?? 'the block'} exited ${attempt.exitCode}), unlike its own run on the same dump`,
    );
  if (writer.attemptsSinceMark === 0)
    throw new Error(`adversarial run: the writer made no attempt from "${run.restoreCommand}" on, so the run did not test its case`);
  const evidence = {
    writes: writer.writes.length,
    writesSinceRestoreCommand: writer.writesSinceMark,
    intoPartialDatabase: partial.length,
    keptInRestoredDatabase: kept.length,
    refusals,
  };
  if (attempt.exitCode !== 0) {
    context.pass(
      'restorability',
      check,
      `${attempt.failedCommand?.text.split('\n')[0] ?? 'the block'} exited ${attempt.exitCode}: the writer was stopped visibly`,
      evidence,
    );
  } else if (kept.length === 0) {
    context.pass(
      'restorability',
      check,
      `every command exited 0; from the restore command on the writer made ${writer.attemptsSinceMark} attempt(s) and ${writer.writesSinceMark} write(s); none of its ${writer.writes.length} write(s) went into a half-restored database that the application got back`,
      evidence,
    );
  } else {
    context.fail(
      'restorability',
      check,
      `every command exited 0; ${kept.length} audit entr${kept.length === 1 ? 'y' : 'ies'} the writer made while the database was half-restored ${kept.length === 1 ? 'is' : 'are'} in the restored database`,
      evidence,
    );
    context.finding({
      line: context.block(0).line,
      severity: 'high',
      title: run.finding.title,
      command: run.finding.command,
      evidence: { adversarialInput: STILL_WRITING, exitCode: 0, ...evidence, keptIds: kept.slice(0, 3) },
      whyItMatters: run.finding.whyItMatters,
      suggestedFix: run.finding.suggestedFix,
    });
  }
}

/**
 * The section restored the good dump and restarted the application: the writer's entries are all that differs
 * from the backup, so deleting them puts the database back without another restore.
 */
async function removeTheWrites(context: ProcedureContext, marker: string): Promise<void> {
  await context.harnessSql(
    'adversarial run: put the database back (the writer’s entries removed)',
    `DELETE FROM audit_logs WHERE resource_id = ${sqlLiteral(marker)}`,
  );
  await waitForApplication(context);
}

async function rowsStillThere(context: ProcedureContext, marker: string, ids: Set<string>): Promise<string[]> {
  const result = await context.harnessSql(
    'adversarial run: the writer’s entries in the database the section left',
    `SELECT id::text FROM audit_logs WHERE resource_id = ${sqlLiteral(marker)}`,
  );
  return result.rows.map((row: { id: string }) => row.id).filter((id) => ids.has(id));
}
