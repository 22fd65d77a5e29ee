import type { BreakdownRow } from './drill-bench.ts';
import type { MachineFacts } from './machine-facts.ts';
import type { GateWait } from './quiet-gate.ts';
import type { RealAppBenchResult } from './real-app-bench.ts';
import { median, seconds } from './stats.ts';

export const SECTION_BEGIN = '<!-- real-app:begin (written by `npm run bench -- --app …`; other sections untouched) -->';
export const SECTION_END = '<!-- real-app:end -->';
/** Where the section goes the first time: before the summary of the reference-app run. */
const INSERT_BEFORE = '\n## Summary\n';

/** One scale's run, as kept in bench/real-app-results.json (the latest run per scale). */
export interface RealAppRecord {
  command: string;
  facts: MachineFacts;
  result: RealAppBenchResult;
  /** 1-, 5- and 15-minute load averages when this scale's drill started and when it ended. */
  loadAtStart: number[];
  loadAtEnd: number[];
  waits: GateWait[];
  /** How this record departs from a complete run (e.g. rounds cut short by a deadline, figures taken from its log). */
  note?: string;
}

/** Keeps the latest record per scale, ordered by scale. */
export function mergeRecords(saved: readonly RealAppRecord[], fresh: readonly RealAppRecord[]): RealAppRecord[] {
  const byScale = new Map<number, RealAppRecord>();
  for (const record of [...saved, ...fresh]) byScale.set(record.result.scale, record);
  return [...byScale.values()].sort((a, b) => a.result.scale - b.result.scale);
}

/**
 * Puts `section` between the markers in `text`, replacing what was there; without markers, inserts it
 * (with them) before the first `## Summary`, or at the end. Nothing outside the markers changes.
 */
export function spliceSection(text: string, section: string): string {
  const block = `${SECTION_BEGIN}\n${section.trim()}\n${SECTION_END}`;
  const begin = text.indexOf(SECTION_BEGIN);
  const end = text.indexOf(SECTION_END);
  if (begin >= 0 && end > begin) return text.slice(0, begin) + block + text.slice(end + SECTION_END.length);
  if (begin >= 0 || end >= 0) throw new Error('bench/RESULTS.md has only one of the real-app section markers; restore both or remove both');
  const at = text.indexOf(INSERT_BEFORE);
  if (at < 0) return `${text.replace(/\n*$/, '\n\n')}${block}\n`;
  return `${text.slice(0, at)}\n${block}\n${text.slice(at)}`;
}

/** What the drill's time is made of, by the kind of each breakdown row. */
export const DRILL_PARTS = [
  "the raw four (the runbook's pg_dump, dropdb, createdb, pg_restore)",
  "the runbook's other commands (mkdir, copies, stop/start, terminate sessions)",
  'verification (manifests, artifact read-back, restored-database check, waiting for the restarted app)',
  'the staged disaster',
  'orchestration (block runner, bookkeeping, damage check between procedures)',
] as const;
export type DrillPart = (typeof DRILL_PARTS)[number];

const RAW_FOUR = /› \$ docker compose exec(?: -T)? db (?:pg_dump|dropdb|createdb|pg_restore)\b/;

/** Sums the drill side of the breakdown rows into DRILL_PARTS. */
export function splitDrillTime(rows: readonly BreakdownRow[]): Record<DrillPart, number> {
  const parts = Object.fromEntries(DRILL_PARTS.map((part) => [part, 0])) as Record<DrillPart, number>;
  const [raw, commands, verification, disaster, orchestration] = DRILL_PARTS;
  for (const row of rows) {
    const ms = row.drillMs ?? 0;
    const part = RAW_FOUR.test(row.step)
      ? raw
      : row.step.includes('› $ ')
        ? commands
        : row.step.includes('› harness: disaster')
          ? disaster
          : row.step.includes('› harness: ') || row.step.includes('› manifest ') || row.step.includes('› verify: ')
            ? verification
            : orchestration;
    parts[part] += ms;
  }
  return parts;
}

/** The drill's own pg_dump, dropdb, createdb and pg_restore (median per step, summed). */
function rawFourMs(result: RealAppBenchResult): number {
  return splitDrillTime(result.breakdown)[DRILL_PARTS[0]];
}

const scaleName = (scale: number) => (scale >= 1_000_000 ? `${scale / 1_000_000}M` : scale >= 1_000 ? `${scale / 1_000}k` : String(scale));
// undefined: no such step; null (NaN in the saved JSON): not measured.
const s2 = (ms: number | null | undefined) => (ms === undefined ? '' : ms === null || !Number.isFinite(ms) ? '—' : (ms / 1000).toFixed(2));
const ratio = (value: number) => (Number.isFinite(value) ? value.toFixed(2) : '—');

function table(headers: string[], rows: string[][]): string {
  return [`| ${headers.join(' | ')} |`, `| ${headers.map(() => '---').join(' | ')} |`, ...rows.map((row) => `| ${row.join(' | ')} |`)].join(
    '\n',
  );
}

function scaleSection(record: RealAppRecord): string {
  const { result } = record;
  const rawSteps = [...new Set(result.rounds.flatMap((round) => round.raw.steps.map((step) => step.name)))];
  const probe = {
    guarded: median(result.rounds.map((round) => round.execProbe.guardedMs)),
    real: median(result.rounds.map((round) => round.execProbe.realMs)),
    harness: median(result.rounds.map((round) => round.execProbe.harnessPsqlMs)),
    samples: result.rounds.reduce((sum, round) => sum + round.execProbe.samples, 0),
  };
  const waited = record.waits.reduce((sum, wait) => sum + wait.waitedMs, 0);
  const quiet = record.waits.filter((wait) => wait.quiet).length;
  return [
    `### ${scaleName(result.scale)} identities (${result.seededRows.toLocaleString('en')} rows seeded in ${seconds(result.seedingMs)}; custom dump ${(result.dumpBytes / 2 ** 20).toFixed(0)} MiB)`,
    '',
    `\`${record.command}\`, ${result.startedAt} to ${result.finishedAt}, commit ${record.facts.commit}. ` +
      `Load average (1, 5, 15 min) at the start: ${record.loadAtStart.join(', ')}; at the end: ${record.loadAtEnd.join(', ')}. ` +
      `Quiet gate: ${quiet} of ${record.waits.length} measurements started on a quiet machine (${seconds(waited)} waited in all).`,
    ...(record.note ? ['', `**Note**: ${record.note}`] : []),
    '',
    table(
      ['round', 'drill s', 'raw s', 'drill ÷ raw', 'harness CPU s', 'load'],
      result.rounds.map((round, index) => [
        String(index + 1),
        s2(round.drillMs),
        s2(round.raw.wallMs),
        ratio(round.drillMs / round.raw.wallMs),
        s2(round.harnessCpuMs),
        `${round.loadBefore} → ${round.loadAfter}`,
      ]),
    ),
    '',
    table(
      ['raw step (`docker compose exec -T db …`)', ...result.rounds.map((_, index) => `round ${index + 1} s`)],
      [
        ...rawSteps.map((name) => [name, ...result.rounds.map((round) => s2(round.raw.steps.find((step) => step.name === name)?.ms))]),
        ['total (bash wall time)', ...result.rounds.map((round) => s2(round.raw.wallMs))],
      ],
    ),
    '',
    `Environment before the first round: ${seconds(result.environmentMs)}; teardown and evidence after the last: ${!Number.isFinite(result.teardownMs) ? 'not measured' : seconds(result.teardownMs)}. ` +
      `One \`docker compose exec -T db psql -c 'SELECT 1'\` costs ${probe.guarded.toFixed(0)} ms through the blocks' docker (the ownership guard, a node process in front of the CLI), ` +
      `${probe.real.toFixed(0)} ms through the real CLI, and the harness's own psql (db image client, \`docker exec\` into its helper container) ${probe.harness.toFixed(0)} ms (medians of ${probe.samples}).`,
    '',
    table(
      ["environment, before the first round (the drill's own progress steps)", 's'],
      result.environment.map((phase) => [phase.phase, s2(phase.ms)]),
    ),
    '',
    "What the drill's median time is made of (from the step rows below):",
    '',
    table(
      ['part', 's', 'share'],
      Object.entries(splitDrillTime(result.breakdown)).map(([part, ms]) => [part, s2(ms), `${Math.round((ms / result.drillMs) * 100)}%`]),
    ),
    '',
    'The drill step by step (median of the rounds per step):',
    '',
    table(
      ['step (drill order)', 'drill s'],
      [...result.breakdown.map((row) => [row.step, s2(row.drillMs)]), ['**median total**', `**${s2(result.drillMs)}**`]],
    ),
  ].join('\n');
}

export function renderRealAppSection(records: readonly RealAppRecord[]): string {
  const first = records[0];
  if (!first) return '## Price of proof on the real NMIA\n\nNot measured yet: `npm run bench -- --only real-app --app <repo> --scale N`.';
  const { result, facts } = first;
  return [
    '## Price of proof on the real NMIA',
    '',
    `The same drill of \`full-backup\` + \`restore-custom\` (\`DrillRunner\` in process, \`--isolation order\`), on the **real NMIA**: its repository (${result.app.source}, commit ${result.app.commit.slice(0, 8)}), its own docker-compose.yml on the compose stack (services db, api, worker, ui, collector; the drill takes the compose lock as every compose drill does), its own schema (\`create_all\` in its api image) and the seeded real tables. ` +
      `The runbook is the copy corrected for the real app (${result.runbook.replace(/^.*\/(fixtures\/)/, '$1')}): the runbook as given fails full-backup there (no \`./backups\`), and a failed drill has no price of proof. ` +
      `Substitutions, as the journal records them: ${result.app.substitutions.join('; ') || 'none'}; server PostgreSQL ${result.app.serverVersion}.`,
    '',
    "After each round, in the same environment on the database the drill just restored, the bench runs the **raw** baseline: what an operator types by hand on that stack, the runbook's own commands without copies or checks — `docker compose exec -T db pg_dump -U nmia -d nmia -Fc --file=/tmp/…`, `dropdb`, `createdb`, `pg_restore --no-owner --no-privileges` — through the real docker CLI, so the db container's own PostgreSQL 17 clients do the work (the host's are 15, and pg_dump 15 refuses a 17 server). api, worker and collector (the services with database sessions; the runbook's restore stops the same ones) are stopped first, untimed. No replay baseline here: it would double each round, and section 2 measures orchestration on the reference app.",
    '',
    `**Shared machine**: ${facts.cores} cores (${facts.cpuModel}), ${facts.memoryGiB} GiB RAM, Node ${facts.node}; other helpers ran builds, tests and compose drills on it during these runs, so every figure below carries their load (the load averages are next to each). The bench's quiet gate waited at most a bounded time before each measurement (\`--max-wait-s\`), then measured anyway.`,
    '',
    "Under this much foreign load the raw baseline, run minutes after the drill, can be twice as slow or fast as the same commands inside the drill. So the table also divides the drill by **its own raw four** (the runbook's `docker compose exec db pg_dump`, `dropdb`, `createdb`, `pg_restore` as the drill ran them, in the same minutes): what the drill adds around the same work, measured under the same load.",
    '',
    table(
      [
        'scale',
        'drill s',
        'raw s',
        'drill ÷ raw (median of rounds)',
        "drill's own raw four s",
        'drill ÷ its own raw four',
        'rounds',
        'load (1 min) at start',
      ],
      records.map((record) => [
        scaleName(record.result.scale),
        s2(record.result.drillMs),
        s2(record.result.rawMs),
        `**${ratio(record.result.proofRatio)}**`,
        s2(rawFourMs(record.result)),
        `**${ratio(record.result.drillMs / rawFourMs(record.result))}**`,
        `${record.result.rounds.length}${record.note ? ' (see its note)' : ''}`,
        String(record.loadAtStart[0] ?? ''),
      ]),
    ),
    '',
    ...records.flatMap((record) => [scaleSection(record), '']),
  ].join('\n');
}
