/**
 * nmia-drill benchmarks (not tests): `npm run bench [-- --scale N] [--with-10m]`.
 * Runs the five benchmarks of bench/RESULTS.md in one run, prints their ratios side by side with the
 * machine's core count and PostgreSQL version, and writes the results file.
 */
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { parseAppSource } from '../src/app/app-source.ts';
import { DrillError } from '../src/errors/drill-error.ts';
import { cleanupRegistry } from '../src/lifecycle/cleanup-registry.ts';
import { LocalPostgresProvider } from '../src/postgres/local-postgres-provider.ts';
import { consoleSummary, renderResults, type BenchRun } from './bench-report.ts';
import { runDrillBench } from './drill-bench.ts';
import { loadAverage, machineFacts } from './machine-facts.ts';
import { QuietGate } from './quiet-gate.ts';
import { runRealAppBench } from './real-app-bench.ts';
import { mergeRecords, type RealAppRecord, renderRealAppSection, spliceSection } from './real-app-report.ts';
import { benchRestoreLevers, leverJobs } from './restore-levers-bench.ts';
import { benchCompleteness } from './completeness-bench.ts';
import { measureModuleLoad, runCliDrill } from './scale-bench.ts';
import { benchSeeding, benchVerificationCost } from './seeding-bench.ts';

const BENCH_DIR = fileURLToPath(new URL('.', import.meta.url));
const BENCHES = ['drill', 'seeding', 'scale', 'levers', 'real-app', 'completeness'] as const;
/** The latest real-app run per scale (committed: the section in RESULTS.md is rendered from it). */
const REAL_APP_RESULTS = join(BENCH_DIR, 'real-app-results.json');
type Bench = (typeof BENCHES)[number];

const USAGE = `usage: npm run bench -- [options]

  --scale <n>       identities for the largest run (default 100000); 1000000 gives the full table
  --with-10m        add a 10,000,000-identity point to the scale curve (slow: tens of minutes)
  --seed <n>        seed for every generated row (default 42)
  --rounds <n>      repetitions of the short measurements: manifest vs pg_dump, -j 1 vs -j N (default 3)
  --drill-rounds <n>  rounds of drill + baselines in one environment (default 3 up to 100k, 2 above;
                    real-app: 2 up to 100k, 1 above)
  --only <list>     run some benchmarks: drill (1, 2), seeding (3), scale (4), levers (5: on the section 3
                    dump, then a CLI drill with --parallel-restore-hint), real-app (price of proof on the
                    real NMIA, needs --app), completeness (6: each backup's completeness proof against its
                    own time); comma-separated
  --app <repo>      the real NMIA repository (path, bundle or git URL[#ref]): adds real-app, the drill on its
                    own compose stack at --scale against the operator's raw docker compose exec commands;
                    only its section of the results file is rewritten when it runs alone
  --out <file>      where to write the results (default bench/RESULTS.md)
  --render <json>   write the results file again from a saved run (bench/out/run-<scale>.json); runs nothing;
                    with bench/real-app-results.json, only the real-app section
  --max-wait-s <n>  before each measurement, wait up to n seconds for other work on the machine to stop
                    (default 60; 0 measures at once)
  --wait-budget-s <n>  all those waits together (default 300)
  -h, --help`;

function positiveInteger(name: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const parsed = Number(value.replace(/_/g, ''));
  if (!Number.isInteger(parsed) || parsed < 1) throw new DrillError(`--${name} must be a positive integer, got ${value}`, { fix: USAGE });
  return parsed;
}

function log(line: string): void {
  process.stderr.write(`[${new Date().toISOString().slice(11, 19)}] ${line}\n`);
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      scale: { type: 'string' },
      'with-10m': { type: 'boolean', default: false },
      seed: { type: 'string' },
      rounds: { type: 'string' },
      'drill-rounds': { type: 'string' },
      only: { type: 'string' },
      out: { type: 'string' },
      'max-wait-s': { type: 'string' },
      'wait-budget-s': { type: 'string' },
      render: { type: 'string' },
      app: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(`${USAGE}\n`);
    return 0;
  }
  const scale = positiveInteger('scale', values.scale, 100_000);
  const seed = positiveInteger('seed', values.seed, 42);
  const rounds = positiveInteger('rounds', values.rounds, 3);
  const with10m = values['with-10m'] ?? false;
  const only = (values.only
    ?.split(',')
    .map((item) => item.trim())
    .filter(Boolean) ?? BENCHES.filter((bench) => bench !== 'real-app' || values.app !== undefined)) as Bench[];
  const unknown = only.filter((item) => !(BENCHES as readonly string[]).includes(item));
  if (unknown.length > 0) throw new DrillError(`unknown benchmark ${unknown.join(', ')}`, { fix: `use some of: ${BENCHES.join(', ')}` });
  if (only.includes('real-app') && !values.app)
    throw new DrillError('--only real-app needs the NMIA repository', {
      fix: 'add --app <path | bundle | git URL>, e.g. --app ../shared/nmia/nmia.bundle',
    });
  const app = only.includes('real-app') ? parseAppSource(values.app) : undefined;
  const out = resolve(values.out ?? join(BENCH_DIR, 'RESULTS.md'));
  if (values.render) {
    const parsed = JSON.parse(await readFile(resolve(values.render), 'utf8')) as BenchRun | RealAppRecord[];
    if (Array.isArray(parsed)) {
      // bench/real-app-results.json: only the real-app section is written again.
      await writeFile(out, spliceSection(await readFile(out, 'utf8'), renderRealAppSection(parsed)));
      process.stdout.write(`wrote the real-app section of ${relative(process.cwd(), out)} from ${values.render}\n`);
      return 0;
    }
    const saved = parsed;
    saved.renderedAgainAt = new Date().toISOString();
    await writeFile(out, renderResults(saved));
    process.stdout.write(`${consoleSummary(saved)}\n\nwrote ${relative(process.cwd(), out)} from ${values.render}\n`);
    return 0;
  }
  const maxWaitS = values['max-wait-s'] === '0' ? 0 : positiveInteger('max-wait-s', values['max-wait-s'], 60);
  const waitBudgetS = positiveInteger('wait-budget-s', values['wait-budget-s'], 300);
  const gate = new QuietGate(maxWaitS * 1000, waitBudgetS * 1000, log);

  const facts = machineFacts();
  const command = `npm run bench -- ${process.argv.slice(2).join(' ')}`.trim().replace(/ --$/, '');
  log(
    `cores ${facts.cores}, PostgreSQL ${facts.postgres}, node ${facts.node}; scale ${scale}${with10m ? ' (+10M)' : ''}; load ${loadAverage()}`,
  );
  const run: BenchRun = {
    startedAt: new Date().toISOString(),
    finishedAt: '',
    command,
    facts,
    options: { scale, seed, with10m, rounds, maxWaitS, waitBudgetS },
    drills: [],
    curve: [],
    waits: gate.waits,
  };

  // 3 and 5 share one local cluster: seeded once, dumped, then restored with -j 1 and -j N.
  if (only.includes('seeding') || only.includes('levers')) {
    log(`3: seeding ${scale} identities on a fresh local cluster`);
    const server = await new LocalPostgresProvider().start();
    const dir = await mkdtemp(join(tmpdir(), 'nmia-bench-'));
    const removeDir = cleanupRegistry.register(`bench temp dir ${dir}`, () => rm(dir, { recursive: true, force: true }));
    try {
      await gate.pass('seeding');
      const seeding = await benchSeeding(server, { scale, seed });
      if (only.includes('seeding')) run.seeding = seeding;
      log(`3: manifest vs pg_dump -Fc, ${rounds} rounds`);
      await gate.pass('manifest vs pg_dump');
      const verification = await benchVerificationCost(server, { rounds, dir });
      if (only.includes('seeding')) run.verification = verification;
      if (only.includes('levers')) {
        log(`5: pg_restore -j 1 vs -j N, ${rounds} rounds`);
        await gate.pass('pg_restore -j 1 vs -j N');
        run.levers = await benchRestoreLevers(server, { dump: verification.dumpPath, rounds });
      }
    } finally {
      await server.stop();
      await removeDir.run();
    }
  }

  if (only.includes('drill')) {
    // Overhead's goal is at 100k and at 1M; price of proof's at 1M.
    const scales = scale >= 1_000_000 ? [100_000, scale] : [scale];
    for (const drillScale of scales) {
      log(`1, 2: drill + baselines at ${drillScale} identities`);
      const drillRounds = positiveInteger('drill-rounds', values['drill-rounds'], drillScale <= 100_000 ? 3 : 2);
      run.drills.push(await runDrillBench({ scale: drillScale, seed, rounds: drillRounds, log, gate }));
    }
  }

  if (only.includes('scale')) {
    const points = [
      ...new Set([10_000, 100_000, 1_000_000].filter((point) => point <= scale).concat(scale, with10m ? [10_000_000] : [])),
    ].sort((a, b) => a - b);
    for (const point of points) {
      log(`4: CLI drill at ${point} identities`);
      await gate.pass(`the CLI drill at ${point}`);
      run.curve.push(await runCliDrill({ scale: point, seed, log }));
    }
    // What the RSS is made of before any work, and a check that the libraries this drill never calls stay unloaded.
    log('4: module load cost (with and without playwright-core and testcontainers)');
    run.moduleLoad = await measureModuleLoad();
  }

  if (only.includes('levers')) {
    // 5 inside a drill: the hint as an operator gets it, measured once on the drill's own dump.
    const leverScale = Math.min(scale, 1_000_000);
    log(`5: CLI drill at ${leverScale} identities with --parallel-restore-hint`);
    await gate.pass(`the CLI drill with --parallel-restore-hint at ${leverScale}`);
    run.leverDrill = await runCliDrill({ scale: leverScale, seed, log, extraArgs: ['--parallel-restore-hint', String(leverJobs())] });
  }

  if (only.includes('completeness')) {
    // 6: the goal is at 1M; a 100k point beside it shows how the ratio moves with scale.
    const scales = scale >= 1_000_000 ? [100_000, scale] : [scale];
    run.completeness = [];
    for (const point of scales) {
      log(`6: completeness proof of full-backup and sql-backup at ${point} identities`);
      run.completeness.push(await benchCompleteness({ scale: point, seed, rounds: point <= 100_000 ? rounds : 1, log, gate }));
    }
  }

  const realApp: RealAppRecord[] = [];
  if (app) {
    log(`real app: drill + raw baseline at ${scale} identities on the compose stack`);
    const waitsFrom = gate.waits.length;
    const loadAtStart = loadavg().map((value) => Math.round(value * 100) / 100);
    const result = await runRealAppBench({
      app,
      scale,
      seed,
      // On a loaded 2-core machine one round at 1M took about 40 min (drill + raw): one round above 100k.
      rounds: positiveInteger('drill-rounds', values['drill-rounds'], scale <= 100_000 ? 2 : 1),
      log,
      gate,
    });
    realApp.push({
      command,
      facts,
      result,
      loadAtStart,
      loadAtEnd: loadavg().map((value) => Math.round(value * 100) / 100),
      waits: gate.waits.slice(waitsFrom),
    });
    process.stdout.write(
      `real NMIA at ${scale}: drill ${(result.drillMs / 1000).toFixed(2)} s, raw ${(result.rawMs / 1000).toFixed(2)} s, drill ÷ raw ${result.proofRatio.toFixed(2)}\n`,
    );
  }

  run.finishedAt = new Date().toISOString();
  if (realApp.length > 0) {
    const saved = existsSync(REAL_APP_RESULTS) ? (JSON.parse(await readFile(REAL_APP_RESULTS, 'utf8')) as RealAppRecord[]) : [];
    const records = mergeRecords(saved, realApp);
    await writeFile(REAL_APP_RESULTS, `${JSON.stringify(records, null, 1)}\n`);
    const section = renderRealAppSection(records);
    // Alone, it rewrites only its own section; with the other benchmarks, the whole file and then its section.
    const base = only.length > 1 ? renderResults(run) : existsSync(out) ? await readFile(out, 'utf8') : '# nmia-drill benchmarks\n';
    await writeFile(out, spliceSection(base, section));
    if (only.length === 1) {
      process.stdout.write(
        `\nwrote the real-app section of ${relative(process.cwd(), out)} (numbers: ${relative(process.cwd(), REAL_APP_RESULTS)})\n`,
      );
      return 0;
    }
  } else {
    await writeFile(out, renderResults(run));
  }
  // The raw numbers, for re-rendering or comparing runs (bench/out/ is not committed).
  const json = join(BENCH_DIR, 'out', `run-${scale}.json`);
  await mkdir(join(BENCH_DIR, 'out'), { recursive: true });
  await writeFile(json, `${JSON.stringify(run, null, 1)}\n`);
  process.stdout.write(`${consoleSummary(run)}\n\nwrote ${relative(process.cwd(), out)} (numbers: ${relative(process.cwd(), json)})\n`);
  return 0;
}

let stopping = false;
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return;
    stopping = true;
    process.stderr.write(`\n${signal}: stopping the bench and removing every cluster and temp dir…\n`);
    void cleanupRegistry.runAll().finally(() => process.exit(130));
  });
}

main().then(
  (code) => process.exit(code),
  async (error: unknown) => {
    await cleanupRegistry.runAll();
    if (error instanceof DrillError) process.stderr.write(`${error.toOperatorText()}\n`);
    else process.stderr.write(`error: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(error instanceof DrillError ? error.exitCode : 1);
  },
);
