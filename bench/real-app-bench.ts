import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROCEDURES } from '../runbook/registry.ts';
import type { AppSource } from '../src/app/app-source.ts';
import { DEFAULT_RPO_TARGET_MS, DEFAULT_RTO_TARGET_MS } from '../src/drill/drill-options.ts';
import { DrillRunner } from '../src/drill/drill-runner.ts';
import type { Procedure } from '../src/drill/procedure.ts';
import type { ProcedureContext } from '../src/drill/procedure-context.ts';
import {
  type BreakdownRow,
  breakdown,
  lastEvent,
  medianBreakdown,
  type Observed,
  settleProcedure,
  timed,
  unpassedProcedures,
} from './drill-bench.ts';
import { DrillTimeline } from './drill-timeline.ts';
import { loadAverage } from './machine-facts.ts';
import type { QuietGate } from './quiet-gate.ts';
import { COMPOSE_RAW_DUMP, composeRawScript, latestRecord } from './replay-script.ts';
import { median } from './stats.ts';
import { runTimedBashScript, type ScriptTiming } from './timed-bash-script.ts';

/** The runbook as given fails full-backup on the real app (no ./backups); the corrected copy passes on both apps. */
export const REAL_APP_RUNBOOK = fileURLToPath(new URL('../fixtures/runbooks/backup-restore.corrected.md', import.meta.url));
const BASELINE_ID = 'bench-real-app-raw';
const DRILLED = ['full-backup', 'restore-custom'];
/** The services that hold database sessions; the runbook's restore stops the same ones (the ui talks only to the api). */
const APP_SERVICES = ['api', 'worker', 'collector'];
const EXEC_PROBE_SAMPLES = 3;
const NO_REPLAY: ScriptTiming = { wallMs: 0, steps: [], script: '' };

export interface RealAppRound {
  /** full-backup start → restore-custom end. */
  drillMs: number;
  harnessCpuMs: number;
  /** The operator's raw commands through `docker compose exec db …` on the same stack and database. */
  raw: ScriptTiming;
  /** The drill's time by step (no replay column: only the raw baseline runs on the real app). */
  breakdown: BreakdownRow[];
  /**
   * Median wall time of `docker compose exec -T db psql -c 'SELECT 1'` through the blocks' docker (the
   * drill's ownership guard), through the real docker CLI, and of the harness's own psql (the db image's
   * client in its helper container, `docker exec`).
   */
  execProbe: { guardedMs: number; realMs: number; harnessPsqlMs: number; samples: number };
  loadBefore: number;
  loadAfter: number;
}

export interface RealAppBenchResult {
  scale: number;
  runbook: string;
  app: { source: string; commit: string; serverVersion: string; substitutions: string[] };
  seedingMs: number;
  seededRows: number;
  environmentMs: number;
  environment: Array<{ phase: string; ms: number }>;
  /** null in a record salvaged from a run that never reached its teardown (the saved JSON's NaN). */
  teardownMs: number;
  rounds: RealAppRound[];
  drillMs: number;
  rawMs: number;
  /** Median of each round's own drill ÷ raw. */
  proofRatio: number;
  breakdown: BreakdownRow[];
  dumpBytes: number;
  startedAt: string;
  finishedAt: string;
}

/** The blocks' environment with the real docker CLI first on PATH: what an operator's shell has. */
function operatorEnv(context: ProcedureContext): Record<string, string> {
  const env: Record<string, string> = { ...context.stack.blockEnv(), PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin' };
  delete env.NMIA_DRILL_GUARD;
  return env;
}

async function execProbe(context: ProcedureContext, operator: Record<string, string>): Promise<RealAppRound['execProbe']> {
  const config = context.stack.dbClientConfig('nmia');
  const env = {
    ...context.stack.blockEnv(),
    OPERATOR_PATH: operator.PATH ?? '',
    PSQL: context.stack.binaries.path('psql'),
    PGHOST: String(config.host),
    PGPORT: String(config.port),
    PGUSER: String(config.user),
    ...(config.password ? { PGPASSWORD: String(config.password) } : {}),
  };
  const body = Array.from({ length: EXEC_PROBE_SAMPLES }, (_, index) =>
    [
      `step 'guarded ${index}'`,
      `docker compose exec -T db psql -U nmia -X -q -c 'SELECT 1' > /dev/null`,
      `step 'real ${index}'`,
      `PATH="$OPERATOR_PATH" docker compose exec -T db psql -U nmia -X -q -c 'SELECT 1' > /dev/null`,
      `step 'harness ${index}'`,
      `"$PSQL" -X -q -d nmia -c 'SELECT 1' > /dev/null`,
    ].join('\n'),
  ).join('\n');
  const { steps } = await runTimedBashScript(body, { cwd: context.projectDir, env });
  const of = (prefix: string) => median(steps.filter((step) => step.name.startsWith(prefix)).map((step) => step.ms));
  return { guardedMs: of('guarded '), realMs: of('real '), harnessPsqlMs: of('harness '), samples: EXEC_PROBE_SAMPLES };
}

/** After each round: the operator's raw commands on the database the drill just restored, on the same compose stack. */
function rawProcedure(
  round: number,
  inputs: {
    scale: number;
    rounds: number;
    observed: Observed;
    timeline: DrillTimeline;
    gate: QuietGate | undefined;
    /** The db server's version, read while it runs (the journal's is read after teardown in some paths). */
    server: { version?: string | undefined };
  },
  sink: (round: RealAppRound) => void,
): Procedure {
  return {
    id: `${BASELINE_ID}-${round}`,
    title: `bench: the operator's raw commands on the real app's stack (round ${round})`,
    kind: 'backup',
    section: 'bench › raw baseline (not a runbook section)',
    blocks: [],
    // Declared a disaster, so the runner treats the baseline as it treats a restore (and pauses any RPO writes).
    async disaster() {},
    async verify(context) {
      const { journal } = context.drill;
      const events = inputs.timeline.events;
      const first = lastEvent(events, 'procedure-start', 'full-backup');
      const backupEnd = lastEvent(events, 'procedure-end', 'full-backup');
      const restoreStart = lastEvent(events, 'procedure-start', 'restore-custom');
      const last = lastEvent(events, 'procedure-end', 'restore-custom');
      const drillMs = last.at - first.at;
      const loadBefore = loadAverage();
      const env = operatorEnv(context);
      // Untimed, as in section 1: dropdb must find no sessions.
      await context.harnessDocker('bench: stop the app services so the raw dropdb finds no sessions', ['compose', 'stop', ...APP_SERVICES]);
      await inputs.gate?.pass(`the raw commands, round ${round}`);
      const raw = await runTimedBashScript(composeRawScript(), { cwd: context.projectDir, env });
      const identities = await context.withDb(async (client) =>
        Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM identities')).rows[0]?.n),
      );
      inputs.server.version ??= await context.withDb(
        async (client) => (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]?.v,
      );
      if (identities !== inputs.scale) throw new Error(`the raw baseline restored ${identities} identities, expected ${inputs.scale}`);
      await context.harnessDocker('bench: remove the raw dump from the db container', [
        'compose',
        'exec',
        '-T',
        'db',
        'rm',
        '-f',
        COMPOSE_RAW_DUMP,
      ]);
      const probe = await execProbe(context, env);
      await context.harnessDocker('bench: start the app services again', ['compose', 'start', ...APP_SERVICES]);
      sink({
        drillMs,
        harnessCpuMs: last.cpuMs - first.cpuMs,
        raw,
        breakdown: breakdown(journal, inputs.observed, restoreStart.at - backupEnd.at, drillMs, NO_REPLAY).map(({ step, drillMs: ms }) => ({
          step,
          ...(ms !== undefined ? { drillMs: ms } : {}),
        })),
        execProbe: probe,
        loadBefore,
        loadAfter: loadAverage(),
      });
      context.pass(
        'intent',
        'raw baseline ran on the drill stack',
        `raw ${(raw.wallMs / 1000).toFixed(1)} s, drill ${(drillMs / 1000).toFixed(1)} s`,
      );
      if (round < inputs.rounds) await inputs.gate?.pass(`drill round ${round + 1} at ${inputs.scale}`);
    },
  };
}

/**
 * The drill of full-backup + restore-custom on the real NMIA's own compose stack (its repository, its
 * docker-compose.yml, the db image's PostgreSQL 17), in process and unchanged, `rounds` times; after
 * each round the operator's raw commands run on the same stack. The compose lock is taken by the stack.
 */
export async function runRealAppBench(options: {
  app: AppSource;
  scale: number;
  seed: number;
  rounds: number;
  log: (line: string) => void;
  gate?: QuietGate;
  runbookPath?: string;
}): Promise<RealAppBenchResult> {
  const startedAt = new Date().toISOString();
  const runbookPath = options.runbookPath ?? REAL_APP_RUNBOOK;
  const reportRoot = await mkdtemp(join(tmpdir(), 'nmia-bench-real-app-'));
  const observed: Observed = { hooks: new Map(), verifyActionsFrom: new Map() };
  const timeline = new DrillTimeline(options.log);
  const rounds: RealAppRound[] = [];
  const server: { version?: string | undefined } = {};
  const drilled = PROCEDURES.filter((procedure) => DRILLED.includes(procedure.id));
  const settle = settleProcedure(options.scale, options.gate);
  const procedures = [
    ...PROCEDURES.filter((procedure) => !DRILLED.includes(procedure.id)),
    settle,
    ...Array.from({ length: options.rounds }, (_, index) => [
      ...drilled.map((procedure) => timed(procedure, observed)),
      rawProcedure(index + 1, { scale: options.scale, rounds: options.rounds, observed, timeline, gate: options.gate, server }, (round) =>
        rounds.push(round),
      ),
    ]).flat(),
  ];
  try {
    const { journal } = await new DrillRunner({
      runbookPath,
      allowDrift: false,
      seed: options.seed,
      scale: options.scale,
      isolation: 'order',
      only: [settle.id, ...DRILLED, ...Array.from({ length: options.rounds }, (_, index) => `${BASELINE_ID}-${index + 1}`)],
      skip: [],
      reportRoot,
      stack: 'compose',
      app: options.app,
      rtoTargetMs: DEFAULT_RTO_TARGET_MS,
      rpoTargetMs: DEFAULT_RPO_TARGET_MS,
      attestations: [],
      procedures,
      reporter: timeline,
    }).run();
    const finished = performance.now();
    const why = unpassedProcedures(journal);
    if (why || rounds.length !== options.rounds)
      throw new Error(`the real-app bench drill at scale ${options.scale} did not pass: ${why || journal.error || 'baselines missing'}`);
    const drillStart = timeline.event('procedure-start', 'full-backup').at;
    const drillBegin = timeline.event('drill-start', 'drill').at;
    const marks = [
      { phase: 'drill start: runbook, lock and drift check, stack selection', at: drillBegin },
      ...timeline.events
        .filter((event) => event.kind === 'step' && event.at < drillStart)
        .map((event) => ({ phase: event.label, at: event.at })),
    ];
    const app = journal.app;
    return {
      scale: options.scale,
      runbook: runbookPath,
      app: {
        source: app?.source ?? 'unknown',
        commit: app?.commit ?? 'unknown',
        serverVersion: server.version ?? app?.serverVersion ?? 'unknown',
        substitutions: (app?.substitutions ?? []).map((item) => `${item.what}: ${item.written} → ${item.used}`),
      },
      seedingMs: journal.seeding?.durationMs ?? 0,
      seededRows: Object.values(journal.seeding?.rows ?? {}).reduce((sum, rows) => sum + rows, 0),
      environmentMs: drillStart - drillBegin,
      environment: marks.map((mark, index) => ({ phase: mark.phase, ms: (marks[index + 1]?.at ?? drillStart) - mark.at })),
      teardownMs: finished - lastEvent(timeline.events, 'procedure-end', `${BASELINE_ID}-${options.rounds}`).at,
      rounds,
      drillMs: median(rounds.map((round) => round.drillMs)),
      rawMs: median(rounds.map((round) => round.raw.wallMs)),
      proofRatio: median(rounds.map((round) => round.drillMs / round.raw.wallMs)),
      breakdown: medianBreakdown(rounds),
      dumpBytes: latestRecord(journal, 'full-backup').artifacts[0]?.bytes ?? 0,
      startedAt,
      finishedAt: new Date().toISOString(),
    };
  } finally {
    await rm(reportRoot, { recursive: true, force: true });
  }
}
