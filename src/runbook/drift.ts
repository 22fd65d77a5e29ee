import { basename } from 'node:path';
import { UsageError } from '../errors/drill-error.ts';
import type { Block, Runbook } from './runbook.ts';
import { lockPathFor, PIN_COMMAND } from './runbook-lock.ts';
import type { LockEntry, RunbookLock } from './runbook-lock.ts';

/** What a registered procedure declares it covers. */
export interface BlockCoverage {
  procedure: string;
  section: string;
  index: number;
}

export interface NonExecutableDeclaration {
  section: string;
  index: number;
  reason: string;
}

export type Drift =
  /** The block's text differs from the hash pinned in the lock (whatever its status: reviewed text changed). */
  | {
      kind: 'hash-mismatch';
      section: string;
      index: number;
      line: number;
      pinned: string;
      actual: string;
      procedure?: string;
      message: string;
    }
  /** Neither covered by a procedure nor declared non-executable/pending in the lock. */
  | { kind: 'uncovered'; section: string; index: number; line: number; message: string }
  /**
   * Covered by a procedure, but the lock does not record that coverage (no entry, no lock, or another
   * status/procedure): the text the procedure was written against was never reviewed and pinned.
   */
  | { kind: 'unpinned'; section: string; index: number; line: number; procedure: string; message: string }
  /** The lock or a procedure refers to a block that no longer exists. `line` is the pinned line, or 0 if never pinned. */
  | { kind: 'missing-block'; section: string; index: number; line: number; procedure?: string; message: string };

const PLACEHOLDER_REASON = 'no procedure yet';

export function detectDrift(runbook: Runbook, lock: RunbookLock | undefined, coverage: BlockCoverage[]): Drift[] {
  const file = runbook.path;
  const lockFile = lockPathFor(runbook.path);
  const covering = coverageByKey(coverage);
  const pinned = new Map<string, LockEntry>((lock?.entries ?? []).map((e) => [keyOf(e.section, e.index), e]));
  const drifts: Drift[] = [];

  for (const block of runbook.blocks) {
    const key = keyOf(block.sectionTitle, block.index);
    const procedure = covering.get(key);
    const entry = pinned.get(key);
    const at = `${file}:${block.line} "${block.sectionTitle}" block ${block.index}`;
    const base = { section: block.sectionTitle, index: block.index, line: block.line };

    if (entry && entry.sha256 !== block.sha256) {
      const owner = procedure ?? (entry.status === 'covered' ? entry.procedure : undefined);
      const pinnedAs = entry.status === 'covered' ? '' : ` as ${entry.status} ("${entry.reason}")`;
      const review = owner ? `Review the change against procedure ${owner}` : 'Review the change';
      drifts.push({
        kind: 'hash-mismatch',
        ...base,
        pinned: entry.sha256,
        actual: block.sha256,
        ...(owner ? { procedure: owner } : {}),
        message: `${at} changed since it was pinned${pinnedAs} (sha256 ${short(entry.sha256)} → ${short(block.sha256)}). ${review}, then run: ${PIN_COMMAND}`,
      });
      continue;
    }

    if (!entry) {
      if (procedure) {
        const why = lock ? 'but the lock has no entry for it' : `but there is no lock (${lockFile} does not exist)`;
        drifts.push({
          kind: 'unpinned',
          ...base,
          procedure,
          message: `${at} is covered by procedure ${procedure} ${why}. Review the block, then run: ${PIN_COMMAND}`,
        });
      } else {
        const message = lock
          ? `${at} is not covered by any procedure and the lock does not declare it non-executable or pending. Add a procedure for it or declare it non-executable, then run: ${PIN_COMMAND}`
          : `${at} is not covered by any procedure and not pinned (${lockFile} does not exist). Review the runbook, then run: ${PIN_COMMAND}`;
        drifts.push({ kind: 'uncovered', ...base, message });
      }
      continue;
    }

    if (entry.status === 'covered') {
      if (!procedure) {
        drifts.push({
          kind: 'uncovered',
          ...base,
          message: `${at} is pinned as covered by procedure ${entry.procedure}, but no registered procedure covers it. Restore or register the procedure, or re-pin to mark the block pending: ${PIN_COMMAND}`,
        });
      } else if (procedure !== entry.procedure) {
        drifts.push({
          kind: 'unpinned',
          ...base,
          procedure,
          message: `${at} is covered by procedure ${procedure}, but the lock pins it as covered by ${entry.procedure}. Review the coverage change, then run: ${PIN_COMMAND}`,
        });
      }
    } else if (procedure) {
      drifts.push({
        kind: 'unpinned',
        ...base,
        procedure,
        message: `${at} is covered by procedure ${procedure}, but the lock pins it as ${entry.status} ("${entry.reason}"). Review the block, then run: ${PIN_COMMAND}`,
      });
    }
  }

  drifts.push(...missingBlocks(runbook, pinned, covering));
  return drifts;
}

/**
 * The lock for the current runbook text: covered blocks -> covered; declared blocks -> non-executable;
 * every other block keeps its previous non-executable/pending status and reason, or becomes pending.
 * Hashes and lines come from the current runbook. `pinnedAt` stays as before when nothing else changed.
 */
export function pinLock(
  runbook: Runbook,
  coverage: BlockCoverage[],
  previous: RunbookLock | undefined,
  nonExecutable: NonExecutableDeclaration[],
  now: Date = new Date(),
): RunbookLock {
  const exists = new Set(runbook.blocks.map((b) => keyOf(b.sectionTitle, b.index)));
  for (const c of coverage) {
    if (!exists.has(keyOf(c.section, c.index))) {
      throw new UsageError(
        `cannot pin: procedure ${c.procedure} covers "${c.section}" block ${c.index}, which does not exist in ${runbook.path}`,
        {
          fix: `update procedure ${c.procedure}'s block reference to a current section and index (${describeSection(runbook, c.section)})`,
        },
      );
    }
  }
  const declared = new Map<string, NonExecutableDeclaration>();
  for (const d of nonExecutable) {
    const key = keyOf(d.section, d.index);
    if (!exists.has(key)) {
      throw new UsageError(`cannot pin: "${d.section}" block ${d.index} is declared non-executable but does not exist in ${runbook.path}`, {
        fix: `fix the declaration's section and index (${describeSection(runbook, d.section)})`,
      });
    }
    declared.set(key, d);
  }
  const covering = coverageByKey(coverage);
  for (const [key, procedure] of covering) {
    if (declared.has(key)) {
      const d = declared.get(key)!;
      throw new UsageError(
        `cannot pin: "${d.section}" block ${d.index} is both covered by procedure ${procedure} and declared non-executable`,
        {
          fix: "keep one: remove the block from the procedure's coverage or drop the non-executable declaration",
        },
      );
    }
  }
  const before = new Map<string, LockEntry>((previous?.entries ?? []).map((e) => [keyOf(e.section, e.index), e]));

  const entries = runbook.blocks.map((block: Block): LockEntry => {
    const key = keyOf(block.sectionTitle, block.index);
    const base = { section: block.sectionTitle, index: block.index, line: block.line, sha256: block.sha256 };
    const procedure = covering.get(key);
    if (procedure) return { ...base, status: 'covered', procedure };
    const declaration = declared.get(key);
    if (declaration) return { ...base, status: 'non-executable', reason: declaration.reason };
    const old = before.get(key);
    if (old && old.status !== 'covered') return { ...base, status: old.status, reason: old.reason };
    return { ...base, status: 'pending', reason: PLACEHOLDER_REASON };
  });

  const lock: RunbookLock = {
    lockVersion: 1,
    runbook: basename(runbook.path),
    runbookSha256: runbook.sha256,
    pinnedAt: now.toISOString(),
    entries,
  };
  if (previous && sameContent(previous, lock)) lock.pinnedAt = previous.pinnedAt;
  return lock;
}

function missingBlocks(runbook: Runbook, pinned: Map<string, LockEntry>, covering: Map<string, string>): Drift[] {
  const exists = new Set(runbook.blocks.map((b) => keyOf(b.sectionTitle, b.index)));
  const keys = [...new Set([...pinned.keys(), ...covering.keys()])].filter((k) => !exists.has(k));
  const drifts: Drift[] = [];
  for (const key of keys) {
    const entry = pinned.get(key);
    const procedure = covering.get(key) ?? (entry?.status === 'covered' ? entry.procedure : undefined);
    const { section, index } = entry ?? splitKey(key);
    const line = entry?.line ?? 0;
    const refs = [
      entry ? `pinned in the lock${line ? ` at line ${line}` : ''}` : '',
      covering.has(key) ? `covered by procedure ${covering.get(key)}` : '',
    ]
      .filter(Boolean)
      .join(' and ');
    const moved = entry ? runbook.blocks.find((b) => b.sha256 === entry.sha256) : undefined;
    const hint = moved ? `; its pinned text is now "${moved.sectionTitle}" block ${moved.index} (line ${moved.line})` : '';
    const fix = procedure ? `Update procedure ${procedure}'s block reference` : 'Review the removal';
    drifts.push({
      kind: 'missing-block',
      section,
      index,
      line,
      ...(procedure ? { procedure } : {}),
      message: `${runbook.path}${line ? `:${line}` : ''} "${section}" block ${index} no longer exists (${describeSection(runbook, section)}), but it is ${refs}${hint}. ${fix}, then run: ${PIN_COMMAND}`,
    });
  }
  return drifts.sort((a, b) => a.section.localeCompare(b.section) || a.index - b.index);
}

function describeSection(runbook: Runbook, section: string): string {
  const count = runbook.blocks.filter((b) => b.sectionTitle === section).length;
  if (count > 0) return `section "${section}" has ${count} block${count === 1 ? '' : 's'}`;
  if (runbook.sections.some((s) => s.title === section)) return `section "${section}" has no blocks`;
  return `no section is titled "${section}"`;
}

/** Procedures per block key; several procedures on one block are recorded sorted and comma-joined. */
function coverageByKey(coverage: BlockCoverage[]): Map<string, string> {
  const sets = new Map<string, Set<string>>();
  for (const c of coverage) {
    const key = keyOf(c.section, c.index);
    if (!sets.has(key)) sets.set(key, new Set());
    sets.get(key)!.add(c.procedure);
  }
  return new Map([...sets].map(([k, s]) => [k, [...s].sort().join(', ')]));
}

function sameContent(a: RunbookLock, b: RunbookLock): boolean {
  const canonical = (l: RunbookLock): string =>
    JSON.stringify([
      l.lockVersion,
      l.runbook,
      l.runbookSha256,
      l.entries.map((e) => [e.section, e.index, e.line, e.sha256, e.status, e.status === 'covered' ? e.procedure : e.reason]),
    ]);
  return canonical(a) === canonical(b);
}

// JSON keeps the pair unambiguous whatever characters a title contains.
function keyOf(section: string, index: number): string {
  return JSON.stringify([section, index]);
}

function splitKey(key: string): { section: string; index: number } {
  const [section, index] = JSON.parse(key) as [string, number];
  return { section, index };
}

function short(hash: string): string {
  return `${hash.slice(0, 12)}…`;
}
