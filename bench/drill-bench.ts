import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROCEDURES } from '../runbook/registry.ts';
import { DEFAULT_RPO_TARGET_MS, DEFAULT_RTO_TARGET_MS } from '../src/drill/drill-options.ts';
import { DrillRunner } from '../src/drill/drill-runner.ts';
import type { EnvironmentState } from '../src/drill/drill-state.ts';
import type { Procedure } from '../src/drill/procedure.ts';
import type { ProcedureContext } from '../src/drill/procedure-context.ts';
import type { Journal, ProcedureRecord } from '../src/evidence/journal.ts';
import { takeManifest, type Manifest } from '../src/verify/manifest.ts';
import { DrillTimeline, type TimelineEvent } from './drill-timeline.ts';
import { loadAverage } from './machine-facts.ts';
import { captureManifestSql } from './manifest-sql.ts';
import { latestRecord, rawScript, replayScript, STEP } from './replay-script.ts';
import type { QuietGate } from './quiet-gate.ts';
import { median } from './stats.ts';
import { runTimedBashScript, type ScriptTiming } from './timed-bash-script.ts';

// The corrected runbook: the given one's backup stops at ./backups, which a checkout of NMIA lacks.
const RUNBOOK = fileURLToPath(new URL('../fixtures/runbooks/backup-restore.corrected.md', import.meta.url));
const BASELINE_ID = 'bench-baselines';
const SETTLE_ID = 'bench-settle';
const HOOKS = ['prepare', 'bindings', 'disaster', 'beforeBlocks', 'verify'] as const;
const DRILLED = ['full-backup', 'restore-custom'];
const EXEC_PROBE_SAMPLES = 5;

export interface BreakdownRow {
  step: string;
  drillMs?: number;
  replayMs?: number;
}

/** One round: the two procedures as the drill runs them, then both baselines in the same environment. */
export interface DrillRound {
  /** full-backup start → restore-custom end: what the drill costs beyond its environment. */
  drillMs: number;
  /** CPU time of this (the harness's) process over the same window. */
  harnessCpuMs: number;
  raw: ScriptTiming;
  replay: ScriptTiming;
  breakdown: BreakdownRow[];
  /** The replay restored exactly the content the drill restored (every table the app does not write). */
  replayMatches: boolean;
  /**
   * The damage check before restore-custom compared full-backup's own "just after the blocks" manifest
   * (observed: EnvironmentState.stateAfterLastProcedure was that manifest when restore-custom started)
   * rather than taking a fresh one. Absent in runs saved before the drill could reuse it.
   */
  damageCheckReusedManifest?: boolean;
  /** Median wall time of a trivial `docker compose exec db psql -c 'SELECT 1'` and of the same psql run directly. */
  execProbe: { dockerExecMs: number; directMs: number; samples: number };
  loadBefore: number;
  loadAfter: number;
}

export interface DrillBenchResult {
  scale: number;
  seedingMs: number;
  seededRows: number;
  /** Drill start until the first procedure starts: stack, seeding, app services, baseline manifest. */
  environmentMs: number;
  /** The same span by the drill's own progress steps (each step until the next). */
  environment: Array<{ phase: string; ms: number }>;
  /** The last baseline's end → DrillRunner.run() resolved: stack teardown and evidence. */
  teardownMs: number;
  rounds: DrillRound[];
  /** Medians over the rounds; the ratios are medians of each round's own ratio. */
  drillMs: number;
  rawMs: number;
  replayMs: number;
  proofRatio: number;
  overheadRatio: number;
  /** Per-step medians over the rounds. */
  breakdown: BreakdownRow[];
  manifestStatements: number;
  dumpBytes: number;
}

/** What the bench observes of the procedures it wraps, per round (overwritten by the next round). */
export interface Observed {
  /** `<id>.<hook>` → wall time of that hook. */
  hooks: Map<string, number>;
  /** Procedure id → index of its first harness action recorded by its verify hook (after the blocks). */
  verifyActionsFrom: Map<string, number>;
  /** full-backup's environment and its "just after the blocks" manifest, to see what the damage check used. */
  backup?: { environment: EnvironmentState; after: Manifest | undefined };
  /** Whether the damage check before the latest restore-custom reused that manifest. */
  damageCheckReused?: boolean;
}

export function timed(procedure: Procedure, observed: Observed): Procedure {
  const wrapped: Record<string, unknown> = { ...procedure };
  for (const hook of HOOKS) {
    const original = procedure[hook] as ((context: ProcedureContext) => unknown) | undefined;
    if (!original) continue;
    wrapped[hook] = async (context: ProcedureContext) => {
      if (hook === 'verify') observed.verifyActionsFrom.set(procedure.id, context.evidence.harnessActions.length);
      if (hook === 'verify' && procedure.id === 'full-backup')
        observed.backup = { environment: context.environment, after: (await context.backupWindow())?.after };
      const started = performance.now();
      try {
        return await original.call(procedure, context);
      } finally {
        observed.hooks.set(`${procedure.id}.${hook}`, performance.now() - started);
      }
    };
  }
  return wrapped as unknown as Procedure;
}

function pgEnv(context: ProcedureContext): Record<string, string> {
  const config = context.stack.dbClientConfig('nmia');
  const binaries = context.stack.binaries;
  return {
    PGHOST: String(config.host),
    PGPORT: String(config.port),
    PGUSER: String(config.user),
    ...(config.password ? { PGPASSWORD: String(config.password) } : {}),
    PSQL: binaries.path('psql'),
    PG_DUMP: binaries.path('pg_dump'),
    PG_RESTORE: binaries.path('pg_restore'),
    DROPDB: binaries.path('dropdb'),
    CREATEDB: binaries.path('createdb'),
  };
}

function sameContent(expected: Manifest, actual: Manifest): boolean {
  return Object.entries(expected.tables).every(
    ([table, entry]) => actual.tables[table]?.hash === entry.hash && actual.tables[table]?.rows === entry.rows,
  );
}

/** What one `docker compose exec` costs beyond the command itself, on this stack. */
async function execProbe(context: ProcedureContext, env: Record<string, string>): Promise<DrillRound['execProbe']> {
  const body = Array.from({ length: EXEC_PROBE_SAMPLES }, (_, index) =>
    [
      `step 'docker ${index}'`,
      `docker compose exec -T db psql -U nmia -X -q -c 'SELECT 1' > /dev/null`,
      `step 'direct ${index}'`,
      `"$PSQL" -X -q -d nmia -c 'SELECT 1' > /dev/null`,
    ].join('\n'),
  ).join('\n');
  const { steps } = await runTimedBashScript(body, { cwd: context.projectDir, env });
  const of = (prefix: string) => median(steps.filter((step) => step.name.startsWith(prefix)).map((step) => step.ms));
  return { dockerExecMs: of('docker '), directMs: of('direct '), samples: EXEC_PROBE_SAMPLES };
}

export function lastEvent(events: readonly TimelineEvent[], kind: TimelineEvent['kind'], label: string): TimelineEvent {
  const found = events.findLast((event) => event.kind === kind && event.label === label);
  if (!found) throw new Error(`the drill never reported ${kind} ${label}`);
  return found;
}

function add(rows: Map<string, BreakdownRow>, step: string, side: 'drillMs' | 'replayMs', ms: number): void {
  const row = rows.get(step) ?? { step };
  row[side] = (row[side] ?? 0) + ms;
  rows.set(step, row);
}

/** The round's drill time, step by step, next to the replay's same steps; what neither explains is orchestration. */
export function breakdown(
  journal: Journal,
  observed: Observed,
  damageCheckMs: number,
  drillMs: number,
  replay: ScriptTiming,
): BreakdownRow[] {
  const rows = new Map<string, BreakdownRow>();
  const verifyFrom = (procedure: ProcedureRecord) => observed.verifyActionsFrom.get(procedure.id) ?? procedure.harnessActions.length;
  // A verify hook's own time, without the harness actions it recorded (those have rows of their own).
  const verifyMs = (procedure: ProcedureRecord) =>
    (observed.hooks.get(`${procedure.id}.verify`) ?? 0) -
    procedure.harnessActions.slice(verifyFrom(procedure)).reduce((sum, action) => sum + action.durationMs, 0);
  const manifestMs = (label: string) => (journal.manifests[label] as Manifest | undefined)?.durationMs ?? 0;
  const blockOverhead = (procedure: ProcedureRecord) =>
    procedure.blocks.reduce(
      (sum, block) => sum + block.durationMs - block.commands.reduce((inner, command) => inner + command.durationMs, 0),
      0,
    );
  // Harness actions before the blocks (prepare, disaster) or those of the verify hook, in drill order.
  const actions = (procedure: ProcedureRecord, part: 'before' | 'verify') => {
    const list =
      part === 'before' ? procedure.harnessActions.slice(0, verifyFrom(procedure)) : procedure.harnessActions.slice(verifyFrom(procedure));
    for (const action of list) add(rows, STEP.harness(procedure.id, action.purpose), 'drillMs', action.durationMs);
  };
  const commands = (procedure: ProcedureRecord) => {
    for (const command of procedure.blocks.flatMap((block) => block.commands))
      add(rows, STEP.command(procedure.id, command.text), 'drillMs', command.durationMs);
  };
  const backup = latestRecord(journal, 'full-backup');
  const restore = latestRecord(journal, 'restore-custom');
  actions(backup, 'before');
  add(rows, STEP.manifestBefore(backup.id), 'drillMs', manifestMs('order/full-backup: just before the blocks'));
  commands(backup);
  const closingManifestMs = manifestMs('order/full-backup: just after the blocks');
  add(rows, STEP.manifestAfter(backup.id), 'drillMs', closingManifestMs);
  // The artifact check runs beside the closing manifest and its verify hook waits for it: only the time
  // beyond the manifest is the check's own (the replay runs them one after the other).
  add(rows, STEP.artifactCheck(backup.id), 'drillMs', Math.max(0, verifyMs(backup) - closingManifestMs));
  actions(backup, 'verify');
  add(rows, STEP.damageCheck, 'drillMs', damageCheckMs);
  actions(restore, 'before');
  commands(restore);
  add(rows, STEP.restoredManifest(restore.id), 'drillMs', verifyMs(restore));
  actions(restore, 'verify');
  add(rows, STEP.blockRunner, 'drillMs', blockOverhead(backup) + blockOverhead(restore));
  for (const step of replay.steps) add(rows, step.name, 'replayMs', step.ms);
  const attributed = (side: 'drillMs' | 'replayMs') => [...rows.values()].reduce((sum, row) => sum + (row[side] ?? 0), 0);
  const result = [...rows.values()];
  result.push({ step: STEP.unattributed, drillMs: drillMs - attributed('drillMs'), replayMs: replay.wallMs - attributed('replayMs') });
  return result;
}

/**
 * A procedure the bench appends after each round of full-backup and restore-custom: it runs both bash
 * baselines in the drill's own environment, on the database the drill just restored (same seed, same
 * server, same `docker`). Not a runbook section; it covers no block.
 */
function baselineProcedure(
  round: number,
  inputs: { scale: number; rounds: number; observed: Observed; timeline: DrillTimeline; gate: QuietGate | undefined },
  sink: (round: DrillRound, statements: number) => void,
): Procedure {
  return {
    id: `${BASELINE_ID}-${round}`,
    title: `bench: raw and replay baselines in the drill environment (round ${round})`,
    kind: 'backup',
    section: 'bench › baselines (not a runbook section)',
    blocks: [],
    // Declared a disaster, so the runner treats the baselines as it treats a restore (and pauses any RPO writes).
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

      const out = join(context.stack.workspace.harnessDir, `bench-${round}`);
      await mkdir(out, { recursive: true });
      const env = { ...context.stack.blockEnv(), ...pgEnv(context) };
      const captured = await context.withDb((client) => captureManifestSql(client));
      const manifestSqlFile = join(out, 'manifest.sql');
      await writeFile(manifestSqlFile, captured.sql);
      await inputs.gate?.pass(`the replay, round ${round}`);
      const damageCheckReused = inputs.observed.damageCheckReused === true;
      const verifyActionsFrom = Object.fromEntries(inputs.observed.verifyActionsFrom);
      const replay = await runTimedBashScript(
        replayScript({ journal, manifestSqlFile, outDir: out, damageCheckTookManifest: !damageCheckReused, verifyActionsFrom }),
        { cwd: context.projectDir, env },
      );
      const restoredByDrill = journal.manifests['order/restore-custom: restored nmia'] as Manifest;
      const afterReplay = await context.withDb((client) => takeManifest(client));
      await context.harnessDocker('bench: stop the app services so the raw dropdb finds no sessions', [
        'compose',
        'stop',
        'api',
        'worker',
        'collector',
      ]);
      await inputs.gate?.pass(`the raw commands, round ${round}`);
      const raw = await runTimedBashScript(rawScript(out), { cwd: out, env });
      const identities = await context.withDb(async (client) =>
        Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM identities')).rows[0]?.n),
      );
      if (identities !== inputs.scale) throw new Error(`the raw baseline restored ${identities} identities, expected ${inputs.scale}`);
      const probe = await execProbe(context, env);
      await context.harnessDocker('bench: start the app services again', ['compose', 'start', 'api', 'worker', 'collector']);
      // The raw dump and the replay's outputs are not needed any more; at large scales they are big.
      await rm(out, { recursive: true, force: true });
      sink(
        {
          drillMs,
          harnessCpuMs: last.cpuMs - first.cpuMs,
          raw,
          replay,
          breakdown: breakdown(journal, inputs.observed, restoreStart.at - backupEnd.at, drillMs, replay),
          replayMatches: sameContent(restoredByDrill, afterReplay),
          damageCheckReusedManifest: damageCheckReused,
          execProbe: probe,
          loadBefore,
          loadAfter: loadAverage(),
        },
        captured.statements,
      );
      context.pass(
        'intent',
        'bench baselines ran in the drill environment',
        `replay ${(replay.wallMs / 1000).toFixed(1)} s, raw ${(raw.wallMs / 1000).toFixed(1)} s`,
      );
      if (round < inputs.rounds) await inputs.gate?.pass(`drill round ${round + 1} at ${inputs.scale}`);
    },
  };
}

/** Waits for a quiet machine right before the first round; the procedures themselves are not touched. */
export function settleProcedure(scale: number, gate: QuietGate | undefined): Procedure {
  return {
    id: SETTLE_ID,
    title: 'bench: wait for a quiet machine before the first round',
    kind: 'backup',
    section: 'bench › settle (not a runbook section)',
    blocks: [],
    async verify(context) {
      await gate?.pass(`drill round 1 at ${scale}`);
      context.pass('intent', 'machine settled', 'ready');
    },
  };
}

export function medianBreakdown(rounds: ReadonlyArray<{ breakdown: BreakdownRow[] }>): BreakdownRow[] {
  const steps = [...new Set(rounds.flatMap((round) => round.breakdown.map((row) => row.step)))];
  return steps.map((step) => {
    const of = (side: 'drillMs' | 'replayMs') => {
      const values = rounds
        .map((round) => round.breakdown.find((row) => row.step === step)?.[side])
        .filter((value): value is number => value !== undefined);
      return values.length > 0 ? median(values) : undefined;
    };
    const drillMs = of('drillMs');
    const replayMs = of('replayMs');
    return { step, ...(drillMs !== undefined ? { drillMs } : {}), ...(replayMs !== undefined ? { replayMs } : {}) };
  });
}

/**
 * One in-process drill at `scale`: full-backup + restore-custom, then the raw and replay baselines in the
 * same environment, `rounds` times over (the same procedure modules listed again; round 1 is the drill
 * exactly as `--only full-backup,restore-custom --isolation order` runs it). The engine runs unchanged:
 * the bench only listens, times, and appends its baseline procedure.
 */
export async function runDrillBench(options: {
  scale: number;
  seed: number;
  rounds: number;
  log: (line: string) => void;
  gate?: QuietGate;
}): Promise<DrillBenchResult> {
  const reportRoot = await mkdtemp(join(tmpdir(), 'nmia-bench-drill-'));
  const observed: Observed = { hooks: new Map(), verifyActionsFrom: new Map() };
  // As the runner announces restore-custom, the damage check has just run and the runner has not yet
  // cleared what it compared: full-backup's own manifest, or nothing (it then took a fresh one).
  const timeline = new DrillTimeline(options.log, (id) => {
    if (id !== 'restore-custom') return;
    const backup = observed.backup;
    observed.damageCheckReused = backup?.after !== undefined && backup.environment.stateAfterLastProcedure === backup.after;
    observed.backup = undefined;
  });
  const rounds: DrillRound[] = [];
  let statements = 0;
  const drilled = PROCEDURES.filter((procedure) => DRILLED.includes(procedure.id));
  // Copies keep their ids, so the lock's coverage is unchanged and no drift is reported.
  const procedures = [
    ...PROCEDURES.filter((procedure) => !DRILLED.includes(procedure.id)),
    settleProcedure(options.scale, options.gate),
    ...Array.from({ length: options.rounds }, (_, index) => [
      ...drilled.map((procedure) => timed(procedure, observed)),
      baselineProcedure(
        index + 1,
        { scale: options.scale, rounds: options.rounds, observed, timeline, gate: options.gate },
        (round, count) => {
          rounds.push(round);
          statements = count;
        },
      ),
    ]).flat(),
  ];
  try {
    const started = performance.now();
    const { journal } = await new DrillRunner({
      runbookPath: RUNBOOK,
      allowDrift: false,
      seed: options.seed,
      scale: options.scale,
      isolation: 'order',
      only: [SETTLE_ID, ...DRILLED, ...Array.from({ length: options.rounds }, (_, index) => `${BASELINE_ID}-${index + 1}`)],
      skip: [],
      reportRoot,
      stack: 'emulated',
      rtoTargetMs: DEFAULT_RTO_TARGET_MS,
      rpoTargetMs: DEFAULT_RPO_TARGET_MS,
      attestations: [],
      procedures,
      reporter: timeline,
    }).run();
    const finished = performance.now();
    const why = unpassedProcedures(journal);
    if (why || rounds.length !== options.rounds)
      throw new Error(`the bench drill at scale ${options.scale} did not pass: ${why || journal.error || 'baselines missing'}`);
    const drillStart = timeline.event('procedure-start', 'full-backup').at;
    const drillBegin = timeline.event('drill-start', 'drill').at;
    const marks = [
      { phase: 'drill start: runbook, lock and drift check, stack selection', at: drillBegin },
      ...timeline.events
        .filter((event) => event.kind === 'step' && event.at < drillStart)
        .map((event) => ({ phase: event.label, at: event.at })),
    ];
    const environment = marks.map((mark, index) => ({ phase: mark.phase, ms: (marks[index + 1]?.at ?? drillStart) - mark.at }));
    const dump = latestRecord(journal, 'full-backup').artifacts[0];
    return {
      scale: options.scale,
      seedingMs: journal.seeding?.durationMs ?? 0,
      seededRows: Object.values(journal.seeding?.rows ?? {}).reduce((sum, rows) => sum + rows, 0),
      environmentMs: drillStart - drillBegin,
      environment,
      teardownMs: finished - lastEvent(timeline.events, 'procedure-end', `${BASELINE_ID}-${options.rounds}`).at,
      rounds,
      drillMs: median(rounds.map((round) => round.drillMs)),
      rawMs: median(rounds.map((round) => round.raw.wallMs)),
      replayMs: median(rounds.map((round) => round.replay.wallMs)),
      proofRatio: median(rounds.map((round) => round.drillMs / round.raw.wallMs)),
      overheadRatio: median(rounds.map((round) => round.drillMs / round.replay.wallMs)),
      breakdown: medianBreakdown(rounds),
      manifestStatements: statements,
      dumpBytes: dump?.bytes ?? 0,
    };
  } finally {
    await rm(reportRoot, { recursive: true, force: true });
  }
}

/** The bench's drill procedures that did not pass, each with its reason or failed checks; empty when all passed. */
export function unpassedProcedures(journal: Journal): string {
  return journal.procedures
    .filter((procedure) => procedure.outcome !== 'passed' && !procedure.id.startsWith('pending:'))
    .map(
      (procedure) =>
        `${procedure.id}: ${procedure.outcome} (${
          procedure.reason ??
          procedure.rungs
            .filter((rung) => rung.outcome === 'failed')
            .map((rung) => rung.summary)
            .join('; ')
        })`,
    )
    .join(', ');
}
