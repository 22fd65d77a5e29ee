import { existsSync, readFileSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { z } from 'zod';
import { DrillError } from '../errors/drill-error.ts';
import { JournalSchema, OutcomeSchema, outcomeSymbol, TotalsSchema, type Journal } from './journal.ts';
import { timingMeasures, verdictOf, type TimingMeasure } from './timing-measures.ts';

/*
 * reports/index.json: one entry per drill, so "when did a drill last pass?" needs no journal parsing,
 * and a scheduled job can fail loudly when DR has not been proven for too long.
 */

export const INDEX_FILE = 'index.json';
export const INDEX_VERSION = 1;
export const DEFAULT_MAX_AGE_DAYS = 7;
const DAY_MS = 86_400_000;

const MeasureEntrySchema = z.object({
  measuredMs: z.number().optional(),
  targetMs: z.number().optional(),
  verdict: z.enum(['met', 'missed', 'no-target', 'not-measured']),
});

export const IndexEntrySchema = z.object({
  drillId: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  outcome: OutcomeSchema,
  interrupted: z.boolean().optional(),
  totals: TotalsSchema,
  findings: z.number().int(),
  rto: MeasureEntrySchema.optional(),
  rpo: MeasureEntrySchema.optional(),
  /** Relative to the index's directory, posix separators. */
  reportDir: z.string(),
  runbook: z.object({ path: z.string(), sha256: z.string(), lockState: z.string() }),
  stack: z.string().optional(),
  /**
   * What the run proves: `full` every procedure of the runbook; `partial` an --only/--skip subset;
   * `verify-backup` one backup file. Only full drills count for `status` (entries without it are full).
   */
  scope: z.enum(['full', 'partial', 'verify-backup']).optional(),
});
export type IndexEntry = z.infer<typeof IndexEntrySchema>;

export const DrillIndexSchema = z.object({
  indexVersion: z.literal(INDEX_VERSION),
  drills: z.array(IndexEntrySchema),
});
export type DrillIndex = z.infer<typeof DrillIndexSchema>;

export interface DrillStatus {
  /** The newest drill that passed, if any. */
  lastPassing?: IndexEntry;
  /** The newest drill of any outcome. */
  lastDrill?: IndexEntry;
  /** The last drills, oldest first. */
  trend: IndexEntry[];
  /** No passing drill finished within maxAgeDays (or none at all). */
  stale: boolean;
  maxAgeDays: number;
  message: string;
}

export interface StatusOptions {
  maxAgeDays?: number;
  /** How many drills the trend shows. */
  trendLength?: number;
  now?: Date;
  /** Count --only/--skip subsets too (never a verify-backup): for teams that schedule a subset on purpose. */
  includePartial?: boolean;
}

function measureEntry(measure: TimingMeasure | undefined): z.infer<typeof MeasureEntrySchema> | undefined {
  if (!measure) return undefined;
  return {
    ...(measure.measuredMs !== undefined ? { measuredMs: measure.measuredMs } : {}),
    ...(measure.targetMs !== undefined ? { targetMs: measure.targetMs } : {}),
    verdict: verdictOf(measure),
  };
}

export function indexEntryOf(journal: Journal, reportDir: string, reportRoot: string): IndexEntry {
  const { rto, rpo } = timingMeasures(journal);
  const rtoEntry = measureEntry(rto);
  const rpoEntry = measureEntry(rpo);
  return {
    drillId: journal.drillId,
    startedAt: journal.startedAt,
    ...(journal.finishedAt ? { finishedAt: journal.finishedAt } : {}),
    outcome: journal.outcome,
    ...(journal.interrupted ? { interrupted: true } : {}),
    totals: journal.totals,
    findings: journal.findings.length,
    ...(rtoEntry ? { rto: rtoEntry } : {}),
    ...(rpoEntry ? { rpo: rpoEntry } : {}),
    reportDir: relative(reportRoot, reportDir).split(sep).join('/'),
    runbook: { path: journal.runbook.path, sha256: journal.runbook.sha256, lockState: journal.runbook.lockState },
    ...(journal.stack ? { stack: journal.stack.kind } : {}),
    scope: scopeOf(journal),
  };
}

function scopeOf(journal: Journal): NonNullable<IndexEntry['scope']> {
  if (journal.runbook.path.startsWith('(none: verify-backup')) return 'verify-backup';
  return journal.options.only.length > 0 || journal.options.skip.length > 0 ? 'partial' : 'full';
}

function parseIndex(text: string, path: string): DrillIndex {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    data = undefined;
  }
  const parsed = DrillIndexSchema.safeParse(data);
  if (!parsed.success) {
    throw new DrillError(`${path} is not a drill index (version ${INDEX_VERSION})`, {
      fix: 'move it aside; rebuildIndex(<report root>) recreates it from the journals in the report directories',
    });
  }
  return parsed.data;
}

export function readIndexSync(reportRoot: string): DrillIndex {
  const path = join(reportRoot, INDEX_FILE);
  if (!existsSync(path)) return { indexVersion: INDEX_VERSION, drills: [] };
  return parseIndex(readFileSync(path, 'utf8'), path);
}

function byStart(a: IndexEntry, b: IndexEntry): number {
  return Date.parse(a.startedAt) - Date.parse(b.startedAt) || a.drillId.localeCompare(b.drillId);
}

/** Atomic write (rename), so a reader never sees half an index. */
async function writeIndex(reportRoot: string, index: DrillIndex): Promise<string> {
  const path = join(reportRoot, INDEX_FILE);
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temporary, `${JSON.stringify(index, null, 2)}\n`);
  await rename(temporary, path);
  return path;
}

/** Two drills finishing together must not lose each other's entry: a lock directory serialises updates. */
async function withIndexLock<T>(reportRoot: string, work: () => Promise<T>): Promise<T> {
  const lock = join(reportRoot, `${INDEX_FILE}.lock`);
  const deadline = Date.now() + 10_000;
  for (;;) {
    try {
      await mkdir(lock);
      break;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      // A lock left by a killed process is stale after a minute.
      const age = Date.now() - ((await stat(lock).catch(() => undefined))?.mtimeMs ?? Date.now());
      if (age > 60_000) await rm(lock, { recursive: true, force: true });
      else if (Date.now() > deadline) {
        throw new DrillError(`${lock} is held by another drill`, { fix: `if no drill is running, remove it: rmdir ${lock}` });
      } else await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }
  try {
    return await work();
  } finally {
    await rm(lock, { recursive: true, force: true });
  }
}

/**
 * Adds the drill to `<reportRoot>/index.json`, or replaces its entry when the same drill is written
 * again (the journal of an interrupted drill is written twice). Returns the index path.
 */
export async function appendToIndex(reportRoot: string, journal: Journal, reportDir: string): Promise<string> {
  await mkdir(reportRoot, { recursive: true });
  const entry = indexEntryOf(journal, reportDir, reportRoot);
  return withIndexLock(reportRoot, async () => {
    const index = readIndexSync(reportRoot);
    const drills = [...index.drills.filter((existing) => existing.drillId !== entry.drillId), entry].sort(byStart);
    return writeIndex(reportRoot, { indexVersion: INDEX_VERSION, drills });
  });
}

/** Recreates the index from `<reportRoot>/*\/journal.json`; journals that do not parse are returned, not guessed at. */
export async function rebuildIndex(reportRoot: string): Promise<{ path: string; drills: number; skipped: string[] }> {
  const drills: IndexEntry[] = [];
  const skipped: string[] = [];
  for (const entry of await readdir(reportRoot, { withFileTypes: true })) {
    if (!entry.isDirectory()) continue;
    const journalPath = join(reportRoot, entry.name, 'journal.json');
    const text = await readFile(journalPath, 'utf8').catch(() => undefined);
    if (text === undefined) continue;
    let parsed: ReturnType<typeof JournalSchema.safeParse> | undefined;
    try {
      parsed = JournalSchema.safeParse(JSON.parse(text));
    } catch {
      parsed = undefined;
    }
    if (parsed?.success) drills.push(indexEntryOf(parsed.data, join(reportRoot, entry.name), reportRoot));
    else skipped.push(journalPath);
  }
  const path = await withIndexLock(reportRoot, () => writeIndex(reportRoot, { indexVersion: INDEX_VERSION, drills: drills.sort(byStart) }));
  return { path, drills: drills.length, skipped };
}

function endOf(entry: IndexEntry): number {
  return Date.parse(entry.finishedAt ?? entry.startedAt);
}

function age(ms: number): string {
  if (ms < 0) return 'in the future (clock skew?)';
  if (ms < 3_600_000) return `${Math.round(ms / 60_000)} min ago`;
  if (ms < DAY_MS) return `${Math.round(ms / 3_600_000)} h ago`;
  return `${(ms / DAY_MS).toFixed(1)} days ago`;
}

/**
 * Is DR proven recently? Stale when no drill passed within `maxAgeDays` (default 7) of `now`.
 * Reads `<reportRoot>/index.json`; a missing index means no drill is recorded, which is stale.
 */
export function status(reportRoot: string, options: StatusOptions = {}): DrillStatus {
  const maxAgeDays = options.maxAgeDays ?? DEFAULT_MAX_AGE_DAYS;
  if (!(maxAgeDays > 0))
    throw new DrillError(`max age must be a positive number of days, got ${String(maxAgeDays)}`, { fix: 'e.g. --max-age 7' });
  const now = (options.now ?? new Date()).getTime();
  const drills = [...readIndexSync(reportRoot).drills].sort(byStart);
  const trend = drills.slice(-(options.trendLength ?? 10));
  const lastDrill = drills.at(-1);
  // A subset (--only/--skip) or one verified backup file proves less than the runbook: it never keeps the gate green.
  const counted = new Set(options.includePartial ? ['full', 'partial'] : ['full']);
  const full = drills.filter((entry) => counted.has(entry.scope ?? 'full'));
  const lastPassing = [...full].reverse().find((entry) => entry.outcome === 'passed');
  // An interrupted drill proves nothing either way; a full drill that ran to the end and did not pass does.
  const lastFull = [...full].reverse().find((entry) => !entry.interrupted);
  const failing = lastFull !== undefined && lastFull.outcome !== 'passed';
  const stale = !lastPassing || failing || now - endOf(lastPassing) > maxAgeDays * DAY_MS;
  const ignored = drills.length - full.length;
  const lines: string[] = [];
  const passingWhen = lastPassing ? `${lastPassing.finishedAt ?? lastPassing.startedAt}, ${age(now - endOf(lastPassing))}` : '';
  if (!lastDrill) {
    lines.push(`STALE: no drill recorded in ${join(reportRoot, INDEX_FILE)}`);
  } else if (failing) {
    lines.push(
      `FAILING: the last full drill ${lastFull.drillId} ${outcomeSymbol(lastFull.outcome)} (${lastFull.startedAt}, ${lastFull.findings} finding${lastFull.findings === 1 ? '' : 's'}) in ${lastFull.reportDir}${lastPassing ? `; last passing: ${lastPassing.drillId} (${passingWhen})` : ''}`,
    );
  } else if (!lastPassing) {
    lines.push(`STALE: no full drill has passed (${full.length} full of ${drills.length} recorded)`);
  } else {
    lines.push(
      stale
        ? `STALE: no passing full drill within the last ${maxAgeDays} days; last passing: ${lastPassing.drillId} (${passingWhen})`
        : `OK: last passing ${lastPassing.scope ?? 'full'} drill ${lastPassing.drillId} (${passingWhen}), within ${maxAgeDays} days`,
    );
  }
  if (ignored > 0) lines.push(`not counted: ${ignored} partial run(s) (--only/--skip or verify-backup)`);
  if (lastDrill && lastDrill !== lastPassing && lastDrill !== lastFull) {
    lines.push(
      `last drill: ${lastDrill.drillId} ${outcomeSymbol(lastDrill.outcome)} (${lastDrill.startedAt}, ${lastDrill.findings} finding${lastDrill.findings === 1 ? '' : 's'}) in ${lastDrill.reportDir}`,
    );
  }
  if (trend.length > 0) lines.push(`trend, oldest first: ${trend.map((entry) => outcomeSymbol(entry.outcome)).join(' · ')}`);
  return {
    ...(lastPassing ? { lastPassing } : {}),
    ...(lastDrill ? { lastDrill } : {}),
    trend,
    stale,
    maxAgeDays,
    message: lines.join('\n'),
  };
}
