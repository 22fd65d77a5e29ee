import { existsSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { isAbsolute, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import * as allure from 'allure-js-commons';
import { ContentType, Severity as AllureSeverity, Status } from 'allure-js-commons';
import type { Journal, ProcedureRecord, Rung, Severity } from '../../src/evidence/journal.ts';
import { lastLines } from '../../src/exec/error-lines.ts';

type BlockRun = ProcedureRecord['blocks'][number];
type CommandRecord = BlockRun['commands'][number];

/**
 * The journal's five severities onto Allure's five, order kept: a critical finding (a backup that is
 * empty, a restore that cannot work) blocks recovery outright, so it is Allure's `blocker`.
 */
export const ALLURE_SEVERITY: Readonly<Record<Severity, AllureSeverity>> = {
  critical: AllureSeverity.BLOCKER,
  high: AllureSeverity.CRITICAL,
  medium: AllureSeverity.NORMAL,
  low: AllureSeverity.MINOR,
  info: AllureSeverity.TRIVIAL,
};

const SEVERITY_ORDER: readonly Severity[] = ['critical', 'high', 'medium', 'low', 'info'];

/** The most severe of a procedure's findings, or undefined when it has none. */
export function highestSeverity(journal: Journal, record: ProcedureRecord): Severity | undefined {
  const severities = journal.findings.filter((finding) => record.findings.includes(finding.id)).map((finding) => finding.severity);
  return SEVERITY_ORDER.find((severity) => severities.includes(severity));
}

/**
 * Reports one procedure of a drill into the current vitest test's Allure result: labels (stack,
 * severity, suite = mode), a link to the runbook section, a step per block with a step per command,
 * a step per rung, and the evidence as attachments. Everything comes from the journal, which is
 * already redacted. Must run inside a test of a project with allure-vitest's setup file.
 */
export async function reportProcedureToAllure(journal: Journal, record: ProcedureRecord, runbookPath: string): Promise<void> {
  await allure.label('stack', journal.stack?.kind ?? 'unknown');
  await allure.suite(record.mode);
  const severity = highestSeverity(journal, record);
  // No finding, no severity label: Allure then shows its default (normal) rather than an invented one.
  if (severity) await allure.severity(ALLURE_SEVERITY[severity]);
  const line = record.line ?? record.blocks[0]?.line;
  await allure.link(`${pathToFileURL(resolve(runbookPath)).href}${line === undefined ? '' : `#L${line}`}`, record.section);
  await allure.description(describe(journal, record));

  for (const block of record.blocks) await reportBlock(block);
  for (const rung of record.rungs) await reportRung(rung);
  if (record.harnessActions.length > 0) {
    await allure.step('harness actions (not the runbook: prerequisites, disaster, checks)', async () => {
      for (const action of record.harnessActions) {
        const exit = `exit ${String(action.exitCode)}${action.detail ? `: ${action.detail}` : ''}`;
        // An experiment's exit is evidence: its step takes the outcome of the check that reads it.
        const judge = action.judgedBy ? record.rungs.find((rung) => `${rung.rung}: ${rung.check}` === action.judgedBy) : undefined;
        const status = judge ? RUNG_STATUS[judge.outcome] : action.exitCode === 0 ? Status.PASSED : Status.BROKEN;
        await allure.logStep(
          `${action.purpose}: ${action.command}`,
          status,
          status === Status.PASSED && action.exitCode === 0 ? undefined : note(judge ? `${exit} (judged by ${action.judgedBy})` : exit),
        );
      }
    });
  }
  if (record.artifacts.length > 0) await allure.attachment('artifacts', JSON.stringify(record.artifacts, null, 2), ContentType.JSON);
}

async function reportBlock(block: BlockRun): Promise<void> {
  const failure =
    block.exitCode === 0
      ? undefined
      : verdict(`block exited ${String(block.exitCode)}${block.signal ? ` (${block.signal})` : ''}`, 0, block.exitCode);
  await settled(
    allure.step(`${block.section} › block ${block.blockIndex + 1} (line ${block.line})`, async () => {
      await allure.attachment('command log', commandLog(block), ContentType.TEXT);
      for (const command of block.commands) await reportCommand(command);
      if (failure) throw failure;
    }),
    failure,
  );
}

async function reportCommand(command: CommandRecord): Promise<void> {
  const failure =
    command.exitCode === 0 ? undefined : verdict(`exit ${String(command.exitCode)}: ${lastLine(command.stderrTail)}`, 0, command.exitCode);
  await settled(
    allure.step(command.text, async (step) => {
      await step.parameter('exit code', String(command.exitCode));
      await step.parameter('duration', `${Math.round(command.durationMs)} ms`);
      await step.parameter('started at', command.startedAt);
      if (command.stderrTail.trim() !== '') await allure.attachment('stderr', command.stderrTail, ContentType.TEXT);
      if (failure) throw failure;
    }),
    failure,
  );
}

const RUNG_STATUS: Record<Rung['outcome'], Status> = {
  passed: Status.PASSED,
  failed: Status.FAILED,
  error: Status.BROKEN,
  skipped: Status.SKIPPED,
  'not-run': Status.SKIPPED,
};

async function reportRung(rung: Rung): Promise<void> {
  const name = `${rung.rung}: ${rung.check}`;
  if (rung.outcome === 'skipped' || rung.outcome === 'not-run') {
    await allure.logStep(name, Status.SKIPPED, note(`${rung.outcome}: ${rung.summary}`));
    // A skipped item can still carry evidence (an application defect's screenshot): keep it on the test.
    await attachScreenshot(rung);
    return;
  }
  // `failed` is a check that found a defect; `error` is a check that could not run (Allure: broken).
  const failure =
    rung.outcome === 'passed' ? undefined : rung.outcome === 'failed' ? verdict(rung.summary, 'passed', 'failed') : note(rung.summary);
  await settled(
    allure.step(name, async (step) => {
      await step.parameter('summary', rung.summary);
      const differences =
        rung.outcome === 'failed' && (rung.rung === 'content' || rung.rung === 'structure') ? manifestDifferences(rung) : undefined;
      if (differences) await allure.attachment('manifest differences', JSON.stringify(differences, null, 2), ContentType.JSON);
      await attachScreenshot(rung);
      if (failure) throw failure;
    }),
    failure,
  );
}

async function attachScreenshot(rung: Rung): Promise<void> {
  const screenshot = rung.evidence?.screenshot;
  // Read now: the drill's report directory may be gone when the reporter writes the results.
  if (typeof screenshot === 'string' && isAbsolute(screenshot) && existsSync(screenshot))
    await allure.attachment('screenshot', await readFile(screenshot), ContentType.PNG);
}

function manifestDifferences(rung: Rung): Record<string, unknown> | undefined {
  const evidence = rung.evidence ?? {};
  const picked = Object.fromEntries(
    ['differences', 'problems'].filter((key) => evidence[key] !== undefined).map((key) => [key, evidence[key]]),
  );
  return Object.keys(picked).length > 0 ? picked : undefined;
}

/** The block as bash ran it, then each command with its exit code, time and output tails. */
function commandLog(block: BlockRun): string {
  const lines = [
    `# ${block.section}, block ${block.blockIndex + 1} at line ${block.line} (sha256 ${block.sha256.slice(0, 12)})`,
    `# exit ${String(block.exitCode)}${block.signal ? ` (${block.signal})` : ''}, ${Math.round(block.durationMs)} ms, started ${block.startedAt}`,
  ];
  for (const binding of block.bindings)
    lines.push(`# binding: ${binding.placeholder} → ${binding.value} (${binding.reason}; ${binding.occurrences}×)`);
  lines.push('', '## executed text', block.executedText, '', '## commands');
  for (const command of block.commands) {
    lines.push(`$ ${command.text}`, `  exit ${String(command.exitCode)} · ${Math.round(command.durationMs)} ms · ${command.startedAt}`);
    if (command.stdoutTail.trim() !== '') lines.push('  stdout:', indent(command.stdoutTail));
    if (command.stderrTail.trim() !== '') lines.push('  stderr:', indent(command.stderrTail));
  }
  if (block.commands.length === 0) lines.push('(no command recorded)');
  return `${lines.join('\n')}\n`;
}

function describe(journal: Journal, record: ProcedureRecord): string {
  const lines = [
    `**${record.title}**`,
    '',
    `Runbook section: ${record.section}${record.line ? ` (line ${record.line})` : ''}; mode \`${record.mode}\`; outcome **${record.outcome}**${record.reason ? `: ${record.reason}` : ''}.`,
  ];
  lines.push(
    '',
    `Drill ${journal.drillId}, stack ${journal.stack?.kind ?? 'unknown'}, seed ${journal.options.seed}, scale ${journal.options.scale}.`,
  );
  for (const finding of journal.findings.filter((candidate) => record.findings.includes(candidate.id))) {
    lines.push('', `- **${finding.id} (${finding.severity})** ${finding.title}. ${finding.whyItMatters} Fix: ${finding.suggestedFix}`);
  }
  return lines.join('\n');
}

/** An error Allure reads as a failed (not broken) step: it carries what was expected and what happened. */
function verdict(message: string, expected: unknown, actual: unknown): Error {
  return Object.assign(note(message), { expected, actual });
}

/** A status message for a step; its stack would point into this helper, not at the drill, so it has none. */
function note(message: string): Error {
  const error = new Error(message);
  error.stack = '';
  return error;
}

/** Steps fail by throwing; the verdict is the step's, not the test's, so only it is swallowed. */
async function settled(step: PromiseLike<void>, failure: Error | undefined): Promise<void> {
  try {
    await step;
  } catch (error) {
    if (error !== failure) throw error;
  }
}

function lastLine(text: string): string {
  return lastLines(text, 1);
}

function indent(text: string): string {
  return text
    .replace(/\s+$/, '')
    .split('\n')
    .map((line) => `    ${line}`)
    .join('\n');
}
