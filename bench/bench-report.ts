import type { CompletenessBenchResult } from './completeness-bench.ts';
import type { DrillBenchResult } from './drill-bench.ts';
import type { MachineFacts } from './machine-facts.ts';
import type { GateWait } from './quiet-gate.ts';
import type { RestoreLeversResult } from './restore-levers-bench.ts';
import { STEP } from './replay-script.ts';
import type { ModuleLoadCost, ScalePoint } from './scale-bench.ts';
import type { SeedingBenchResult, VerificationCostResult } from './seeding-bench.ts';
import { median, seconds } from './stats.ts';

export const GOALS = {
  priceOfProof: { max: 1.35, atScale: 1_000_000 },
  overhead: { max: 1.1, atScales: [100_000, 1_000_000] },
  seedingThroughput: { min: 0.7 },
  seeding1M: { maxMs: 60_000, atScale: 1_000_000 },
  manifestVsDump: { max: 0.5 },
  growthExponent: { max: 1.1 },
  peakRssMiB: { max: 250 },
  completeness: { max: 1.3, atScale: 1_000_000 },
} as const;

export interface BenchRun {
  startedAt: string;
  finishedAt: string;
  command: string;
  facts: MachineFacts;
  options: { scale: number; seed: number; with10m: boolean; rounds: number; maxWaitS: number; waitBudgetS?: number };
  seeding?: SeedingBenchResult;
  verification?: VerificationCostResult;
  levers?: RestoreLeversResult;
  drills: DrillBenchResult[];
  curve: ScalePoint[];
  moduleLoad?: ModuleLoadCost;
  /** 5 inside a drill: the CLI drill at min(--scale, 1M) with `--parallel-restore-hint N`; its journal's timing.parallelRestore. */
  leverDrill?: ScalePoint;
  /** 6: completeness proof ÷ the backup blocks' own time, per backup procedure. */
  completeness?: CompletenessBenchResult[];
  waits: GateWait[];
  /** Set when the text was rendered again from the saved numbers (`--render`). */
  renderedAgainAt?: string;
}

type Verdict = 'met' | 'NOT MET' | 'n/a';

interface SummaryRow {
  id: string;
  name: string;
  measured: string;
  goal: string;
  verdict: Verdict;
  /** Why a goal was not met, from the measurements. */
  cause?: string;
}

const fmtRatio = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : '—');
const scaleName = (scale: number) => (scale >= 1_000_000 ? `${scale / 1_000_000}M` : scale >= 1_000 ? `${scale / 1_000}k` : String(scale));
const ms = (value: number | undefined) => (value === undefined ? '' : (value / 1000).toFixed(2));
const pct = (part: number, whole: number) => `${Math.round((part / whole) * 100)}%`;

/** A lazy-loading check passes when `list` peaks within this of the same with both libraries stubbed out. */
const LAZY_LOAD_TOLERANCE_MIB = 5;
const RAW_FOUR = /› \$ docker compose exec db (pg_dump|dropdb|createdb|pg_restore)\b/;
const RAW_STEP_OF: Record<string, string> = { pg_dump: 'pg_dump -Fc', dropdb: 'dropdb', createdb: 'createdb', pg_restore: 'pg_restore' };

/** The harness action's purpose, from its breakdown step (`<procedure> › harness: <purpose>`). */
const purposeOf = (step: string) => step.slice(step.indexOf('› harness: ') + '› harness: '.length);
/** A runbook command's short name: `docker compose exec db psql -U …` → `exec db psql`. */
const commandName = (step: string) =>
  step
    .slice(step.indexOf('› $ ') + 4)
    .replace(/^docker compose /, '')
    .split(' ')
    .slice(0, /^exec\b/.test(step.slice(step.indexOf('› $ ') + 4).replace(/^docker compose /, '')) ? 3 : 1)
    .join(' ');

/** Whether the damage check before restore-custom reused full-backup's manifest in every round (observed by the bench). */
function damageCheckReused(drill: DrillBenchResult): boolean {
  return drill.rounds.length > 0 && drill.rounds.every((round) => round.damageCheckReusedManifest === true);
}

/** The drill's extra time over the raw commands, part by part (they add up to drill − raw), from its breakdown. */
function proofCost(drill: DrillBenchResult): Array<{ what: string; ms: number; verification?: boolean }> {
  const probe = execProbeOf(drill);
  const perExec = Math.max(0, probe.dockerExecMs - probe.directMs);
  const groups = new Map<string, { ms: number; verification?: boolean }>();
  const add = (what: string, ms: number, verification?: boolean) =>
    groups.set(what, { ms: (groups.get(what)?.ms ?? 0) + ms, ...(verification ? { verification } : {}) });
  const reused = damageCheckReused(drill);
  const others: string[] = [];
  for (const row of drill.breakdown) {
    const ms = row.drillMs ?? 0;
    const { step } = row;
    if (/manifest just (before|after) the blocks/.test(step))
      add('verification: the window manifests just before and after pg_dump', ms, true);
    else if (step.includes('verify: artifact check'))
      add(
        'verification: artifact read-back of the dump (sha256, pg_restore --list, pg_restore -f /dev/null), beyond the closing manifest it runs beside',
        ms,
        true,
      );
    else if (step.includes('verify: manifest of the restored'))
      add("verification: manifest of the restored database, diffed against the backup's", ms, true);
    else if (step.startsWith('between procedures'))
      add(
        reused
          ? "damage check between the procedures (reuses full-backup's closing manifest: no SQL)"
          : 'damage check between the procedures (a fresh full manifest)',
        ms,
        true,
      );
    else if (step.includes('› harness: disaster')) add(`the disaster (${purposeOf(step).replace(/^disaster: /, '')})`, ms);
    else if (step.includes('› harness: check:')) add(`verification: ${purposeOf(step).replace(/^check: /, '')}`, ms, true);
    else if (step.includes('› harness: ')) add(`harness action: ${purposeOf(step)}`, ms);
    else if (RAW_FOUR.test(step)) add('raw four', ms);
    else if (step.includes('› $ ')) {
      add('other commands', ms);
      others.push(commandName(step));
    } else if (step === STEP.blockRunner || step === STEP.unattributed)
      add('harness orchestration (block runner, connections, journal; unattributed)', ms);
    else add(`other: ${step}`, ms);
  }
  const sameFour = groups.get('raw four')?.ms ?? 0;
  groups.delete('raw four');
  const otherCommands = groups.get('other commands');
  groups.delete('other commands');
  const fourCount = drill.breakdown.filter((row) => RAW_FOUR.test(row.step)).length;
  const shim = fourCount * perExec;
  const rawStep = (name: string) => median(drill.rounds.map((round) => round.raw.steps.find((step) => step.name === name)?.ms ?? 0));
  const perCommand = drill.breakdown
    .filter((row) => RAW_FOUR.test(row.step))
    .map((row) => {
      const name = RAW_FOUR.exec(row.step)![1]!;
      const delta = (row.drillMs ?? 0) - rawStep(RAW_STEP_OF[name]!) - perExec;
      return `${name} ${delta >= 0 ? '+' : '−'}${seconds(Math.abs(delta), 2)}`;
    });
  const parts = [...groups.entries()].map(([what, part]) => ({ what, ...part }));
  if (otherCommands) parts.push({ what: `the runbook's ${others.length} other commands (${others.join(', ')})`, ms: otherCommands.ms });
  parts.push({
    what: `the ${fourCount} raw commands started through \`docker compose exec\` (the emulated shim: ${perExec.toFixed(0)} ms each)`,
    ms: shim,
  });
  parts.push({
    what: `pg_dump, dropdb, createdb and pg_restore themselves, in the drill against the raw script, beyond the shim (${perCommand.join(', ')}; the drill runs pg_dump with the app services up, the raw script with them stopped)`,
    ms: sameFour - drill.rawMs - shim,
  });
  return parts;
}

function priceOfProof(drills: DrillBenchResult[]): SummaryRow {
  const measured = drills
    .map((drill) => `${scaleName(drill.scale)}: **${fmtRatio(drill.proofRatio)}** (${seconds(drill.drillMs)} vs ${seconds(drill.rawMs)})`)
    .join('; ');
  const atGoal = drills.find((drill) => drill.scale === GOALS.priceOfProof.atScale);
  const row: SummaryRow = {
    id: '1',
    name: 'Price of proof: drill ÷ raw pg_dump -Fc, dropdb, createdb, pg_restore',
    measured,
    goal: `≤ ${GOALS.priceOfProof.max} at 1M`,
    verdict: 'n/a',
  };
  if (!atGoal) return { ...row, cause: 'not run at 1M: run `npm run bench -- --scale 1000000`' };
  const value = atGoal.proofRatio;
  row.verdict = value <= GOALS.priceOfProof.max ? 'met' : 'NOT MET';
  if (row.verdict === 'NOT MET') {
    const extra = atGoal.drillMs - atGoal.rawMs;
    const budget = (GOALS.priceOfProof.max - 1) * atGoal.rawMs;
    const all = proofCost(atGoal).sort((a, b) => b.ms - a.ms);
    const shown = all.filter((part) => Math.abs(part.ms) >= 50);
    const small = all.filter((part) => Math.abs(part.ms) < 50);
    const verification = all.filter((part) => part.verification).reduce((sum, part) => sum + part.ms, 0);
    const proofOnly = (atGoal.rawMs + verification) / atGoal.rawMs;
    row.cause =
      `the drill costs ${seconds(extra)} more than the raw commands (medians of the rounds' totals; the parts below are per-step medians); the goal allows ${seconds(budget)}. ` +
      `Measured, largest first: ${shown.map((part) => `${part.what}: ${seconds(part.ms)} (${pct(part.ms, atGoal.rawMs)} of raw)`).join('; ')}` +
      (small.length > 0 ? `; under 0.05 s each: ${small.map((part) => `${part.what} ${seconds(part.ms, 2)}`).join(', ')}` : '') +
      `. The verification alone (the parts marked "verification", and the damage check) is ${seconds(verification)}: with nothing else added the ratio would be ${fmtRatio(proofOnly)}` +
      (proofOnly > GOALS.priceOfProof.max
        ? `, already above the goal: at this scale the proof itself costs more than the goal allows.`
        : `, within the goal: the rest (${seconds(extra - verification)}) is what exceeds it.`);
  }
  return row;
}

function overhead(drills: DrillBenchResult[]): SummaryRow {
  const measured = drills
    .map(
      (drill) =>
        `${scaleName(drill.scale)}: **${fmtRatio(drill.overheadRatio)}** (${seconds(drill.drillMs)} vs ${seconds(drill.replayMs)})`,
    )
    .join('; ');
  const row: SummaryRow = {
    id: '2',
    name: "Orchestration overhead: drill ÷ bash replay of the drill's own commands and verification SQL",
    measured,
    goal: `≤ ${GOALS.overhead.max} at 100k and at 1M`,
    verdict: 'n/a',
  };
  const atGoal = drills.filter((drill) => (GOALS.overhead.atScales as readonly number[]).includes(drill.scale));
  if (atGoal.length === 0) return { ...row, cause: 'not run at 100k or 1M' };
  const failing = atGoal.filter((drill) => drill.overheadRatio > GOALS.overhead.max);
  row.verdict = failing.length === 0 ? (atGoal.length === GOALS.overhead.atScales.length ? 'met' : 'n/a') : 'NOT MET';
  if (row.verdict === 'n/a') row.cause = `met at ${atGoal.map((drill) => scaleName(drill.scale)).join(', ')}; 1M not run at this --scale`;
  if (failing.length > 0) {
    row.cause = failing
      .map((drill) => {
        const worst = drill.breakdown
          .map((line) => ({ step: line.step, extra: (line.drillMs ?? 0) - (line.replayMs ?? 0) }))
          .filter((line) => line.extra > 50)
          .sort((a, b) => b.extra - a.extra)
          .slice(0, 4)
          .map((line) => `${line.step} +${seconds(line.extra, 2)}`);
        return `at ${scaleName(drill.scale)} the drill spends ${seconds(drill.drillMs - drill.replayMs)} more than the replay (medians); largest per step: ${worst.join('; ')}`;
      })
      .join('. ');
  }
  return row;
}

function seedingRows(seeding: SeedingBenchResult | undefined, verification: VerificationCostResult | undefined): SummaryRow[] {
  const rows: SummaryRow[] = [];
  if (seeding) {
    const seedRate = seeding.rows / (seeding.seedMs / 1000);
    const baseRate = seeding.rows / (seeding.baselineMs / 1000);
    const value = seedRate / baseRate;
    const row: SummaryRow = {
      id: '3a',
      name: 'Seeding throughput ÷ INSERT … SELECT generate_series (same rows, same width)',
      measured: `**${fmtRatio(value)}** (${Math.round(seedRate).toLocaleString('en')} vs ${Math.round(baseRate).toLocaleString('en')} rows/s at ${scaleName(seeding.scale)})`,
      goal: `≥ ${GOALS.seedingThroughput.min}`,
      verdict: value >= GOALS.seedingThroughput.min ? 'met' : 'NOT MET',
    };
    if (row.verdict === 'NOT MET') {
      const phases = Object.entries(seeding.phases)
        .sort((a, b) => b[1] - a[1])
        .map(([phase, time]) => `${phase} ${seconds(time)}`);
      row.cause =
        `the seeder took ${seconds(seeding.seedMs)} where the server alone writes the same rows in ${seconds(seeding.baselineMs)}. By phase: ${phases.join(', ')}. ` +
        `Its row generators alone (no database) need ${seconds(seeding.generation.ms)} for ${(seeding.generation.bytes / 2 ** 20).toFixed(0)} MiB of COPY text: ` +
        `the client producing realistic rows in JavaScript, and the server parsing COPY text, cost more than generate_series writing padding, and the seeder also builds every secondary index, checks every foreign key, refreshes the materialized view and analyzes, which the baseline does not. ` +
        `It keeps each table's primary key during COPY (nmia/seed/deferred-indexes.ts defers only secondary indexes); identities' key is a uuid in random order: loading its rows server-side with the key in place takes ${seconds(seeding.primaryKey.loadWithKeyMs)}, into a bare table ${seconds(seeding.primaryKey.loadBareMs)} plus ${seconds(seeding.primaryKey.buildKeyAfterMs)} to build the key after — deferring it (nothing references identities) would save about ${seconds(seeding.primaryKey.loadWithKeyMs - seeding.primaryKey.loadBareMs - seeding.primaryKey.buildKeyAfterMs)}`;
    }
    rows.push(row);
    const at1M = seeding.scale === GOALS.seeding1M.atScale;
    rows.push({
      id: '3b',
      name: '1M identities and their related tables seeded',
      measured: at1M
        ? `**${seconds(seeding.seedMs)}** (${seeding.rows.toLocaleString('en')} rows)`
        : `${seconds(seeding.seedMs)} at ${scaleName(seeding.scale)}`,
      goal: '< 60 s at 1M',
      verdict: at1M ? (seeding.seedMs < GOALS.seeding1M.maxMs ? 'met' : 'NOT MET') : 'n/a',
      ...(at1M && seeding.seedMs >= GOALS.seeding1M.maxMs
        ? {
            cause: `phases: ${Object.entries(seeding.phases)
              .map(([phase, time]) => `${phase} ${seconds(time)}`)
              .join(', ')}`,
          }
        : {}),
      ...(!at1M ? { cause: 'not run at 1M' } : {}),
    });
  }
  if (verification) {
    const manifest = median(verification.manifestMs);
    const dump = median(verification.pgDumpMs);
    const value = manifest / dump;
    rows.push({
      id: '3c',
      name: 'Verification cost: one full manifest ÷ pg_dump -Fc of the same database',
      measured: `**${fmtRatio(value)}** (${seconds(manifest, 2)} vs ${seconds(dump, 2)}, medians of ${verification.manifestMs.length})`,
      goal: `≤ ${GOALS.manifestVsDump.max}`,
      verdict: value <= GOALS.manifestVsDump.max ? 'met' : 'NOT MET',
      ...(value > GOALS.manifestVsDump.max
        ? { cause: 'the manifest hashes every row of every table in one pass per table; see the manifest rows in "Where the time goes"' }
        : {}),
    });
  }
  return rows;
}

/** What `node bin/nmia-drill.js list` costs in RSS, and whether playwright-core and testcontainers stay unloaded. */
function moduleLoadText(load: ModuleLoadCost): string {
  const unused = load.loadOnlyMiB - load.loadOnlyWithoutUnusedMiB;
  return (
    `Loading the CLI's module graph alone (\`node bin/nmia-drill.js list\`) peaks at ${Math.round(load.loadOnlyMiB)} MiB (a bare \`node -e 0\`: ${Math.round(load.bareNodeMiB)} MiB); ` +
    `with playwright-core and testcontainers resolved to empty stand-ins (bench/without-unused-libraries.mjs) at ${Math.round(load.loadOnlyWithoutUnusedMiB)} MiB` +
    (Math.abs(unused) <= LAZY_LOAD_TOLERANCE_MIB
      ? `: about equal, so lazy loading holds (src/stacks/stack-factory.ts and src/probes/headless-chromium.ts import them only for the compose stack and the UI probe), and the ${Math.round(load.loadOnlyMiB - load.bareNodeMiB)} MiB above bare node is the rest of the module graph, loaded through tsx's TypeScript loader.`
      : `: ${Math.round(unused)} MiB of the module load is playwright-core and testcontainers, loaded at start though an emulated drill never calls them: something imports them statically (they should be imported on demand only, in src/stacks/stack-factory.ts and src/probes/headless-chromium.ts).`)
  );
}

function growth(curve: ScalePoint[]): Array<{ from: ScalePoint; to: ScalePoint; exponent: number; marginalUs: number }> {
  const sorted = [...curve].sort((a, b) => a.scale - b.scale);
  return sorted.slice(1).map((to, index) => {
    const from = sorted[index]!;
    return {
      from,
      to,
      exponent: Math.log(to.wallMs / from.wallMs) / Math.log(to.scale / from.scale),
      marginalUs: ((to.wallMs - from.wallMs) * 1000) / (to.scale - from.scale),
    };
  });
}

function scaleRows(curve: ScalePoint[], moduleLoad: ModuleLoadCost | undefined): SummaryRow[] {
  if (curve.length === 0) return [];
  const steps = growth(curve);
  const worst = steps.reduce((max, step) => Math.max(max, step.exponent), 0);
  const peak = curve.reduce((max, point) => Math.max(max, point.peakRssMiB), 0);
  const linear: SummaryRow = {
    id: '4a',
    name: 'Scale curve: wall time growth exponent between scales (1 = linear)',
    measured:
      steps.map((step) => `${scaleName(step.from.scale)}→${scaleName(step.to.scale)}: **${step.exponent.toFixed(2)}**`).join('; ') ||
      'one scale only',
    goal: `linear (≤ ${GOALS.growthExponent.max})`,
    verdict: steps.length === 0 ? 'n/a' : worst <= GOALS.growthExponent.max ? 'met' : 'NOT MET',
  };
  if (linear.verdict === 'NOT MET') {
    const bad = steps.filter((step) => step.exponent > GOALS.growthExponent.max);
    linear.cause = bad
      .map(
        (step) =>
          `${scaleName(step.from.scale)}→${scaleName(step.to.scale)}: seeding ${seconds(step.from.seedingMs)}→${seconds(step.to.seedingMs)}, procedures ${seconds(step.from.proceduresMs)}→${seconds(step.to.proceduresMs)}`,
      )
      .join('; ');
  }
  const low = curve.reduce((min, point) => Math.min(min, point.peakRssMiB), Number.POSITIVE_INFINITY);
  const peakPoint = curve.find((point) => point.peakRssMiB === peak)!;
  const rss: SummaryRow = {
    id: '4b',
    name: 'Peak RSS of the harness process (VmHWM of `node bin/nmia-drill.js`)',
    measured: curve.map((point) => `${scaleName(point.scale)}: ${Math.round(point.peakRssMiB)} MiB`).join('; '),
    goal: `< ${GOALS.peakRssMiB.max} MiB at every scale`,
    verdict: peak < GOALS.peakRssMiB.max ? 'met' : 'NOT MET',
    ...(peak >= GOALS.peakRssMiB.max
      ? {
          cause:
            `peak ${Math.round(peak)} MiB at ${scaleName(peakPoint.scale)}; ` +
            (peak - low < 0.1 * peak
              ? `nearly flat across scales (${Math.round(low)}–${Math.round(peak)} MiB): the harness's code, not the data, sets it. `
              : `it grows with scale (${Math.round(low)} → ${Math.round(peak)} MiB): data the harness holds, not only its code. `) +
            (moduleLoad
              ? `${moduleLoadText(moduleLoad)} The drill's own work adds ${Math.round(peak - moduleLoad.loadOnlyMiB)} MiB on top of module load at its peak.`
              : 'Module load was not measured in this run.'),
        }
      : {}),
  };
  return [linear, rss];
}

function leversRow(levers: RestoreLeversResult | undefined, dumpScale: number | undefined, drill: ScalePoint | undefined): SummaryRow[] {
  if (!levers && !drill) return [];
  const name = `RTO lever: pg_restore -j 1 vs -j ${levers?.jobs ?? '?'} (custom-format dump${dumpScale ? ` at ${scaleName(dumpScale)}` : ''}), and the hint a drill records`;
  const benchPart = levers
    ? `**${levers.hint.savingPercent}%** ${levers.hint.savingPercent >= 0 ? 'less restore time' : 'more restore time (parallel slower)'} (${seconds(levers.serialMs)} → ${seconds(levers.parallelMs)}, medians of ${levers.rounds.length})`
    : 'not measured on the section 3 dump';
  const hint = drill?.parallelRestore;
  const drillPart = !drill
    ? ''
    : !hint
      ? `; the drill with \`--parallel-restore-hint\` at ${scaleName(drill.scale)}: **no timing.parallelRestore in its journal**`
      : 'error' in hint
        ? `; the drill with \`--parallel-restore-hint\` at ${scaleName(drill.scale)}: not measured (${hint.error})`
        : `; in a drill at ${scaleName(drill.scale)} (once, on its own dump): **${hint.savingPercent}%** (${seconds(hint.serialMs)} → ${seconds(hint.parallelMs)})`;
  const row: SummaryRow = {
    id: '5',
    name,
    measured: benchPart + drillPart,
    goal: 'a measured hint in the journal, never a runbook change',
    verdict: 'n/a',
  };
  if (!drill) return [{ ...row, cause: 'no drill with `--parallel-restore-hint` in this run: run `npm run bench -- --only levers`' }];
  if (!hint || 'error' in hint)
    return [
      {
        ...row,
        verdict: 'NOT MET',
        cause: hint
          ? `the drill recorded why it could not measure: ${hint.error}`
          : 'restore-custom did not record journal.timing.parallelRestore (runbook/kit/restore-lever.ts runs only after a restore that verified)',
      },
    ];
  return [{ ...row, verdict: 'met' }];
}

function table(headers: string[], rows: string[][]): string {
  const escape = (cell: string) => cell.replace(/\|/g, '\\|').replace(/\n/g, ' ');
  return [
    `| ${headers.join(' | ')} |`,
    `| ${headers.map(() => '---').join(' | ')} |`,
    ...rows.map((row) => `| ${row.map(escape).join(' | ')} |`),
  ].join('\n');
}

export function summaryRows(run: BenchRun): SummaryRow[] {
  return [
    ...(run.drills.length > 0 ? [priceOfProof(run.drills), overhead(run.drills)] : []),
    ...seedingRows(run.seeding, run.verification),
    ...scaleRows(run.curve, run.moduleLoad),
    ...leversRow(run.levers, run.seeding?.scale, run.leverDrill),
    ...completenessRow(run.completeness),
  ];
}

/** 6: each backup's completeness proof (restore into a scratch database, manifest compare, pg_amcheck) ÷ its blocks. */
function completenessRow(results: CompletenessBenchResult[] | undefined): SummaryRow[] {
  if (!results || results.length === 0) return [];
  const parts = results.flatMap((result) =>
    [...new Set(result.rounds.map((round) => round.procedure))].map((procedure) => {
      const rounds = result.rounds.filter((round) => round.procedure === procedure);
      const backupMs = median(rounds.map((round) => round.backupMs));
      const proofMs = median(rounds.map((round) => round.proofMs));
      const amcheckMs = median(rounds.map((round) => round.amcheckMs));
      return { scale: result.scale, procedure, backupMs, proofMs, amcheckMs, ratio: proofMs / backupMs };
    }),
  );
  const atGoal = parts.filter((part) => part.scale === GOALS.completeness.atScale);
  const worst = atGoal.reduce((max, part) => Math.max(max, part.ratio), 0);
  return [
    {
      id: '6',
      name: 'Completeness proof of a backup ÷ the backup blocks’ own time (restore into a scratch database, manifest compare, pg_amcheck)',
      measured: parts
        .map(
          (part) =>
            `${scaleName(part.scale)} ${part.procedure}: **${fmtRatio(part.ratio)}** (${seconds(part.proofMs)} vs ${seconds(part.backupMs)}; pg_amcheck ${seconds(part.amcheckMs)})`,
        )
        .concat(
          results
            .filter((result) => result.plainReplay)
            .map(
              ({ scale, plainReplay: replay }) =>
                `${scaleName(scale)} plain dump replayed (${(replay!.bytes / 1024 / 1024).toFixed(0)} MiB): one session ${seconds(replay!.serialMs)} vs the proof's ${replay!.jobs} sessions ${seconds(replay!.parallelMs)} (**${fmtRatio(replay!.parallelMs / replay!.serialMs)}**)`,
            ),
        )
        .join('; '),
      goal: `≤ ${GOALS.completeness.max} at 1M`,
      verdict: atGoal.length === 0 ? 'n/a' : worst <= GOALS.completeness.max ? 'met' : 'NOT MET',
      ...(atGoal.length === 0 ? { cause: 'not run at 1M: run `npm run bench -- --only completeness --scale 1000000`' } : {}),
    },
  ];
}

/** The side-by-side lines printed to the terminal. */
export function consoleSummary(run: BenchRun): string {
  const lines = [`cores ${run.facts.cores} · PostgreSQL ${run.facts.postgres} · node ${run.facts.node} · --scale ${run.options.scale}`];
  for (const row of summaryRows(run))
    lines.push(`${row.id.padEnd(3)} ${row.verdict.padEnd(7)} ${row.name}\n        ${row.measured.replace(/\*\*/g, '')}   goal ${row.goal}`);
  return lines.join('\n');
}

function medianOf(values: number[]): number {
  return median(values);
}

function execProbeOf(drill: DrillBenchResult): { dockerExecMs: number; directMs: number; samples: number } {
  return {
    dockerExecMs: medianOf(drill.rounds.map((round) => round.execProbe.dockerExecMs)),
    directMs: medianOf(drill.rounds.map((round) => round.execProbe.directMs)),
    samples: drill.rounds.reduce((sum, round) => sum + round.execProbe.samples, 0),
  };
}

function drillSection(drill: DrillBenchResult): string {
  const rawSteps = [...new Set(drill.rounds.flatMap((round) => round.raw.steps.map((step) => step.name)))];
  const raw = table(
    ['raw step', ...drill.rounds.map((_, index) => `round ${index + 1} s`)],
    [
      ...rawSteps.map((name) => [name, ...drill.rounds.map((round) => ms(round.raw.steps.find((step) => step.name === name)?.ms))]),
      ['total (bash wall time)', ...drill.rounds.map((round) => ms(round.raw.wallMs))],
    ],
  );
  const rounds = table(
    ['round', 'drill s', 'raw s', 'replay s', 'drill ÷ raw', 'drill ÷ replay', 'harness CPU s', 'load'],
    drill.rounds.map((round, index) => [
      String(index + 1),
      ms(round.drillMs),
      ms(round.raw.wallMs),
      ms(round.replay.wallMs),
      fmtRatio(round.drillMs / round.raw.wallMs),
      fmtRatio(round.drillMs / round.replay.wallMs),
      ms(round.harnessCpuMs),
      `${round.loadBefore} → ${round.loadAfter}`,
    ]),
  );
  const rows = drill.breakdown.map((row) => [
    row.step,
    ms(row.drillMs),
    ms(row.replayMs),
    row.drillMs !== undefined && row.replayMs !== undefined ? ms(row.drillMs - row.replayMs) : '',
  ]);
  rows.push(['**median totals**', `**${ms(drill.drillMs)}**`, `**${ms(drill.replayMs)}**`, `**${ms(drill.drillMs - drill.replayMs)}**`]);
  const probe = execProbeOf(drill);
  const matches = drill.rounds.every((round) => round.replayMatches);
  return [
    `#### ${scaleName(drill.scale)} identities (${drill.seededRows.toLocaleString('en')} rows seeded in ${seconds(drill.seedingMs)}; custom dump ${(drill.dumpBytes / 2 ** 20).toFixed(0)} MiB)`,
    '',
    `Environment before the first round (stack, seeding, app services, baseline manifest): ${seconds(drill.environmentMs)}; teardown and evidence after the last: ${seconds(drill.teardownMs)}. ` +
      `Every replay restored the same content as the drill (every table hash equal): ${matches ? 'yes' : '**no**'}. ` +
      `One \`docker compose exec db psql -c 'SELECT 1'\` costs ${probe.dockerExecMs.toFixed(0)} ms against ${probe.directMs.toFixed(0)} ms for the same psql run directly (median of ${probe.samples}).`,
    '',
    rounds,
    '',
    raw,
    '',
    table(
      ["environment, before the first round (the drill's own progress steps)", 's'],
      drill.environment.map((phase) => [phase.phase, ms(phase.ms)]),
    ),
    '',
    'Step by step (median of the rounds per step):',
    '',
    table(['step (drill order)', 'drill s', 'replay s', 'drill − replay s'], rows),
  ].join('\n');
}

function wasteSection(run: BenchRun): string {
  const drill = [...run.drills].sort((a, b) => b.scale - a.scale)[0];
  if (!drill) return '';
  const find = (test: (step: string) => boolean) => drill.breakdown.find((row) => test(row.step));
  const damage = find((step) => step.startsWith('between procedures'));
  const runner = find((step) => step === STEP.blockRunner);
  const unattributed = find((step) => step === STEP.unattributed);
  const restored = find((step) => step.includes('verify: manifest of the restored'));
  const disaster = find((step) => step.includes('› harness: disaster'));
  const artifact = find((step) => step.includes('verify: artifact check'));
  const otherActions = drill.breakdown.filter((row) => row.step.includes('› harness: ') && row !== disaster);
  const reused = damageCheckReused(drill);
  const manifests = drill.breakdown.filter((row) => /manifest/.test(row.step) || (!reused && row === damage));
  const manifestMs = manifests.reduce((sum, row) => sum + (row.drillMs ?? 0), 0);
  const verificationMs = manifestMs + (artifact?.drillMs ?? 0) + (reused ? (damage?.drillMs ?? 0) : 0);
  const execCommands = drill.breakdown.filter((row) => row.step.includes('› $ docker compose')).length;
  const probe = execProbeOf(drill);
  const perExec = probe.dockerExecMs - probe.directMs;
  const cpu = medianOf(drill.rounds.map((round) => round.harnessCpuMs));
  const at = `at ${scaleName(drill.scale)}`;
  const disasterAt = [...run.drills]
    .sort((a, b) => a.scale - b.scale)
    .map(
      (other) =>
        `${scaleName(other.scale)}: ${seconds(other.breakdown.find((row) => row.step.includes('› harness: disaster'))?.drillMs ?? 0, 2)}`,
    )
    .join(', ');
  const items = [
    disaster
      ? `**The disaster** (runbook/kit/disasters.ts; the journal records it as "${purposeOf(disaster.step)}"): **${seconds(disaster.drillMs ?? 0, 2)}** ${at} (${pct(disaster.drillMs ?? 0, drill.drillMs)} of the drill; ${seconds(disaster.replayMs ?? 0, 2)} through psql)${run.drills.length > 1 ? `; by scale: ${disasterAt}` : ''}. The runbook's restore drops the whole database a moment later; what the disaster proves is that the restored manifest equals the backup's whatever was lost.`
      : '**The disaster**: no disaster step in the breakdown.',
    `**Artifact read-back** (src/verify/artifact-check.ts): \`pg_restore --list\` then \`pg_restore -f /dev/null\` (inflating every data block) with sha256 alongside: ${seconds(artifact?.drillMs ?? 0, 2)} ${at} (${pct(artifact?.drillMs ?? 0, drill.drillMs)} of the drill). It is proof (it catches a truncated or corrupt dump that lists fine), not waste.`,
    reused
      ? `**Damage check between procedures** (DrillEnvironment.damage, src/drill/drill-environment.ts): before restore-custom the runner compares 4 core tables with the seeded baseline. In every round it compared full-backup's own "just after the blocks" manifest (EnvironmentState.stateAfterLastProcedure, which src/drill/procedure-runner.ts keeps when a backup does nothing after its window closes; the bench saw that manifest in place as restore-custom started) and sent no SQL: the time from full-backup's end to restore-custom's start was **${seconds(damage?.drillMs ?? 0, 2)}** ${at}, the runner's bookkeeping only. The replay has no step for it either.`
      : `**Damage check between procedures** (DrillEnvironment.damage, src/drill/drill-environment.ts): before restore-custom the runner took a fresh full manifest (every table hashed, catalogs read) to compare 4 core tables with the seeded baseline: **${seconds(damage?.drillMs ?? 0, 2)}** of ${seconds(drill.drillMs, 2)} ${at} (${pct(damage?.drillMs ?? 0, drill.drillMs)}), although full-backup (a backup: it changes nothing) took its own "just after the blocks" manifest of the same state moments before.` +
        (drill.rounds.some((round) => round.damageCheckReusedManifest === false)
          ? ' The runner reuses that manifest only when the backup recorded no harness action after its window closed (src/drill/procedure-runner.ts): something did, in this run.'
          : ' (This run was measured before the runner could reuse it.)'),
    `**Full manifests**: the drill took ${manifests.length} (${manifests.map((row) => `${row.step.replace(/^.* › /, '')} ${ms(row.drillMs)} s`).join(', ')}): ${seconds(manifestMs, 2)}, ${pct(manifestMs, drill.drillMs)} of the drill and ${pct(manifestMs, verificationMs)} of its verification (${seconds(verificationMs, 2)} with the artifact read-back). The window manifests around pg_dump are the price of exactness under live writes; the restored database's manifest is what proves the restore.` +
      (reused ? '' : " The damage check's buys nothing full-backup's closing manifest did not already show."),
    `**docker compose exec through the emulated shim**: each of the ${execCommands} \`docker compose\` commands of the two blocks starts a node process (the shim bundle) that then spawns the real binary or acts itself: ${perExec.toFixed(0)} ms per command more than running it directly (measured ${probe.dockerExecMs.toFixed(0)} vs ${probe.directMs.toFixed(0)} ms), about ${seconds(perExec * execCommands)} per drill. This is the emulated stack standing in for Docker (a real \`docker compose exec\` also starts a client per command), so it is counted in the price of proof, not in orchestration; the replay pays it too.`,
    `**Block runner** (src/exec/block-runner.ts: bash with the DEBUG-trap tracer, output to files, then redaction of the script, trace and outputs): ${seconds(runner?.drillMs ?? 0, 2)} outside the commands' own time for 2 blocks.`,
    (restored?.drillMs ?? 0) > 1.1 * (restored?.replayMs ?? 0) + 50
      ? `**Restored-database verification** (ProcedureContext.verifyRestoredDatabase and withDb, src/drill/procedure-context.ts): withDb() first waits for the database (a throwaway connect + end) and then connects again for the manifest; with the JS manifest diff the step costs ${seconds(restored?.drillMs ?? 0, 2)} against ${seconds(restored?.replayMs ?? 0, 2)} for the same SQL through psql. The app services started by the block's last command boot on the same cores while it runs.`
      : `**Restored-database verification** (ProcedureContext.verifyRestoredDatabase and withDb, src/drill/procedure-context.ts): ${seconds(restored?.drillMs ?? 0, 2)} against ${seconds(restored?.replayMs ?? 0, 2)} for the same SQL through psql: the extra connection withDb() opens first and the JS manifest diff cost nothing measurable.`,
    ...(otherActions.length > 0
      ? [
          `**Other harness actions**: ${otherActions.map((row) => `${purposeOf(row.step)} ${seconds(row.drillMs ?? 0, 2)} (replay ${seconds(row.replayMs ?? 0, 2)})`).join('; ')}.`,
        ]
      : []),
    `**Everything else the harness does** (journal records, checks, procedure bookkeeping; unattributed): ${seconds(unattributed?.drillMs ?? 0, 2)}. Harness CPU over the whole drill window was ${seconds(cpu, 2)} (median): the harness process mostly waits on PostgreSQL and child processes; there is no JavaScript hot spot to fix.`,
  ];
  return items.map((item) => `- ${item}`).join('\n');
}

export function renderResults(run: BenchRun): string {
  const rows = summaryRows(run);
  const curve = [...run.curve].sort((a, b) => a.scale - b.scale);
  const steps = growth(curve);
  const sections: string[] = [
    '# nmia-drill benchmarks',
    '',
    `Generated by \`${run.command}\` from ${run.startedAt} to ${run.finishedAt}, in one run on this machine. ` +
      `**${run.facts.cores} cores** (${run.facts.cpuModel}), ${run.facts.memoryGiB} GiB RAM, **PostgreSQL ${run.facts.postgres}**, Node ${run.facts.node}, commit ${run.facts.commit}. ` +
      `Other work shares this machine: each section notes the 1-minute load average before → after it.` +
      (run.renderedAgainAt ? ` (Text rendered again on ${run.renderedAgainAt} from the saved numbers of that run, \`--render\`.)` : ''),
    '',
    'Benchmarks, not tests: `npm run bench` (default `--scale 100000`, a few minutes); the full table: `npm run bench -- --scale 1000000` (add `--with-10m` for a 10M point on the scale curve). Every drill is the real engine: `DrillRunner` in process for 1 and 2, the CLI in a child process for 4 and 5.',
    '',
    '## Summary',
    '',
    table(
      ['#', 'benchmark', 'measured', 'goal', 'verdict'],
      rows.map((row) => [row.id, row.name, row.measured, row.goal, row.verdict]),
    ),
    '',
  ];
  const explained = rows.filter((row) => row.cause && row.verdict !== 'met');
  if (explained.length > 0) {
    sections.push(
      '### Goals not met (or not measured), with the measured cause',
      '',
      ...explained.map((row) => `- **${row.id}** (${row.verdict}): ${row.cause}`),
      '',
    );
  }
  if (run.drills.length > 0) {
    sections.push(
      '## 1 and 2: the drill against bash baselines',
      '',
      'One drill of `full-backup` + `restore-custom` (`--isolation order`, emulated stack) runs in process; the bench appends a procedure that, in the **same environment on the same database** (same seed, same server, same `docker` on PATH), runs two bash scripts after the drill:',
      '',
      "- **raw**: the machine's `pg_dump -Fc`, `dropdb`, `createdb`, `pg_restore --no-owner --no-privileges`, directly against the db service; no verification (app services stopped first, untimed, so dropdb finds no sessions).",
      "- **replay**: every command of the drill's own command log (`journal.procedures[].blocks[].commands` and `harnessActions`, verbatim, through the same `docker`), plus the verification the drill runs but does not log as commands: the exact statements `takeManifest` sends (captured through a recording client and replayed with `psql -f`, once per manifest the drill took) and the artifact check of src/verify/artifact-check.ts (`sha256sum` alongside `pg_restore --list` and `pg_restore -f /dev/null`).",
      '',
      'The drill time is measured from the start of full-backup to the end of restore-custom (reporter events); seeding and environment start-up are outside it, as they are outside both scripts.',
      '',
      ...run.drills.map(drillSection).flatMap((section) => [section, '']),
    );
  }
  if (run.seeding || run.verification) {
    sections.push('## 3: seeding and verification cost', '');
    if (run.seeding) {
      const seeding = run.seeding;
      sections.push(
        `A fresh local cluster (fsync off, as the drill's), schema applied, then \`seedDatabase\` (nmia/seed/seed-database.ts) at ${scaleName(seeding.scale)}: ${seeding.rows.toLocaleString('en')} rows in **${seconds(seeding.seedMs, 2)}** (load ${seeding.loadBefore} → ${seeding.loadAfter}). ` +
          `Baseline: for each seeded table, as many rows of the same average width (a bigint primary key and padding text) by \`INSERT … SELECT … FROM generate_series\`, in one transaction: **${seconds(seeding.baselineMs, 2)}**.`,
        '',
        table(
          ['seeder phase', 's'],
          Object.entries(seeding.phases)
            .sort((a, b) => b[1] - a[1])
            .map(([phase, time]) => [phase, ms(time)]),
        ),
        '',
        `The seeder's row generators alone, without a database: ${seconds(seeding.generation.ms, 2)} for ${(seeding.generation.bytes / 2 ** 20).toFixed(0)} MiB of COPY text (${Math.round(seeding.rows / (seeding.generation.ms / 1000)).toLocaleString('en')} rows/s). ` +
          `identities' rows copied server-side into a table with its uuid primary key: ${seconds(seeding.primaryKey.loadWithKeyMs, 2)}; into a bare table: ${seconds(seeding.primaryKey.loadBareMs, 2)}, then building the key: ${seconds(seeding.primaryKey.buildKeyAfterMs, 2)}.`,
        '',
        table(
          ['table', 'rows', 'seeded avg width (B)', 'baseline avg width (B)'],
          seeding.widths.map((width) => [
            width.table,
            width.rows.toLocaleString('en'),
            width.seededWidth.toFixed(0),
            width.baselineWidth.toFixed(0),
          ]),
        ),
        '',
      );
    }
    if (run.verification) {
      const verification = run.verification;
      sections.push(
        `Verification cost on that database, interleaved: \`takeManifest\` (counts, content hashes, sequences, schema) ${verification.manifestMs.map((value) => ms(value)).join(', ')} s; \`pg_dump -Fc\` ${verification.pgDumpMs.map((value) => ms(value)).join(', ')} s (${(verification.dumpBytes / 2 ** 20).toFixed(0)} MiB; load ${verification.loadBefore} → ${verification.loadAfter}).`,
        '',
      );
    }
  }
  if (curve.length > 0) {
    sections.push(
      '## 4: scale curve',
      '',
      '`node bin/nmia-drill.js --runbook fixtures/runbooks/backup-restore.corrected.md --only full-backup,restore-custom --isolation order --stack emulated --scale N` in a child process: wall time from spawn to exit, and the peak RSS (VmHWM) of that process — the harness itself, not PostgreSQL or the app services — polled from /proc/<pid>/status every 100 ms and read once more at exit by a preloaded probe (bench/rss-probe.mjs).',
      '',
      table(
        ['scale', 'wall s', 'seeding s', 'procedures s', 'harness CPU s', 'peak RSS MiB', 'load'],
        curve.map((point) => [
          scaleName(point.scale),
          ms(point.wallMs),
          ms(point.seedingMs),
          ms(point.proceduresMs),
          ms(point.harnessCpuMs),
          point.peakRssMiB.toFixed(0),
          `${point.loadBefore} → ${point.loadAfter}`,
        ]),
      ),
      '',
      steps.length > 0
        ? table(
            ['step', 'growth exponent', 'marginal µs per identity'],
            steps.map((step) => [
              `${scaleName(step.from.scale)} → ${scaleName(step.to.scale)}`,
              step.exponent.toFixed(2),
              step.marginalUs.toFixed(1),
            ]),
          )
        : '',
      '',
      `Growth exponent = ln(t₂/t₁) / ln(n₂/n₁): 1 is linear; below 1, fixed costs still dominate (at ${scaleName(curve[0]!.scale)}, everything but seeding and the procedures — start-up of node, the stack and the app services, teardown — took ${seconds(curve[0]!.wallMs - curve[0]!.seedingMs - curve[0]!.proceduresMs)} of ${seconds(curve[0]!.wallMs)}).`,
      '',
      ...(run.moduleLoad ? [moduleLoadText(run.moduleLoad), ''] : []),
    );
  }
  if (run.levers || run.leverDrill) {
    const levers = run.levers;
    const drill = run.leverDrill;
    const hint = drill?.parallelRestore;
    const plain = drill ? curve.find((point) => point.scale === drill.scale) : undefined;
    sections.push('## 5: RTO levers', '');
    if (levers) {
      sections.push(
        `\`measureParallelRestoreHint\` (src/verify/parallel-restore-hint.ts) restores the custom-format dump of section 3 into scratch databases with \`pg_restore -j 1\` and \`-j ${levers.jobs}\` (the runbook's \`--no-owner --no-privileges\`), ${levers.rounds.length} rounds (load ${levers.loadBefore} → ${levers.loadAfter}):`,
        '',
        table(
          ['round', '-j 1 s', `-j ${levers.jobs} s`, 'saving'],
          levers.rounds.map((round, index) => [String(index + 1), ms(round.serialMs), ms(round.parallelMs), `${round.savingPercent}%`]),
        ),
        '',
        `From the medians, the same code would say: "${levers.hint.hint}"`,
        '',
      );
    }
    if (drill) {
      sections.push(
        `In a drill: \`node bin/nmia-drill.js --runbook fixtures/runbooks/backup-restore.corrected.md --only full-backup,restore-custom --isolation order --stack emulated --scale ${drill.scale} --parallel-restore-hint ${hint && !('error' in hint) ? hint.jobs : (levers?.jobs ?? 'N')}\`. After restore-custom's verification passes, it restores the drill's own dump twice more (runbook/kit/restore-lever.ts), once each way, into scratch databases on the db service; ` +
          (!hint
            ? '**the journal carries no timing.parallelRestore**.'
            : 'error' in hint
              ? `the journal records that it could not measure: ${hint.error}.`
              : `the drill journal then carries a measured hint (timing.parallelRestore, -j 1 ${seconds(hint.serialMs)}, -j ${hint.jobs} ${seconds(hint.parallelMs)}, one measurement): "${hint.hint}"`) +
          ` That drill took ${seconds(drill.wallMs)} wall` +
          (plain
            ? ` against ${seconds(plain.wallMs)} for the same drill without the hint in section 4 (${seconds(drill.wallMs - plain.wallMs)} more): the price of the opt-in.`
            : '.'),
        '',
      );
    }
  }
  sections.push('## Where the time goes (harness waste, measured; src/ is not changed by the bench)', '', wasteSection(run), '');
  if (run.waits.length > 0) {
    const waited = run.waits.reduce((sum, wait) => sum + wait.waitedMs, 0);
    const noisy = run.waits.filter((wait) => !wait.quiet);
    sections.push(
      '## How quiet the machine was',
      '',
      `Before each of ${run.waits.length} measurements the bench, idle itself, waited until the machine's CPUs were nearly idle (under 0.35 cores busy over 3 s, from /proc/stat; at most ${run.options.maxWaitS} s each${run.options.waitBudgetS ? `, ${run.options.waitBudgetS} s in all` : ''}): ${seconds(waited)} of waiting in all. ` +
        (noisy.length === 0
          ? 'Every measurement started on a quiet machine; other work may still have started during one (see the load columns).'
          : `Started on a busy machine after the maximum wait: ${noisy.map((wait) => `${wait.before} (${wait.busyCores} cores busy)`).join('; ')}.`),
      '',
    );
  }
  return `${sections
    .join('\n')
    .replace(/\n{3,}/g, '\n\n')
    .trimEnd()}\n`;
}
