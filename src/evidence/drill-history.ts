import { createHash } from 'node:crypto';
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
  /** Runbook findings only. */
  findings: z.number().int(),
  rto: MeasureEntrySchema.optional(),
  rpo: MeasureEntrySchema.optional(),
  /** Relative to the index's directory, posix separators. */
  reportDir: z.string(),
  runbook: z.object({ path: z.string(), sha256: z.string(), lockState: z.string(), allowDrift: z.boolean().optional() }),
  stack: z.string().optional(),
  /**
   * What the run proves: `full` every procedure of the runbook; `partial` an --only/--skip subset;
   * `verify-backup` one backup file. Only full drills count for `status` (entries without it are full).
   */
  scope: z.enum(['full', 'partial', 'verify-backup']).optional(),
  /** sha256 of the bundle's SHA256SUMS when the entry was written: ties the entry to the signed bundle. */
  sumsSha256: z.string().optional(),
  /** entryHash of the entry before this one (absent on the first): deleting or editing an entry breaks the chain. */
  previousHash: z.string().optional(),
});
export type IndexEntry = z.infer<typeof IndexEntrySchema>;

export const DrillIndexSchema = z.object({
  indexVersion: z.literal(INDEX_VERSION),
  drills: z.array(IndexEntrySchema),
});
export type DrillIndex = z.infer<typeof DrillIndexSchema>;

export interface DrillStatus {
  /** Drills left out of the verdict, by reason. */
  leftOut: { reason: string; drillIds: string[] }[];
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
  /**
   * The runbook the verdict is about: only drills of this path, and of this sha256 when given (the file as it is
   * now), count. Without it, drills of any runbook count (drift and --allow-drift are left out either way).
   */
  runbook?: { path: string; sha256?: string };
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
    // What the trend is about: defects of the runbook; application and environment findings are not its fault.
    findings: journal.findings.filter((finding) => finding.kind === 'runbook').length,
    ...(rtoEntry ? { rto: rtoEntry } : {}),
    ...(rpoEntry ? { rpo: rpoEntry } : {}),
    reportDir: relative(reportRoot, reportDir).split(sep).join('/'),
    runbook: {
      path: journal.runbook.path,
      sha256: journal.runbook.sha256,
      lockState: journal.runbook.lockState,
      ...(journal.runbook.allowDrift ? { allowDrift: true } : {}),
    },
    ...(journal.stack ? { stack: journal.stack.kind } : {}),
    scope: scopeOf(journal),
  };
}

function scopeOf(journal: Journal): NonNullable<IndexEntry['scope']> {
  if (journal.runbook.path.startsWith('(none: verify-backup')) return 'verify-backup';
  return journal.options.only.length > 0 || journal.options.skip.length > 0 ? 'partial' : 'full';
}

/** JSON with keys sorted at every level: the same entry always hashes the same, whatever wrote it. */
function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value && typeof value === 'object')
    return `{${Object.keys(value)
      .sort()
      .filter((key) => (value as Record<string, unknown>)[key] !== undefined)
      .map((key) => `${JSON.stringify(key)}:${canonicalJson((value as Record<string, unknown>)[key])}`)
      .join(',')}}`;
  return JSON.stringify(value);
}

/** The hash the next entry holds as its previousHash. */
export function entryHash(entry: IndexEntry): string {
  return createHash('sha256').update(canonicalJson(entry)).digest('hex');
}

/** Links the entries in their order: each holds the previous one's hash. */
function chained(drills: IndexEntry[]): IndexEntry[] {
  const result: IndexEntry[] = [];
  for (const { previousHash: _, ...entry } of drills) {
    const previous = result.at(-1);
    result.push({ ...entry, ...(previous ? { previousHash: entryHash(previous) } : {}) });
  }
  return result;
}

/** The sha256 of `<reportDir>/SHA256SUMS`, if it has one. */
async function sumsHashOf(reportDir: string): Promise<string | undefined> {
  const bytes = await readFile(join(reportDir, 'SHA256SUMS')).catch(() => undefined);
  return bytes && createHash('sha256').update(bytes).digest('hex');
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

/** Signs the index's bytes (the evidence signing key); the signature anchors the chain's head. */
export type IndexSigner = (bytes: Buffer) => Buffer;
export const INDEX_SIGNATURE_FILE = `${INDEX_FILE}.sig`;

/**
 * Atomic write (rename), so a reader never sees half an index; with a signer, `index.json.sig` too. An
 * unsigned write removes an old signature, which would otherwise contradict the new index.
 */
async function writeIndex(reportRoot: string, index: DrillIndex, signer?: IndexSigner): Promise<string> {
  const path = join(reportRoot, INDEX_FILE);
  const content = Buffer.from(`${JSON.stringify(index, null, 2)}\n`);
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temporary, content);
  await rename(temporary, path);
  const signature = join(reportRoot, INDEX_SIGNATURE_FILE);
  if (signer) await writeFile(signature, signer(content));
  else await rm(signature, { force: true });
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
export async function appendToIndex(reportRoot: string, journal: Journal, reportDir: string, signer?: IndexSigner): Promise<string> {
  await mkdir(reportRoot, { recursive: true });
  const sums = await sumsHashOf(reportDir);
  const entry = { ...indexEntryOf(journal, reportDir, reportRoot), ...(sums ? { sumsSha256: sums } : {}) };
  return withIndexLock(reportRoot, async () => {
    const index = readIndexSync(reportRoot);
    const drills = [...index.drills.filter((existing) => existing.drillId !== entry.drillId), entry].sort(byStart);
    return writeIndex(reportRoot, { indexVersion: INDEX_VERSION, drills: chained(drills) }, signer);
  });
}

/** Recreates the index from `<reportRoot>/*\/journal.json`; journals that do not parse are returned, not guessed at. */
export async function rebuildIndex(reportRoot: string, signer?: IndexSigner): Promise<{ path: string; drills: number; skipped: string[] }> {
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
    if (parsed?.success) {
      const sums = await sumsHashOf(join(reportRoot, entry.name));
      drills.push({ ...indexEntryOf(parsed.data, join(reportRoot, entry.name), reportRoot), ...(sums ? { sumsSha256: sums } : {}) });
    } else skipped.push(journalPath);
  }
  const path = await withIndexLock(reportRoot, () =>
    writeIndex(reportRoot, { indexVersion: INDEX_VERSION, drills: chained(drills.sort(byStart)) }, signer),
  );
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
  const all = [...readIndexSync(reportRoot).drills].sort(byStart);
  // A verdict is about one runbook as reviewed: a drill of a changed (drifted) runbook, one run with
  // --allow-drift, or one of another runbook or another version of it says nothing about this one.
  const leftOutBy = new Map<string, string[]>();
  const leave = (entry: IndexEntry, reason: string) => leftOutBy.set(reason, [...(leftOutBy.get(reason) ?? []), entry.drillId]);
  const drills = all.filter((entry) => {
    if (entry.scope === 'verify-backup') return true;
    if (options.runbook && entry.runbook.path !== options.runbook.path) leave(entry, 'of another runbook');
    else if (entry.runbook.lockState === 'drift') leave(entry, 'with runbook drift');
    else if (entry.runbook.allowDrift) leave(entry, 'run with --allow-drift');
    else if (options.runbook?.sha256 && entry.runbook.sha256 !== options.runbook.sha256)
      leave(entry, 'of an earlier version of the runbook');
    else return true;
    return false;
  });
  const leftOut = [...leftOutBy].map(([reason, drillIds]) => ({ reason, drillIds }));
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
    lines.push(
      all.length === 0
        ? `STALE: no drill recorded in ${join(reportRoot, INDEX_FILE)}`
        : `STALE: no drill counts for this runbook (${all.length} recorded, all left out)`,
    );
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
  const about = options.runbook ?? lastFull?.runbook ?? lastDrill?.runbook;
  if (about) lines.push(`runbook: ${about.path}${about.sha256 ? ` (sha256 ${about.sha256})` : ''}`);
  if (ignored > 0) lines.push(`not counted: ${ignored} partial run(s) (--only/--skip or verify-backup)`);
  for (const group of leftOut)
    lines.push(
      `left out: ${group.drillIds.length} drill(s) ${group.reason}: ${group.drillIds.slice(-5).join(', ')}${group.drillIds.length > 5 ? ', …' : ''}`,
    );
  if (lastDrill && lastDrill !== lastPassing && lastDrill !== lastFull) {
    lines.push(
      `last drill: ${lastDrill.drillId} ${outcomeSymbol(lastDrill.outcome)} (${lastDrill.startedAt}, ${lastDrill.findings} finding${lastDrill.findings === 1 ? '' : 's'}) in ${lastDrill.reportDir}`,
    );
  }
  if (trend.length > 0) lines.push(`trend, oldest first: ${trend.map((entry) => outcomeSymbol(entry.outcome)).join(' · ')}`);
  return {
    leftOut,
    ...(lastPassing ? { lastPassing } : {}),
    ...(lastDrill ? { lastDrill } : {}),
    trend,
    stale,
    maxAgeDays,
    message: lines.join('\n'),
  };
}

export interface HistoryProblem {
  drillId: string;
  problem: string;
}

/**
 * Checks reports/index.json as a chain: each entry holds the previous entry's hash, and the hash of its
 * bundle's SHA256SUMS as that bundle still has it. `verifyBundle` checks each bundle itself (files and signature).
 */
export async function verifyHistory(
  reportRoot: string,
  verifyBundle: (dir: string) => Promise<{ ok: boolean; detail: string }>,
  /** Checks index.json.sig against index.json; undefined when no trusted key is known. */
  verifySignature?: (content: Buffer, signature: Buffer) => boolean,
): Promise<{ ok: boolean; entries: number; problems: HistoryProblem[]; lines: string[] }> {
  const { drills } = readIndexSync(reportRoot);
  const problems: HistoryProblem[] = [];
  const lines: string[] = [];
  // The chain shows an entry edited or removed in the middle; only the signature shows the last ones removed.
  const content = await readFile(join(reportRoot, INDEX_FILE)).catch(() => undefined);
  const signature = await readFile(join(reportRoot, INDEX_SIGNATURE_FILE)).catch(() => undefined);
  if (!verifySignature) lines.push(`index signature: not checked (no trusted public key)${signature ? '' : '; the index is unsigned'}`);
  else if (!content || !signature) {
    problems.push({ drillId: '(index)', problem: `${INDEX_SIGNATURE_FILE} is missing: the index is unsigned` });
    lines.push(`index signature: MISSING`);
  } else if (verifySignature(content, signature)) lines.push('index signature: valid');
  else {
    problems.push({ drillId: '(index)', problem: `${INDEX_SIGNATURE_FILE} does not verify: the index was changed after it was signed` });
    lines.push('index signature: INVALID');
  }
  for (const [index, entry] of drills.entries()) {
    const before = problems.length;
    const previous = drills[index - 1];
    const expected = previous ? entryHash(previous) : undefined;
    if (entry.previousHash !== expected)
      problems.push({
        drillId: entry.drillId,
        problem: previous
          ? `previousHash ${entry.previousHash ?? '(none)'} is not the hash of the entry before it (${previous.drillId}): an entry was removed, inserted or edited`
          : 'the first entry holds a previousHash: entries before it were removed',
      });
    const bundle = join(reportRoot, entry.reportDir);
    const sums = await sumsHashOf(bundle);
    if (!entry.sumsSha256) problems.push({ drillId: entry.drillId, problem: 'no sumsSha256: the entry is not tied to a bundle' });
    else if (!sums) problems.push({ drillId: entry.drillId, problem: `its bundle ${entry.reportDir} (or its SHA256SUMS) is gone` });
    else if (sums !== entry.sumsSha256)
      problems.push({
        drillId: entry.drillId,
        problem: `${entry.reportDir}/SHA256SUMS is not the one recorded when the drill was written`,
      });
    if (sums) {
      const result = await verifyBundle(bundle);
      if (!result.ok) problems.push({ drillId: entry.drillId, problem: `bundle ${entry.reportDir}: ${result.detail}` });
    }
    const mine = problems.slice(before);
    lines.push(
      mine.length === 0
        ? `ok      ${entry.drillId} ${entry.startedAt} ${entry.reportDir}`
        : `FAILED  ${entry.drillId} ${entry.startedAt} ${entry.reportDir}\n${mine.map((item) => `        ${item.problem}`).join('\n')}`,
    );
  }
  const ok = problems.length === 0;
  lines.push(
    ok
      ? `OK: ${drills.length} drill(s) in ${join(reportRoot, INDEX_FILE)}, chained, each bundle matching the hash recorded for it`
      : `FAILED: ${problems.length} problem(s) in the history of ${join(reportRoot, INDEX_FILE)}`,
  );
  return { ok, entries: drills.length, problems, lines };
}
