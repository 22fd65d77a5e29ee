import type { Manifest } from './manifest.ts';

/**
 * A backup taken while the application writes captures one snapshot somewhere between the manifest
 * taken just before it and the one taken just after. Tables that did not change in that window must
 * match exactly; tables that did can only be held to the window's bounds, and are reported as such.
 */
export interface WindowFinding {
  table?: string;
  sequence?: string;
  kind: 'exact-mismatch' | 'outside-window' | 'missing' | 'extra';
  message: string;
}

export interface WindowComparison {
  exactTables: string[];
  /** Tables written during the backup: only bounds could be checked. */
  liveTables: string[];
  problems: WindowFinding[];
}

function between(value: bigint, a: bigint, b: bigint): boolean {
  return value >= (a < b ? a : b) && value <= (a < b ? b : a);
}

export function compareWithBackupWindow(before: Manifest, after: Manifest, restored: Manifest): WindowComparison {
  const result: WindowComparison = { exactTables: [], liveTables: [], problems: [] };
  for (const [table, expected] of Object.entries(before.tables)) {
    const actual = restored.tables[table];
    const later = after.tables[table];
    if (!actual) {
      result.problems.push({ table, kind: 'missing', message: `${table}: missing after restore (${expected.rows} rows backed up)` });
      continue;
    }
    if (!later || (later.rows === expected.rows && later.hash === expected.hash)) {
      result.exactTables.push(table);
      if (actual.rows !== expected.rows) {
        result.problems.push({
          table,
          kind: 'exact-mismatch',
          message: `${table}: ${actual.rows} rows after restore, ${expected.rows} backed up`,
        });
      } else if (actual.hash !== expected.hash) {
        result.problems.push({
          table,
          kind: 'exact-mismatch',
          message: `${table}: content hash differs (${actual.rows} rows, same count)`,
        });
      }
      continue;
    }
    result.liveTables.push(table);
    const matchesAnEnd = [expected, later].some((end) => end.rows === actual.rows && end.hash === actual.hash);
    if (!matchesAnEnd && !between(BigInt(actual.rows), BigInt(expected.rows), BigInt(later.rows))) {
      result.problems.push({
        table,
        kind: 'outside-window',
        message: `${table}: ${actual.rows} rows after restore, outside the ${expected.rows}..${later.rows} rows seen while the backup ran`,
      });
    }
  }
  for (const table of Object.keys(restored.tables)) {
    if (!before.tables[table])
      result.problems.push({ table, kind: 'extra', message: `${table}: present after restore but not in the backed-up database` });
  }
  for (const [sequence, expected] of Object.entries(before.sequences)) {
    const actual = restored.sequences[sequence];
    const later = after.sequences[sequence] ?? expected;
    if (!actual) {
      result.problems.push({ sequence, kind: 'missing', message: `sequence ${sequence}: missing after restore` });
      continue;
    }
    const value = (manifest: { lastValue: string | null; isCalled: boolean }) =>
      manifest.isCalled && manifest.lastValue !== null ? BigInt(manifest.lastValue) : 0n;
    if (!between(value(actual), value(expected), value(later))) {
      result.problems.push({
        sequence,
        kind: later === expected ? 'exact-mismatch' : 'outside-window',
        message: `sequence ${sequence}: last value ${actual.lastValue ?? 'unset'} after restore, backed up ${expected.lastValue ?? 'unset'}${later === expected ? '' : `..${later.lastValue ?? 'unset'}`}`,
      });
    }
  }
  return result;
}
