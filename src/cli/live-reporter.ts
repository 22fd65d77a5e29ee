import { basename } from 'node:path';
import type { DrillReporter } from '../drill/drill-reporter.ts';
import type { EvidenceFiles } from '../evidence/evidence-writer.ts';
import type { Journal, Outcome, ProcedureRecord } from '../evidence/journal.ts';
import { drillEndText } from './console-reporter.ts';
import { color, formatBytes, formatCount, formatElapsed, printable, progressBar } from './progress-format.ts';
import { TerminalRenderer, type TerminalStream } from './terminal-renderer.ts';

type Mode = 'order' | 'alone';
type TaskState = 'pending' | 'running' | 'interrupted' | Outcome;

interface Task {
  id: string;
  mode: Mode;
  state: TaskState;
  startedAt?: number;
  durationMs?: number;
  /** What it is doing now (running) or why it did not pass (finished). */
  step?: string;
  findings: string[];
}

interface Transfer {
  label: string;
  bytes: number;
  totalBytes?: number;
  firstBytes: number;
  firstAt: number;
  lastAt: number;
}

export interface LiveReporterOptions {
  now?: () => number;
  intervalMs?: number;
  captureForeignWrites?: boolean;
}

const SPINNER = '⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏';
/** A transfer stays on screen this long after it last grew, then makes room. */
const TRANSFER_SHOWN_MS = 3000;
const MAX_TRANSFERS_SHOWN = 3;

function symbol(state: TaskState, now: number): string {
  switch (state) {
    case 'pending':
      return color.dim('·');
    case 'running':
      return color.cyan(SPINNER[Math.floor(now / 100) % SPINNER.length]!);
    case 'passed':
      return color.green('✔');
    case 'failed':
      return color.red('✖');
    case 'error':
      return color.red('!');
    case 'skipped':
      return color.yellow('↷');
    case 'not-run':
      return color.dim('○');
    case 'interrupted':
      return color.yellow('■');
  }
}

/** Why a finished procedure did not pass, in a few words: the journal's reason or its first failed check. */
function whyNotPassed(record: ProcedureRecord): string | undefined {
  if (record.outcome === 'passed') return undefined;
  const failed = record.rungs.find((rung) => rung.outcome === 'failed');
  const why = record.reason ?? (failed ? `${failed.rung}: ${failed.check}` : undefined);
  return why === undefined ? undefined : printable(why);
}

/**
 * Progress for a person at a terminal: the procedures of each isolation mode as a task list, redrawn
 * in place (at most 10 times a second): what the running one is doing now, elapsed times, a bar for
 * seeding and for dumps and copies growing on disk. When the drill ends, the final task list stays,
 * followed by the same summary table, findings and report paths as the plain reporter prints.
 */
export class LiveReporter implements DrillReporter {
  private readonly tasks: Task[] = [];
  private running: Task | undefined;
  private drill: { id: string; runbook: string; startedAt: number } | undefined;
  private environmentStep: { text: string; at: number } | undefined;
  private seeding: { table: string; rows: number; totalRows: number; tablesDone: number } | undefined;
  private readonly transfers = new Map<string, Transfer>();
  private readonly renderer: TerminalRenderer;
  private readonly now: () => number;
  private finished = false;

  constructor(
    private readonly stream: TerminalStream,
    options: LiveReporterOptions = {},
  ) {
    this.now = options.now ?? Date.now;
    this.renderer = new TerminalRenderer(stream, (size) => this.frame(size), {
      ...(options.intervalMs !== undefined ? { intervalMs: options.intervalMs } : {}),
      ...(options.captureForeignWrites !== undefined ? { captureForeignWrites: options.captureForeignWrites } : {}),
    });
  }

  onDrillStart(info: {
    drillId: string;
    runbook: string;
    reportDir: string;
    procedures?: Array<{ id: string; title: string; mode: Mode }>;
  }): void {
    this.drill = { id: info.drillId, runbook: info.runbook, startedAt: this.now() };
    for (const procedure of info.procedures ?? [])
      this.tasks.push({ id: procedure.id, mode: procedure.mode, state: 'pending', findings: [] });
    if (!this.finished) this.renderer.start();
  }

  onStep(message: string): void {
    // Before the view starts (e.g. notes about the configuration) a step is an ordinary line.
    if (!this.renderer.isRunning) {
      if (!this.finished) this.stream.write(`${message}\n`);
      return;
    }
    this.environmentStep = { text: printable(message), at: this.now() };
    if (!message.startsWith('seeding')) this.seeding = undefined;
  }

  onSeedProgress(progress: { table: string; rows: number; totalRows: number }): void {
    const previous = this.seeding;
    const tablesDone = (previous?.tablesDone ?? 0) + (previous && previous.table !== progress.table ? 1 : 0);
    this.seeding = { ...progress, table: printable(progress.table), tablesDone };
  }

  onProcedureStart(procedure: { id: string; title: string; mode: Mode }): void {
    let task = this.tasks.find(
      (candidate) => candidate.id === procedure.id && candidate.mode === procedure.mode && candidate.state === 'pending',
    );
    if (!task) {
      task = { id: procedure.id, mode: procedure.mode, state: 'pending', findings: [] };
      this.tasks.push(task);
    }
    task.state = 'running';
    task.startedAt = this.now();
    task.step = 'preparing';
    this.running = task;
    this.environmentStep = undefined;
    this.seeding = undefined;
    this.transfers.clear();
  }

  onProcedureStep(procedure: string, step: string): void {
    if (this.running?.id === procedure) this.running.step = printable(step);
  }

  onBytesProgress(label: string, bytes: number, totalBytes?: number): void {
    const now = this.now();
    const known = this.transfers.get(label);
    this.transfers.set(label, {
      label: printable(label),
      bytes,
      ...(totalBytes !== undefined ? { totalBytes } : {}),
      firstBytes: known?.firstBytes ?? bytes,
      firstAt: known?.firstAt ?? now,
      lastAt: now,
    });
  }

  onProcedureEnd(record: ProcedureRecord): void {
    const task =
      this.running?.id === record.id && this.running.mode === record.mode
        ? this.running
        : this.tasks.find((candidate) => candidate.id === record.id && candidate.mode === record.mode);
    if (task) {
      task.state = record.outcome;
      if (record.durationMs !== undefined) task.durationMs = record.durationMs;
      task.findings = [...record.findings];
      const why = whyNotPassed(record);
      if (why) task.step = why;
      else delete task.step;
    }
    this.running = undefined;
    this.transfers.clear();
  }

  onDrillEnd(journal: Journal, files: EvidenceFiles): void {
    const finalText = [...this.finalTaskList(journal), ...drillEndText(journal, files)];
    if (this.finished || !this.renderer.isRunning) {
      this.finished = true;
      for (const text of drillEndText(journal, files)) this.stream.write(`${text}\n`);
      return;
    }
    this.finished = true;
    this.renderer.stop(finalText);
  }

  /**
   * Stops redrawing and leaves the task list as it stands (a running procedure marked interrupted), so
   * whatever is written next — a signal's message, an error — lands below it, untorn. Idempotent.
   */
  stop(): void {
    if (this.finished) return;
    this.finished = true;
    if (this.running) this.running.state = 'interrupted';
    this.renderer.stop([this.header(this.now()), ...this.tasks.map((task) => this.taskLine(task, this.now()))]);
  }

  /** The live frame: a header, the task list (shortened to fit the height), what the environment is doing. */
  frame(size: { columns: number; rows: number }): string[] {
    const now = this.now();
    const footer = this.footer(now);
    const room = Math.max(3, size.rows - 1 - 1 - footer.length);
    return [this.header(now), ...this.taskList(now, room), ...footer];
  }

  private header(now: number): string {
    const drill = this.drill;
    const done = this.tasks.filter((task) => task.state !== 'pending' && task.state !== 'running').length;
    const failed = this.tasks.filter((task) => task.state === 'failed' || task.state === 'error').length;
    const parts = [
      `${color.bold('nmia-drill')} ${drill?.id ?? ''}`,
      drill ? printable(basename(drill.runbook)) : '',
      drill ? formatElapsed(now - drill.startedAt) : '',
      `${done}/${this.tasks.length} done`,
    ];
    if (failed > 0) parts.push(color.red(`${failed} not passed`));
    return parts.filter(Boolean).join(' · ');
  }

  private taskList(now: number, room: number): string[] {
    const runningAt = this.running ? this.tasks.indexOf(this.running) : -1;
    const splitAt = runningAt >= 0 ? runningAt : this.tasks.findIndex((task) => task.state === 'pending');
    const before = splitAt >= 0 ? this.tasks.slice(0, splitAt) : this.tasks;
    const active = runningAt >= 0 ? this.activeLines(this.running!, now) : [];
    const after = splitAt >= 0 ? this.tasks.slice(runningAt >= 0 ? splitAt + 1 : splitAt) : [];
    if (before.length + active.length + after.length <= room) {
      return [...before.map((task) => this.taskLine(task, now)), ...active, ...after.map((task) => this.taskLine(task, now))];
    }
    // Too tall to redraw in place: the running procedure in full, the nearest others, the rest counted.
    const free = Math.max(0, room - active.length - 2);
    let afterShown = Math.min(after.length, Math.ceil(free / 2));
    const beforeShown = Math.min(before.length, free - afterShown);
    afterShown = Math.min(after.length, free - beforeShown);
    const lines: string[] = [];
    const hiddenBefore = before.slice(0, before.length - beforeShown);
    if (hiddenBefore.length > 0) {
      const notPassed = hiddenBefore.filter((task) => task.state !== 'passed').length;
      lines.push(
        `  ${color.dim('…')} ${hiddenBefore.length} more finished${notPassed > 0 ? `, ${color.red(`${notPassed} not passed`)}` : ''}`,
      );
    }
    lines.push(
      ...before.slice(before.length - beforeShown).map((task) => this.taskLine(task, now)),
      ...active,
      ...after.slice(0, afterShown).map((task) => this.taskLine(task, now)),
    );
    if (after.length > afterShown) lines.push(`  ${color.dim('…')} ${after.length - afterShown} more to run`);
    return lines;
  }

  private taskLine(task: Task, now: number): string {
    const idWidth = Math.min(24, Math.max(12, ...this.tasks.map((candidate) => candidate.id.length)));
    // Running (or cut short): time so far; finished: its recorded duration.
    const ms = task.durationMs ?? (task.startedAt !== undefined ? now - task.startedAt : undefined);
    const elapsed = ms === undefined ? '' : formatElapsed(ms);
    const findings = task.findings.length > 0 ? color.yellow(task.findings.join(',')) : '';
    const note = task.state !== 'running' && task.state !== 'pending' && task.step ? color.dim(task.step) : '';
    return `  ${symbol(task.state, now)} ${task.mode.padEnd(5)} ${task.id.padEnd(idWidth)} ${elapsed.padStart(7)}  ${[findings, note].filter(Boolean).join('  ')}`.trimEnd();
  }

  private activeLines(task: Task, now: number): string[] {
    const lines = [`${this.taskLine(task, now)}  ${color.cyan(task.step ?? '')}`.trimEnd()];
    const fresh = [...this.transfers.values()].filter((transfer) => now - transfer.lastAt <= TRANSFER_SHOWN_MS).slice(-MAX_TRANSFERS_SHOWN);
    for (const transfer of fresh) lines.push(`      ${this.transferLine(transfer)}`);
    return lines;
  }

  private transferLine(transfer: Transfer): string {
    const seconds = (transfer.lastAt - transfer.firstAt) / 1000;
    const rate =
      seconds > 0 && transfer.bytes > transfer.firstBytes ? `  ${formatBytes((transfer.bytes - transfer.firstBytes) / seconds)}/s` : '';
    if (transfer.totalBytes) {
      return `${progressBar(transfer.bytes / transfer.totalBytes)}  ${transfer.label}  ${formatBytes(transfer.bytes)} / ${formatBytes(transfer.totalBytes)}${rate}`;
    }
    return `${color.dim('↧')} ${transfer.label}  ${formatBytes(transfer.bytes)}${rate}`;
  }

  private footer(now: number): string[] {
    const lines: string[] = [];
    if (this.environmentStep)
      lines.push(`  ${color.cyan('▸')} ${this.environmentStep.text}  ${color.dim(formatElapsed(now - this.environmentStep.at))}`);
    const seeding = this.seeding;
    if (seeding) {
      lines.push(
        `    ${progressBar(seeding.totalRows > 0 ? seeding.rows / seeding.totalRows : 1)}  ${seeding.table}: ${formatCount(seeding.rows)}/${formatCount(seeding.totalRows)} rows${seeding.tablesDone > 0 ? color.dim(`  (${seeding.tablesDone} table${seeding.tablesDone === 1 ? '' : 's'} done)`) : ''}`,
      );
    }
    return lines;
  }

  /** The task list as the journal has it: every procedure of every mode, with its outcome, time, findings and why. */
  private finalTaskList(journal: Journal): string[] {
    const now = this.now();
    const tasks: Task[] = journal.procedures.map((record) => ({
      id: record.id,
      mode: record.mode,
      state: record.outcome,
      ...(record.durationMs !== undefined ? { durationMs: record.durationMs } : {}),
      findings: record.findings,
      ...(whyNotPassed(record) ? { step: whyNotPassed(record)! } : {}),
    }));
    this.tasks.splice(0, this.tasks.length, ...tasks);
    return [this.header(now), ...tasks.map((task) => this.taskLine(task, now))];
  }
}
