import { existsSync } from 'node:fs';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type { Redactor } from '../evidence/redactor.ts';
import { cleanupRegistry } from '../lifecycle/cleanup-registry.ts';
import type { Block } from '../runbook/runbook.ts';
import { applyBindings, type AppliedBinding, type Binding } from './binding.ts';
import { BASH_TRACER, END_OF_BLOCK, parseTrace, OUTPUT_SEPARATOR, type TraceLine } from './bash-tracer.ts';
import type { CommandRecord } from './command-record.ts';
import { stderrExcerpt } from './error-lines.ts';

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
  /** Pause before the first command containing `beforeCommand` and run `run` (e.g. to inspect a scratch database). */
  checkpoints?: ReadonlyArray<{ beforeCommand: string; run: () => Promise<void> }>;
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
  /** The shell's working directory after the block (an operator's `cd` carries over). */
  finalCwd?: string;
  /** Failures of harness checkpoints during the block. */
  checkpointErrors?: string[];
}

const TAIL_LINES = 12;

/** Where a block run's trace goes: one line per command, appended as bash reaches it. */
export function blockTraceFile(evidenceDir: string, label: string): string {
  return `${join(evidenceDir, label)}.trace`;
}

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
    const traceFile = blockTraceFile(request.evidenceDir, request.label);
    const tracerFile = join(request.evidenceDir, '.bash-tracer.sh');
    const stdoutFile = `${base}.stdout`;
    const stderrFile = `${base}.stderr`;
    await writeFile(scriptFile, `${text.endsWith('\n') ? text : `${text}\n`}${END_OF_BLOCK}\n`, { mode: 0o700 });
    await writeFile(tracerFile, BASH_TRACER);
    await writeFile(traceFile, '');

    const checkpoints = request.checkpoints ?? [];
    const checkpointDir = `${base}.checkpoints`;
    if (checkpoints.length > 0) await mkdir(checkpointDir, { recursive: true });
    const checkpointEnv =
      checkpoints.length > 0
        ? {
            NMIA_DRILL_CHECKPOINTS: checkpoints.map((checkpoint) => checkpoint.beforeCommand).join('\n'),
            NMIA_DRILL_CHECKPOINT_DIR: checkpointDir,
          }
        : {};

    const startedAt = new Date();
    const child = execa('bash', ['--noprofile', '--norc', '-e', '-o', 'pipefail', scriptFile], {
      cwd: request.cwd,
      env: { ...request.env, ...checkpointEnv, BASH_ENV: tracerFile, NMIA_DRILL_TRACE: traceFile },
      extendEnv: false,
      stdin: 'ignore',
      stdout: { file: stdoutFile },
      stderr: { file: stderrFile },
      reject: false,
      // Its own process group, so an interrupted drill can stop the block and everything it started.
      detached: true,
      ...(request.timeoutMs ? { timeout: request.timeoutMs } : {}),
    });
    const pid = child.pid;
    const stopGroup = (signal: NodeJS.Signals) => {
      try {
        if (pid) process.kill(-pid, signal);
      } catch {
        // Already gone.
      }
    };
    const running = cleanupRegistry.register(
      `block ${block.sectionTitle} #${block.index}`,
      async () => {
        stopGroup('SIGTERM');
        await Promise.race([child.catch(() => undefined), new Promise((resolve) => setTimeout(resolve, 3000))]);
        stopGroup('SIGKILL');
      },
      () => stopGroup('SIGKILL'),
    );
    const checkpointErrors = checkpoints.length > 0 ? await serveCheckpoints(checkpointDir, checkpoints, child) : [];
    const result = await child;
    running.release();
    const finishedAtMs = Date.now();

    const [trace, stderr, stdout] = await Promise.all([
      readFile(traceFile, 'utf8'),
      readFile(stderrFile, 'utf8'),
      readFile(stdoutFile, 'utf8'),
    ]);
    // Redact the files too: they are part of the evidence bundle.
    await Promise.all([
      writeFile(scriptFile, redactor.redact(text)),
      writeFile(traceFile, redactor.redact(trace)),
      writeFile(stderrFile, redactor.redact(stderr.split(OUTPUT_SEPARATOR).join(''))),
      writeFile(stdoutFile, redactor.redact(stdout.split(OUTPUT_SEPARATOR).join(''))),
    ]);

    const exitCode = result.exitCode ?? null;
    const traceLines = parseTrace(trace);
    // Anything after the end marker ran in the block's own EXIT trap: part of its last moments, not a command.
    const endAt = traceLines.findIndex((line) => line.command === END_OF_BLOCK);
    const endMarker = endAt >= 0 ? traceLines.splice(endAt)[0] : undefined;
    const commands = this.commandsFromTrace(
      traceLines,
      stdout,
      stderr,
      endMarker ? { exitCode: endMarker.previousExitCode, atMs: endMarker.startedAtMs } : { exitCode, atMs: finishedAtMs },
      redactor,
    );
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
      ...(endMarker ? { finalCwd: endMarker.cwd } : {}),
      ...(checkpointErrors.length > 0 ? { checkpointErrors: checkpointErrors.map((message) => redactor.redact(message)) } : {}),
    };
  }

  private commandsFromTrace(
    lines: TraceLine[],
    stdout: string,
    stderr: string,
    end: { exitCode: number | null; atMs: number },
    redactor: Redactor,
  ): CommandRecord[] {
    // Segment 0 precedes the first command; segment i+1 belongs to command i.
    const stderrSegments = stderr.split(OUTPUT_SEPARATOR);
    const stdoutSegments = stdout.split(OUTPUT_SEPARATOR);
    return lines.map((line, index) => {
      const next = lines[index + 1];
      const isLast = next === undefined;
      const endMs = isLast ? end.atMs : next.startedAtMs;
      return {
        index,
        text: redactor.redact(line.command),
        exitCode: isLast ? end.exitCode : next.previousExitCode,
        startedAt: new Date(line.startedAtMs).toISOString(),
        durationMs: Math.max(0, Math.round(endMs - line.startedAtMs)),
        // The first error line survives a long tail: it is what the failed-command summary quotes.
        stderrTail: redactor.redact(stderrExcerpt(stderrSegments[index + 1] ?? '', 6)),
        stdoutTail: redactor.redact(tail(stdoutSegments[index + 1] ?? '', 6)),
      };
    });
  }
}

/** Answers checkpoint requests from the running block until it exits; returns the failures. */
async function serveCheckpoints(
  dir: string,
  checkpoints: ReadonlyArray<{ beforeCommand: string; run: () => Promise<void> }>,
  child: Promise<unknown>,
): Promise<string[]> {
  const errors: string[] = [];
  let exited = false;
  void child.then(
    () => (exited = true),
    () => (exited = true),
  );
  const served = new Set<number>();
  while (!exited) {
    for (const [index, checkpoint] of checkpoints.entries()) {
      if (served.has(index) || !existsSync(join(dir, `cp-${index}.req`))) continue;
      served.add(index);
      try {
        await checkpoint.run();
      } catch (error) {
        errors.push(`checkpoint before "${checkpoint.beforeCommand}": ${(error as Error).message}`);
      }
      await writeFile(join(dir, `cp-${index}.ok`), '');
    }
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return errors;
}
