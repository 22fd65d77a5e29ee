import { spawn } from 'node:child_process';
import { readdirSync, readFileSync } from 'node:fs';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Journal } from '../src/evidence/journal.ts';
import { parallelRestoreTiming, type ParallelRestoreTiming } from '../src/evidence/timing-measures.ts';
import { loadAverage } from './machine-facts.ts';
import { lastLines } from '../src/exec/error-lines.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const PROBE = new URL('./rss-probe.mjs', import.meta.url).href;
const WITHOUT_UNUSED = new URL('./without-unused-libraries.mjs', import.meta.url).href;

export interface ScalePoint {
  scale: number;
  wallMs: number;
  seedingMs: number;
  /** full-backup + restore-custom, as the journal records them. */
  proceduresMs: number;
  /** Peak resident set of the drill process itself (VmHWM), MiB. */
  peakRssMiB: number;
  harnessCpuMs: number;
  exitCode: number;
  loadBefore: number;
  loadAfter: number;
  /** journal.timing.parallelRestore, when the drill ran with `--parallel-restore-hint`. */
  parallelRestore?: ParallelRestoreTiming | { error: string; dump: string };
}

function vmHwmKb(pid: number): number {
  try {
    return Number(/VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
  } catch {
    return 0;
  }
}

/**
 * One drill through the CLI, exactly as an operator runs it (`node bin/nmia-drill.js …`), in a child
 * process whose peak RSS is the harness's own: polled from /proc/<pid>/status and reported by the
 * preloaded probe at exit (a late peak between two polls is not lost).
 */
export async function runCliDrill(options: {
  scale: number;
  seed: number;
  log: (line: string) => void;
  extraArgs?: string[];
}): Promise<ScalePoint> {
  const reportDir = await mkdtemp(join(tmpdir(), 'nmia-bench-scale-'));
  const probeFile = join(reportDir, 'rss.json');
  const loadBefore = loadAverage();
  try {
    const args = [
      '--import',
      PROBE,
      'bin/nmia-drill.js',
      // The corrected runbook: the given one's backup stops at ./backups, which a checkout of NMIA lacks.
      '--runbook',
      'fixtures/runbooks/backup-restore.corrected.md',
      '--only',
      'full-backup,restore-custom',
      '--isolation',
      'order',
      '--stack',
      'emulated',
      '--scale',
      String(options.scale),
      '--seed',
      String(options.seed),
      '--report-dir',
      reportDir,
      '--quiet',
      ...(options.extraArgs ?? []),
    ];
    options.log(`    node ${args.slice(args.indexOf('bin/nmia-drill.js')).join(' ')}`);
    const started = performance.now();
    const child = spawn(process.execPath, args, {
      cwd: REPO,
      env: { ...process.env, NMIA_BENCH_RSS_FILE: probeFile },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr = (stderr + chunk).slice(-4000)));
    let polledKb = 0;
    const poll = setInterval(() => (polledKb = Math.max(polledKb, child.pid ? vmHwmKb(child.pid) : 0)), 100);
    const exitCode = await new Promise<number>((resolve) => child.on('close', (code, signal) => resolve(code ?? (signal ? 128 : 1))));
    clearInterval(poll);
    const wallMs = performance.now() - started;
    if (exitCode !== 0) throw new Error(`the drill at scale ${options.scale} exited ${exitCode}: ${lastLines(stderr, 3, ' | ')}`);
    const probe = JSON.parse(await readFile(probeFile, 'utf8').catch(() => '{}')) as {
      vmHwmKb?: number;
      maxRssKb?: number;
      cpuMs?: number;
    };
    const run = readdirSync(reportDir).find((name) => name !== 'rss.json');
    const journal = JSON.parse(await readFile(join(reportDir, run ?? '', 'journal.json'), 'utf8')) as Journal;
    const proceduresMs = journal.procedures
      .filter((procedure) => procedure.mode === 'order')
      .reduce((sum, procedure) => sum + (procedure.durationMs ?? 0), 0);
    const parallelRestore = parallelRestoreTiming(journal.timing);
    return {
      scale: options.scale,
      wallMs,
      seedingMs: journal.seeding?.durationMs ?? 0,
      proceduresMs,
      peakRssMiB: Math.max(polledKb, probe.vmHwmKb ?? 0) / 1024,
      harnessCpuMs: probe.cpuMs ?? 0,
      exitCode,
      loadBefore,
      loadAfter: loadAverage(),
      ...(parallelRestore ? { parallelRestore } : {}),
    };
  } finally {
    await rm(reportDir, { recursive: true, force: true });
  }
}

export interface ModuleLoadCost {
  /** Peak RSS of `node bin/nmia-drill.js list`: the whole module graph loaded, no drill. */
  loadOnlyMiB: number;
  /**
   * The same with playwright-core and testcontainers resolved to empty stand-ins: a check that they are
   * imported lazily (src/stacks/stack-factory.ts, src/probes/headless-chromium.ts). About equal to
   * loadOnlyMiB while that holds; a static import of either shows as the difference.
   */
  loadOnlyWithoutUnusedMiB: number;
  /** A plain `node -e 0`, for scale. */
  bareNodeMiB: number;
}

async function peakOf(args: string[]): Promise<number> {
  const dir = await mkdtemp(join(tmpdir(), 'nmia-bench-rss-'));
  try {
    const file = join(dir, 'rss.json');
    const child = spawn(process.execPath, ['--import', PROBE, ...args], {
      cwd: REPO,
      env: { ...process.env, NMIA_BENCH_RSS_FILE: file },
      stdio: 'ignore',
    });
    const code = await new Promise<number>((resolve) => child.on('close', (exit) => resolve(exit ?? 1)));
    if (code !== 0) throw new Error(`node ${args.join(' ')} exited ${code}`);
    return (JSON.parse(await readFile(file, 'utf8')) as { vmHwmKb: number }).vmHwmKb / 1024;
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

/** What loading the harness's code costs in RSS before any drill work, and whether the libraries an emulated drill never calls stay unloaded. */
export async function measureModuleLoad(): Promise<ModuleLoadCost> {
  return {
    loadOnlyMiB: await peakOf(['bin/nmia-drill.js', 'list']),
    loadOnlyWithoutUnusedMiB: await peakOf(['--import', WITHOUT_UNUSED, 'bin/nmia-drill.js', 'list']),
    bareNodeMiB: await peakOf(['-e', '0']),
  };
}
