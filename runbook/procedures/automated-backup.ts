import { keepRunAside } from '../kit/run-aside.ts';
import { chmod, mkdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { CronExpressionParser } from 'cron-parser';
import { checkNewBackup, proveBackupComplete, rememberBackups } from '../kit/backup-checks.ts';
import { listFiles, newFiles } from '../kit/backup-files.ts';
import { runWithPgDumpKilled } from '../kit/killed-dump.ts';
import { ENCRYPTED_BACKUP_FIXES } from '../kit/secrets-check.ts';
import type { Procedure } from '../../src/drill/procedure.ts';
import { lastLines } from '../../src/exec/error-lines.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';
import type { Binding } from '../../src/exec/binding.ts';

const DAY_MS = 24 * 60 * 60 * 1000;
const DUMP_NAME = /^nmia_backup_\d{8}_\d{6}\.dump(\.gpg)?$/;

/**
 * Files planted in the backup directory with real mtimes: what retention must delete and keep. Named as the
 * script names its backups: with `.gpg` where it encrypts them (the dated backups only).
 */
const RETENTION_PLANTS = [
  { name: 'nmia_backup_20240101_020000.dump', ageDays: 45, expect: 'deleted' },
  { name: 'nmia_backup_20240102_020000.dump', ageDays: 31.5, expect: 'deleted' },
  { name: 'nmia_backup_20240103_020000.dump', ageDays: 29, expect: 'kept' },
  { name: 'connectors_20240101.dump', ageDays: 45, expect: 'kept' },
] as const;

function plantName(context: ProcedureContext, name: string): string {
  return name.startsWith('nmia_backup_') && context.block(0).text.includes('nmia_backup_${TIMESTAMP}.dump.gpg') ? `${name}.gpg` : name;
}

function scriptBindings(context: ProcedureContext): Binding[] {
  return [{ placeholder: '/opt/nmia', value: context.projectDir, reason: 'the install directory, inside the drill workspace' }];
}

/**
 * Database Backup › Automated Backup Script. The script is written to a file as given and run; its
 * dump must restore, retention must delete old backups and keep new ones (real mtimes), the cron
 * entry must fire daily at 02:00, and a pg_dump that fails part-way must not leave a fake backup.
 */
export const automatedBackup: Procedure = {
  id: 'automated-backup',
  title: 'Automated backup script, retention and cron entry',
  kind: 'backup',
  section: 'Database Backup › Automated Backup Script',
  blocks: [0],
  checksWithoutRunning: [{ index: 1, reason: 'crontab entry: parsed and checked by the automated-backup procedure, not executed' }],
  captureWindow: true,

  bindings: scriptBindings,
  plan: {
    bindings: (plan) => [
      {
        placeholder: '/opt/nmia',
        value: plan.projectDir,
        reason: 'the install directory, inside the drill workspace',
        runtime: 'the drill workspace is a temp directory created when the drill starts',
      },
    ],
    produces: [{ name: 'script-dump', file: 'nmia_backup_{YYYYMMDD_HHMMSS}.dump', from: 'automated-backup (when its checks pass)' }],
  },

  async beforeBlocks(context) {
    const script = context.block(0).text.split('/opt/nmia').join(context.projectDir);
    // Written as an editor or `cat >` would leave it: the runbook never says chmod.
    await writeFile(join(context.projectDir, 'backup.sh'), script, { mode: 0o644 });
    await chmod(join(context.projectDir, 'backup.sh'), 0o644);
    const now = Date.now();
    // The script's own `mkdir -p "$BACKUP_DIR"` makes it anyway (a clone of the app has no ./backups).
    await mkdir(context.backupsDir, { recursive: true });
    for (const plant of RETENTION_PLANTS) {
      const path = join(context.backupsDir, plantName(context, plant.name));
      await writeFile(path, 'planted by nmia-drill to check retention; not a backup\n');
      const when = new Date(now - plant.ageDays * DAY_MS);
      await utimes(path, when, when);
    }
    context.evidence.harnessAction({
      purpose: 'retention check: plant files with real mtimes',
      command: RETENTION_PLANTS.map((plant) => `${plantName(context, plant.name)} (${plant.ageDays} days old)`).join(', '),
      exitCode: 0,
      durationMs: 0,
    });
    rememberBackups(context);
  },

  async verify(context) {
    await checkDump(context);
    await checkRetention(context);
    await checkCron(context);
    await checkFailurePartWay(context);
  },
};

async function checkDump(context: ProcedureContext): Promise<void> {
  const backup = await checkNewBackup(context, {
    pattern: DUMP_NAME,
    artifactName: 'script-dump',
    format: 'custom',
    sidecar: true,
    secretsFix: ENCRYPTED_BACKUP_FIXES.automated,
  });
  if (!backup?.evidence.readable) return;
  const printed = context.evidence.blocks[0]?.stdoutTail ?? '';
  if (printed.includes(`Backup completed: ${basename(backup.path)}`))
    context.pass('intent', 'the script reports the file it wrote', lastLines(printed, 1));
  else
    context.fail(
      'intent',
      'the script reports the file it wrote',
      `printed ${JSON.stringify(printed.trim())}, wrote ${basename(backup.path)}`,
    );
  await proveBackupComplete(context, backup.path, 'custom', 'script_dump');
}

async function checkRetention(context: ProcedureContext): Promise<void> {
  const present = listFiles(context.backupsDir);
  const planted = RETENTION_PLANTS.map((plant) => ({ ...plant, name: plantName(context, plant.name) }));
  const wrong = planted.filter((plant) => (plant.expect === 'deleted') === present.has(plant.name));
  const summary = planted.map((plant) => `${plant.name} (${plant.ageDays} d): ${present.has(plant.name) ? 'kept' : 'deleted'}`).join('; ');
  if (wrong.length === 0) context.pass('intent', 'retention deletes backups older than RETENTION_DAYS=30 and keeps newer ones', summary);
  else
    context.fail('intent', 'retention deletes backups older than RETENTION_DAYS=30 and keeps newer ones', summary, {
      wrong: wrong.map((plant) => plant.name),
    });
  for (const plant of RETENTION_PLANTS) await rm(join(context.backupsDir, plantName(context, plant.name)), { force: true });
}

async function checkCron(context: ProcedureContext): Promise<void> {
  const entry = context.block(1).text.trim();
  const fields = entry.split(/\s+/);
  const schedule = fields.slice(0, 5).join(' ');
  const command = fields.slice(5);
  try {
    const expression = CronExpressionParser.parse(schedule, { tz: 'UTC', currentDate: new Date('2026-01-01T00:00:00Z') });
    const runs = [expression.next(), expression.next(), expression.next()].map((date) => date.toISOString() ?? '');
    const daily = runs.every(
      (run, index) => run.endsWith('T02:00:00.000Z') && (index === 0 || Date.parse(run) - Date.parse(runs[index - 1]!) === DAY_MS),
    );
    if (daily) context.pass('intent', 'the cron entry fires daily at 02:00', `"${schedule}" → ${runs.join(', ')}`);
    else context.fail('intent', 'the cron entry fires daily at 02:00', `"${schedule}" → ${runs.join(', ')}`);
  } catch (error) {
    context.fail('intent', 'the cron entry fires daily at 02:00', `"${schedule}" does not parse: ${(error as Error).message}`);
  }
  const interpreter = /^(\/(usr\/)?bin\/)?(ba)?sh$/.test(command[0] ?? '');
  const scriptPath = (interpreter ? command[1] : command[0])?.split('/opt/nmia').join(context.projectDir) ?? '';
  const mode = await stat(scriptPath).then(
    (stats) => stats.mode,
    () => undefined,
  );
  if (mode === undefined) {
    context.fail('intent', 'the cron entry runs the script', `${scriptPath} does not exist`);
  } else if (interpreter || (mode & 0o111) !== 0) {
    context.pass('intent', 'the cron entry runs the script', interpreter ? `through ${command[0]}` : `${command[0]} is executable`);
  } else {
    context.fail(
      'intent',
      'the cron entry runs the script',
      `${command[0]} has mode ${(mode & 0o777).toString(8)}: cron would get "Permission denied"`,
    );
    context.finding({
      line: context.block(1).line,
      severity: 'medium',
      title: 'the cron entry executes /opt/nmia/backup.sh directly, but the runbook never makes the script executable',
      evidence: { cronEntry: entry, scriptMode: (mode & 0o777).toString(8) },
      whyItMatters: 'Saved as shown, the script has no execute bit; cron logs "Permission denied" every night and no backup is taken.',
      suggestedFix:
        'Add `chmod +x /opt/nmia/backup.sh` after creating it, or run it through bash in the entry: 0 2 * * * /bin/bash /opt/nmia/backup.sh >> …',
    });
  }
}

const FAILED_RUN_CHECK = 'a run whose pg_dump fails leaves no file that looks like a backup';

/**
 * Runs the script again while the harness kills pg_dump's session after it has started (it waits on a
 * lock the harness holds), and reports what the failed run leaves in the backup directory.
 */
async function checkFailurePartWay(context: ProcedureContext): Promise<void> {
  // The script names files by the second; make sure this run cannot overwrite the good dump.
  await new Promise((resolve) => setTimeout(resolve, 1100 - (Date.now() % 1000)));
  const before = listFiles(context.backupsDir);
  const outcome = await runWithPgDumpKilled(context, () =>
    context.runBlock(0, scriptBindings(context), { label: 'block-0-pg-dump-killed' }),
  );
  const failedRun = outcome.run;
  keepRunAside(
    context,
    failedRun,
    'fault: the script run whose pg_dump was killed',
    'bash backup.sh (evidence: block-0-pg-dump-killed.*)',
    `intent: ${FAILED_RUN_CHECK}`,
  );
  if (!outcome.killed || failedRun.exitCode === 0) {
    context.rung({
      rung: 'intent',
      check: FAILED_RUN_CHECK,
      outcome: 'error',
      summary: outcome.killed
        ? 'the script exited 0 although pg_dump was terminated'
        : 'pg_dump never waited on the lock, so it could not be failed part-way',
    });
    return;
  }
  const leftovers = newFiles(context.backupsDir, before, DUMP_NAME).concat(newFiles(context.backupsDir, before, /\.tmp$|\.partial$/));
  if (leftovers.length === 0) {
    context.pass(
      'intent',
      FAILED_RUN_CHECK,
      `script exited ${failedRun.exitCode}; nothing left in ${context.relativeToProject(context.backupsDir)}`,
    );
    return;
  }
  const sizes = await Promise.all(leftovers.map(async (file) => `${basename(file)} (${(await stat(file)).size} bytes)`));
  context.fail('intent', FAILED_RUN_CHECK, `script exited ${failedRun.exitCode}; left ${sizes.join(', ')}`);
  context.finding({
    line: context.block(0).line,
    severity: 'medium',
    title: `a failed run leaves ${sizes.join(', ')}: named like a good backup, but unusable`,
    command: '> "$BACKUP_DIR/nmia_backup_${TIMESTAMP}.dump"',
    evidence: {
      exitCode: failedRun.exitCode,
      stderrTail: failedRun.stderrTail,
      leftovers: sizes,
      firstBytes: (await readFile(leftovers[0]!)).subarray(0, 5).toString('latin1'),
    },
    whyItMatters:
      'The shell creates the file before pg_dump runs; when pg_dump fails the file stays, matches the backup pattern, and the newest "backup" an operator grabs in an incident is empty or truncated.',
    suggestedFix:
      'Dump to "$BACKUP_DIR/.nmia_backup_${TIMESTAMP}.dump.partial" and `mv` it to the final name only after pg_dump succeeds (and remove the partial file on error).',
  });
  for (const file of leftovers) await rm(file, { force: true });
}
