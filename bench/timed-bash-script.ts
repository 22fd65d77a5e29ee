import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { DrillError } from '../src/errors/drill-error.ts';

export interface ScriptStep {
  name: string;
  ms: number;
}

export interface ScriptTiming {
  /** Wall time of the bash process, start to exit. */
  wallMs: number;
  steps: ScriptStep[];
  /** The script as run, for the results file. */
  script: string;
}

/**
 * `step NAME` marks where each timed part begins; the prelude keeps the marker cost to one printf.
 * errexit and pipefail: a baseline that fails is not a baseline.
 */
const PRELUDE = `set -euo pipefail
step() { printf '%s\\t%s\\n' "$EPOCHREALTIME" "$1" >> "$BENCH_STEPS_FILE"; }
`;

/** Runs a bash script built from `step` markers and commands; returns its wall time and per-step times. */
export async function runTimedBashScript(body: string, options: { cwd: string; env: Record<string, string> }): Promise<ScriptTiming> {
  const dir = await mkdtemp(join(tmpdir(), 'nmia-bench-script-'));
  try {
    const scriptFile = join(dir, 'script.sh');
    const stepsFile = join(dir, 'steps.tsv');
    const script = `${PRELUDE}${body}\nstep __end__\n`;
    await writeFile(scriptFile, script, { mode: 0o700 });
    await writeFile(stepsFile, '');
    const started = performance.now();
    const result = await execa('bash', ['--noprofile', '--norc', scriptFile], {
      cwd: options.cwd,
      env: { ...options.env, BENCH_STEPS_FILE: stepsFile },
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      stdout: 'ignore',
      stderr: 'pipe',
    });
    const wallMs = performance.now() - started;
    if (result.exitCode !== 0) {
      const tail = String(result.stderr ?? '')
        .trim()
        .split('\n')
        .slice(-4)
        .join(' | ');
      throw new DrillError(`bench baseline script failed (exit ${result.exitCode ?? result.signal}): ${tail}`, {
        fix: `the baseline must run the same commands cleanly; run it by hand to see why: bash ${scriptFile} (kept only while the bench runs)`,
      });
    }
    const marks = (await readFile(stepsFile, 'utf8'))
      .split('\n')
      .filter(Boolean)
      .map((line) => {
        const [at = '0', ...name] = line.split('\t');
        return { at: Number(at) * 1000, name: name.join('\t') };
      });
    const steps = marks.slice(0, -1).map((mark, index) => ({ name: mark.name, ms: marks[index + 1]!.at - mark.at }));
    return { wallMs, steps, script };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** Single-quotes a value for bash. */
export function shellQuote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}
