import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Redactor } from '../evidence/redactor.ts';
import type { Block } from '../runbook/runbook.ts';
import { applyBindings, type AppliedBinding, type Binding } from './binding.ts';
import { BASH_TRACER, parseTrace, OUTPUT_SEPARATOR } from './bash-tracer.ts';
import type { CommandRecord } from './command-record.ts';

export interface BlockRunRequest {
  block: Block;
  bindings?: readonly Binding[];
  /** The drill workspace: the block's working directory. */
  cwd: string;
  /** Where the executed text, trace and output files of this run are kept. */
  evidenceDir: string;
  /** A file-name-safe label for this run's evidence files. */
  label: string;
  env: Record<string, string>;
  redactor: Redactor;
  timeoutMs?: number;
}

export interface BlockRun {
  section: string;
  blockIndex: number;
  line: number;
  sha256: string;
  /** The text bash ran: the block with bindings applied, redacted. */
  executedText: string;
  bindings: AppliedBinding[];
  commands: CommandRecord[];
  exitCode: number | null;
  signal?: string;
  startedAt: string;
  durationMs: number;
  /** The first command that failed; bash stops there (errexit). */
  failedCommand?: CommandRecord;
  stdoutTail: string;
  stderrTail: string;
}

const TAIL_LINES = 12;

function tail(text: string, lines = TAIL_LINES): string {
  return text.trimEnd().split('\n').slice(-lines).join('\n');
}

/**
 * Runs one fenced block with bash, as a careful operator would: command by command, stopping at the
 * first failure (errexit, pipefail). Output goes to files, never through the heap unbounded.
 */
export class BlockRunner {
  async run(request: BlockRunRequest): Promise<BlockRun> {
    const { block, redactor } = request;
    const { text, applied } = applyBindings(block.text, request.bindings ?? []);
    const base = join(request.evidenceDir, request.label);
    const scriptFile = `${base}.sh`;
    const traceFile = `${base}.trace`;
    const tracerFile = join(request.evidenceDir, '.bash-tracer.sh');
    const stdoutFile = `${base}.stdout`;
    const stderrFile = `${base}.stderr`;
    await writeFile(scriptFile, text, { mode: 0o700 });
    await writeFile(tracerFile, BASH_TRACER);
    await writeFile(traceFile, '');

    const startedAt = new Date();
    const result = await execa('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', scriptFile], {
      cwd: request.cwd,
      env: { ...request.env, BASH_ENV: tracerFile, NMIA_DRILL_TRACE: traceFile },
      extendEnv: false,
      stdin: 'ignore',
      stdout: { file: stdoutFile },
      stderr: { file: stderrFile },
      reject: false,
      ...(request.timeoutMs ? { timeout: request.timeoutMs } : {}),
    });
    const finishedAtMs = Date.now();

    const [trace, stderr, stdout] = await Promise.all([
      readFile(traceFile, 'utf8'),
      readFile(stderrFile, 'utf8'),
      readFile(stdoutFile, 'utf8'),
    ]);
    // Redact the files too: they are part of the evidence bundle.
    await Promise.all([
      writeFile(scriptFile, redactor.redact(text)),
      writeFile(stderrFile, redactor.redact(stderr.split(OUTPUT_SEPARATOR).join(''))),
      writeFile(stdoutFile, redactor.redact(stdout.split(OUTPUT_SEPARATOR).join(''))),
    ]);

    const exitCode = result.exitCode ?? null;
    const commands = this.commandsFromTrace(trace, stdout, stderr, exitCode, finishedAtMs, redactor);
    const failedCommand = exitCode === 0 ? undefined : commands.at(-1);
    return {
      section: block.sectionTitle,
      blockIndex: block.index,
      line: block.line,
      sha256: block.sha256,
      executedText: redactor.redact(text),
      bindings: applied.map((binding) => ({ ...binding, value: redactor.redact(binding.value) })),
      commands,
      exitCode,
      ...(result.signal ? { signal: result.signal } : {}),
      startedAt: startedAt.toISOString(),
      durationMs: finishedAtMs - startedAt.getTime(),
      ...(failedCommand ? { failedCommand } : {}),
      stdoutTail: redactor.redact(tail(stdout.split(OUTPUT_SEPARATOR).join(''))),
      stderrTail: redactor.redact(tail(stderr.split(OUTPUT_SEPARATOR).join(''))),
    };
  }

  private commandsFromTrace(trace: string, stdout: string, stderr: string, exitCode: number | null, finishedAtMs: number, redactor: Redactor): CommandRecord[] {
    const lines = parseTrace(trace);
    // Segment 0 precedes the first command; segment i+1 belongs to command i.
    const stderrSegments = stderr.split(OUTPUT_SEPARATOR);
    const stdoutSegments = stdout.split(OUTPUT_SEPARATOR);
    return lines.map((line, index) => {
      const next = lines[index + 1];
      const isLast = next === undefined;
      const endMs = isLast ? finishedAtMs : next.startedAtMs;
      return {
        index,
        text: redactor.redact(line.command),
        exitCode: isLast ? exitCode : next.previousExitCode,
        startedAt: new Date(line.startedAtMs).toISOString(),
        durationMs: Math.max(0, Math.round(endMs - line.startedAtMs)),
        stderrTail: redactor.redact(tail(stderrSegments[index + 1] ?? '', 6)),
        stdoutTail: redactor.redact(tail(stdoutSegments[index + 1] ?? '', 6)),
      };
    });
  }
}
