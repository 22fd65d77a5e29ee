import { createReadStream, createWriteStream } from 'node:fs';
import { copyFile, readFile, rm, stat, truncate } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { createInterface } from 'node:readline';
import { once } from 'node:events';
import { errorLines, lastLines } from '../../src/exec/error-lines.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';
import type { ProducedArtifact } from '../../src/drill/drill-state.ts';
import { compareWithBackupWindow } from '../../src/verify/backup-window.ts';
import { putTheDatabaseBack, restoreInput, runRestoreAside } from './restore-aside.ts';

/** A damaged copy of a restore's dump: what goes wrong, and how to make the copy (streamed, never in the heap). */
export interface DumpDamage {
  /** Short name in the journal, e.g. 'a dump with one failing statement'. */
  name: string;
  slug: string;
  damage(source: ProducedArtifact, target: string): Promise<void>;
}

/** A plain dump whose largest table's COPY starts with one malformed row: that one COPY statement fails. */
export const FAILING_STATEMENT: DumpDamage = {
  name: 'a dump with one failing statement',
  slug: 'failing_statement',
  async damage(source, target) {
    const tables = Object.entries(source.window!.before.tables);
    const [largest] = tables.sort(([, a], [, b]) => b.rows - a.rows)[0]!;
    const out = createWriteStream(target);
    let injected = false;
    for await (const line of createInterface({ input: createReadStream(source.path), crlfDelay: Number.POSITIVE_INFINITY })) {
      if (!out.write(`${line}\n`)) await once(out, 'drain');
      if (!injected && line.startsWith(`COPY ${largest} (`)) {
        // One column, where the table has several: COPY rejects the row, and with it the whole statement.
        out.write('nmia-drill adversarial row\n');
        injected = true;
      }
    }
    out.end();
    await once(out, 'finish');
    if (!injected) throw new Error(`adversarial run: no COPY of ${largest} in ${basename(source.path)} to put a failing row into`);
  },
};

/** A custom dump cut in half, as a full disk or an interrupted copy leaves it. */
export const TRUNCATED_DUMP: DumpDamage = {
  name: 'a truncated dump',
  slug: 'truncated',
  async damage(source, target) {
    await copyFile(source.path, target);
    await truncate(target, Math.floor((await stat(target)).size / 2));
  },
};

export interface AdversarialRestore {
  artifact: 'plain-dump' | 'custom-dump';
  /** The runbook's dump file name the section's binding replaces. */
  placeholder: string;
  damage: DumpDamage;
  /** The runbook finding when the section's commands exit 0 on the damaged dump. */
  finding: { title: string; command: string; whyItMatters: string; suggestedFix: string };
}

/**
 * An adversarial run of a restore section: its block again, as written, on a damaged copy of its dump. The
 * runbook passes when its commands fail loudly; when they exit 0 the database is compared with the backup
 * window, and that is a runbook finding. Then the same block on the good dump puts the environment back for
 * the sections after it. Only when the drill runs adversarial runs (`--no-adversarial` skips them).
 */
export async function runAdversarialRestore(context: ProcedureContext, run: AdversarialRestore): Promise<void> {
  if (!context.drill.adversarial) return;
  const dump = context.artifact(run.artifact);
  if (!dump?.window) throw new Error(`adversarial run: no ${run.artifact} with a backup window to damage`);
  const extension = run.artifact === 'custom-dump' ? 'dump' : 'sql';
  const damaged = join(context.backupsDir, `adversarial_${run.damage.slug}.${extension}`);
  const check = `adversarial: ${run.damage.name} makes the restore fail visibly`;
  // An encrypted backup is damaged in its plaintext, and encrypted again when the section decrypts its input.
  const plaintext = { ...dump, path: await context.readablePath(dump.path) };
  await context.harnessAction(`adversarial input: ${run.damage.name}`, `copy of ${basename(dump.path)} → ${basename(damaged)}`, () =>
    run.damage.damage(plaintext, damaged),
  );
  try {
    const label = `block-0-adversarial-${run.damage.slug}`;
    const attempt = await runRestoreAside(context, {
      bindings: [await restoreInput(context, run.placeholder, damaged, `adversarial run: ${run.damage.name}`)],
      label,
      judgedBy: `restorability: ${check}`,
    });
    const stderr = await readFile(join(context.evidenceDir, `${label}.stderr`), 'utf8').catch(() => attempt.stderrTail);
    const errors = errorLines(stderr);
    if (attempt.exitCode !== 0) {
      context.pass(
        'restorability',
        check,
        `${attempt.failedCommand?.text.split('\n')[0] ?? 'the block'} exited ${attempt.exitCode}: ${errors[0] ?? lastLines(stderr, 1)}`,
      );
    } else {
      const window = dump.window;
      const now = await context.manifest(`after the adversarial run (${run.damage.name})`);
      const comparison = compareWithBackupWindow(window.before, window.after, now);
      const lost = comparison.problems.map((problem) => problem.message);
      const summary = `every command exited 0; ${errors.length} error line(s) in the output${errors[0] ? ` (first: ${errors[0]})` : ''}; the database: ${lost.length > 0 ? lost.slice(0, 3).join('; ') : 'matches the backup'}`;
      context.fail('restorability', check, summary, { errorLines: errors.slice(0, 10), problems: lost.slice(0, 10) });
      context.finding({
        line: context.block(0).line,
        severity: 'high',
        title: run.finding.title,
        command: run.finding.command,
        evidence: { adversarialInput: run.damage.name, exitCode: 0, errorLines: errors.slice(0, 5), databaseAfter: lost.slice(0, 5) },
        whyItMatters: run.finding.whyItMatters,
        suggestedFix: run.finding.suggestedFix,
      });
    }
    await putTheDatabaseBack(context, run.placeholder, dump, label);
  } finally {
    await rm(damaged, { force: true });
    await rm(`${damaged}.gpg`, { force: true });
  }
}
