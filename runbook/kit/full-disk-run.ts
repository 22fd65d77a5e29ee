import { keepRunAside } from './run-aside.ts';
import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { failureLine } from '../../src/exec/error-lines.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';
import { listFiles, newFiles } from './backup-files.ts';
import { onFullDisk, tmpfsSupport } from './full-disk.ts';

const CHECK = 'adversarial: a backup written onto a full disk leaves no file that looks like a backup';

/**
 * The disk-full adversarial run of a backup section: its block again with ./backups on a 4 KiB tmpfs, so the
 * copy out of the container fails part-way. `docker compose cp` then exits 1 and leaves what fit under the
 * target name (real Docker and the shim alike). The runbook passes when the block fails and nothing named
 * like a backup is left; a truncated file under a backup's name is a runbook finding. Only with adversarial
 * runs on, and only after the section's own backup succeeded (a section that cannot copy at all has its finding).
 * `correctedSection`: the section as the corrected runbook writes it, which is the finding's fix.
 */
export async function runFullDiskCopy(context: ProcedureContext, backupName: RegExp, correctedSection: string): Promise<void> {
  if (!context.drill.adversarial) return;
  const supported = tmpfsSupport();
  if (!supported.ok) {
    context.rung({ rung: 'intent', check: CHECK, outcome: 'skipped', summary: `not run: ${supported.reason}` });
    return;
  }
  // No wait for the next second (as the killed-dump run needs): this run writes onto the tmpfs, never over the good backup.
  const label = 'block-0-adversarial-full-disk';
  const { run, leftovers } = await onFullDisk(context.backupsDir, async () => {
    const before = listFiles(context.backupsDir);
    const run = await context.runBlock(0, [], { label });
    const left = await Promise.all(
      newFiles(context.backupsDir, before, backupName).map(async (file) => `${basename(file)} (${(await stat(file)).size} bytes)`),
    );
    return { run, leftovers: left };
  });
  keepRunAside(
    context,
    run,
    'adversarial run: the section with ./backups on a full disk (a 4 KiB tmpfs over it)',
    `the section's block as written (evidence: ${label}.*)`,
    `intent: ${CHECK}`,
  );
  if (leftovers.length === 0 && run.exitCode !== 0) {
    context.pass(
      'intent',
      CHECK,
      `the block stopped with exit ${run.exitCode} (${failureLine(run.stderrTail) || 'the copy failed'}); no file named like a backup`,
    );
    return;
  }
  context.fail('intent', CHECK, `the block exited ${run.exitCode}; left ${leftovers.join(', ') || 'no file'}`);
  context.finding({
    line: context.block(0).line,
    severity: 'high',
    title: `a backup written onto a full disk leaves ${leftovers.join(', ') || 'a successful-looking run'}: named like a good backup, but truncated`,
    evidence: { exitCode: run.exitCode, stderrTail: run.stderrTail, leftovers },
    whyItMatters:
      'The section writes straight to the final name and leaves what fit when the disk fills; the newest "backup" an operator grabs in an incident is cut short.',
    suggestedFix: `Write under a temporary name and give it the backup's name only once the dump and the write succeeded:\n${correctedSection}`,
  });
}

/** The corrected copy-out of the schema backup, as fixtures/runbooks/backup-restore.corrected.md writes it. */
export function partialCopy(from: string, to: string): string {
  return [
    `BACKUP=${to}`,
    `docker compose cp ${from} "$BACKUP.partial" || { rm -f "$BACKUP.partial"; false; }`,
    'mv "$BACKUP.partial" "$BACKUP"',
  ].join('\n');
}
