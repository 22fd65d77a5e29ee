import { keepRunAside } from './run-aside.ts';
import { rm, stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { errorLines } from '../../src/exec/error-lines.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';
import { listFiles, newFiles } from './backup-files.ts';
import { runWithPgDumpKilled } from './killed-dump.ts';

const CHECK = 'adversarial: a pg_dump killed part-way leaves no file that looks like a backup';

/**
 * The adversarial run of a backup section: its block again while the harness kills pg_dump part-way. The
 * runbook passes when the block fails and leaves nothing named like a backup; a file that looks like one
 * (the operator's newest "backup" in an incident) is a runbook finding. Only with adversarial runs on.
 * `correctedSection`: the section as the corrected runbook writes it, which is the finding's fix.
 */
export async function runKilledDump(context: ProcedureContext, backupName: RegExp, correctedSection: string): Promise<void> {
  if (!context.drill.adversarial) return;
  // Backups are named by the second: this run must not overwrite the good one.
  await new Promise((resolve) => setTimeout(resolve, 1100 - (Date.now() % 1000)));
  const before = listFiles(context.backupsDir);
  const label = 'block-0-adversarial-killed-dump';
  const { run, killed } = await runWithPgDumpKilled(context, () => context.runBlock(0, [], { label }));
  keepRunAside(
    context,
    run,
    'adversarial run: the section whose pg_dump was killed part-way',
    `the section's block as written (evidence: ${label}.*)`,
    `intent: ${CHECK}`,
  );
  const leftovers = newFiles(context.backupsDir, before, backupName);
  try {
    if (!killed) {
      context.rung({
        rung: 'intent',
        check: CHECK,
        outcome: 'error',
        summary: 'pg_dump never waited on the lock, so it could not be killed part-way',
      });
      return;
    }
    if (leftovers.length === 0 && run.exitCode !== 0) {
      context.pass(
        'intent',
        CHECK,
        `the block stopped with exit ${run.exitCode} (${errorLines(run.stderrTail)[0] ?? 'pg_dump failed'}); no new backup file`,
      );
      return;
    }
    const sizes = await Promise.all(leftovers.map(async (file) => `${basename(file)} (${(await stat(file)).size} bytes)`));
    const summary = `the block exited ${run.exitCode}; left ${sizes.length > 0 ? sizes.join(', ') : 'no file'}`;
    context.fail('intent', CHECK, summary);
    context.finding({
      line: context.block(0).line,
      severity: 'high',
      title: `a pg_dump killed part-way still leaves ${sizes.join(', ') || 'a successful-looking run'}: named like a good backup, but partial`,
      evidence: { exitCode: run.exitCode, stderrTail: run.stderrTail, leftovers: sizes },
      whyItMatters:
        'The section goes on past the failed pg_dump and copies what it wrote; the newest "backup" an operator grabs in an incident is truncated.',
      suggestedFix: `Never mask pg_dump's exit code (no \`|| true\`; with set -o pipefail a failed pg_dump fails the pipe), and write under a .partial name renamed only once pg_dump and the write both succeeded:\n${correctedSection}`,
    });
  } finally {
    for (const file of leftovers) await rm(file, { force: true });
  }
}
