/**
 * Compares two Manifests (rungs 3 and 4 of the verification ladder). The differences name the
 * table, sequence or schema object, so a report can say what a restore lost without a re-run.
 */
import type { Manifest, SequenceManifest } from './manifest.ts';

export type ManifestDifference =
  | { kind: 'table-missing' | 'table-extra'; table: string; message: string }
  | { kind: 'row-count'; table: string; expected: number; actual: number; message: string }
  | { kind: 'content-hash'; table: string; expected: string; actual: string; message: string }
  | { kind: 'sequence'; sequence: string; expected: string | null; actual: string | null; message: string }
  | { kind: 'sequence-behind'; sequence: string; lastValue: string | null; maxOwnedValue: string; message: string }
  | {
      kind: 'schema-object-missing' | 'schema-object-extra' | 'schema-object-changed';
      object: string;
      category: 'structure' | 'privilege';
      message: string;
    };

export type SequenceBehind = Extract<ManifestDifference, { kind: 'sequence-behind' }>;

/** Tables and sequences of the public schema are named without it, as an operator would. */
function display(name: string): string {
  return name.startsWith('public.') ? name.slice('public.'.length) : name;
}

function sorted<T>(keys: Iterable<T>): T[] {
  return [...keys].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function rows(count: number): string {
  return `${count} ${count === 1 ? 'row' : 'rows'}`;
}

function clip(text: string, max = 160): string {
  const oneLine = JSON.stringify(text);
  return oneLine.length > max ? `${oneLine.slice(0, max - 1)}…"` : oneLine;
}

/** Points at the first differing line, so a 200-line function body still gives a readable message. */
function describeChange(expected: string, actual: string): string {
  const a = expected.split('\n');
  const b = actual.split('\n');
  const line = a.findIndex((text, i) => text !== b[i]);
  const at = line === -1 ? a.length : line;
  const where = a.length > 1 || b.length > 1 ? ` at line ${at + 1}` : '';
  return `changed${where}: expected ${clip(a[at] ?? '(end)')}, found ${clip(b[at] ?? '(end)')}`;
}

function sequenceState(sequence: SequenceManifest): string {
  return `last_value ${sequence.lastValue ?? 'NULL'} (${sequence.isCalled ? 'called' : 'not called'})`;
}

function categoryOf(object: string): 'structure' | 'privilege' {
  return object.startsWith('grant ') ? 'privilege' : 'structure';
}

/**
 * Sequences whose next nextval() would return a value their owning column already holds
 * (the classic "duplicate key" after a restore that forgot setval). Descending sequences are
 * not judged: the manifest records max(), which only bounds ascending ones.
 */
export function sequencesBehind(manifest: Manifest): SequenceBehind[] {
  const differences: SequenceBehind[] = [];
  for (const name of sorted(Object.keys(manifest.sequences))) {
    const sequence = manifest.sequences[name]!;
    const max = sequence.maxOwnedValue;
    if (!sequence.ownedBy || max === undefined || max === null || !/^-?\d+$/.test(max)) continue;
    const increment = BigInt(sequence.increment ?? '1');
    if (increment <= 0n) continue;
    const owner = display(sequence.ownedBy);
    if (sequence.lastValue === null) {
      differences.push({
        kind: 'sequence-behind',
        sequence: name,
        lastValue: null,
        maxOwnedValue: max,
        message: `sequence ${display(name)} has no readable last_value but ${owner} holds values up to ${max}`,
      });
      continue;
    }
    const last = BigInt(sequence.lastValue);
    const next = sequence.isCalled ? last + increment : last;
    if (next <= BigInt(max)) {
      differences.push({
        kind: 'sequence-behind',
        sequence: name,
        lastValue: sequence.lastValue,
        maxOwnedValue: max,
        message: `sequence ${display(name)} is behind its table: nextval() would return ${next} but max(${owner}) is ${max}; the next insert collides`,
      });
    }
  }
  return differences;
}

/**
 * Everything in which `actual` (the restored database) differs from `expected` (the backed-up
 * state). A sequence that is behind its table in `actual` but was not in `expected` is reported
 * as 'sequence-behind' in addition to its 'sequence' value difference.
 */
export function diffManifests(expected: Manifest, actual: Manifest): ManifestDifference[] {
  const differences: ManifestDifference[] = [];

  for (const table of sorted(new Set([...Object.keys(expected.tables), ...Object.keys(actual.tables)]))) {
    const want = expected.tables[table];
    const got = actual.tables[table];
    const name = display(table);
    if (want && !got) {
      differences.push({ kind: 'table-missing', table, message: `${name}: table missing (expected ${rows(want.rows)})` });
    } else if (!want && got) {
      differences.push({ kind: 'table-extra', table, message: `${name}: unexpected table (${rows(got.rows)})` });
    } else if (want && got) {
      if (want.rows !== got.rows) {
        const delta = got.rows - want.rows;
        differences.push({
          kind: 'row-count',
          table,
          expected: want.rows,
          actual: got.rows,
          message: `${name}: ${rows(got.rows)}, expected ${want.rows} (${Math.abs(delta)} ${delta < 0 ? 'fewer' : 'more'})`,
        });
      } else if (want.hash !== got.hash) {
        differences.push({
          kind: 'content-hash',
          table,
          expected: want.hash,
          actual: got.hash,
          message: `${name}: content hash differs (${rows(got.rows)}, same count)`,
        });
      }
    }
  }

  for (const sequence of sorted(new Set([...Object.keys(expected.sequences), ...Object.keys(actual.sequences)]))) {
    const want = expected.sequences[sequence];
    const got = actual.sequences[sequence];
    const name = display(sequence);
    if (want && !got) {
      differences.push({
        kind: 'sequence',
        sequence,
        expected: want.lastValue,
        actual: null,
        message: `sequence ${name}: missing (expected ${sequenceState(want)})`,
      });
    } else if (!want && got) {
      differences.push({
        kind: 'sequence',
        sequence,
        expected: null,
        actual: got.lastValue,
        message: `sequence ${name}: unexpected sequence (${sequenceState(got)})`,
      });
    } else if (want && got && (want.lastValue !== got.lastValue || want.isCalled !== got.isCalled)) {
      differences.push({
        kind: 'sequence',
        sequence,
        expected: want.lastValue,
        actual: got.lastValue,
        message: `sequence ${name}: ${sequenceState(got)}, expected ${sequenceState(want)}`,
      });
    }
  }
  const alreadyBehind = new Set(sequencesBehind(expected).map((d) => d.sequence));
  differences.push(...sequencesBehind(actual).filter((d) => !alreadyBehind.has(d.sequence)));

  const want = expected.schema.objects;
  const got = actual.schema.objects;
  if (expected.schema.fingerprint !== actual.schema.fingerprint) {
    for (const object of sorted(new Set([...Object.keys(want), ...Object.keys(got)]))) {
      const category = categoryOf(object);
      const before = want[object];
      const after = got[object];
      if (before !== undefined && after === undefined) {
        const detail = category === 'privilege' ? ` (${before})` : '';
        differences.push({ kind: 'schema-object-missing', object, category, message: `${object}: missing${detail}` });
      } else if (before === undefined && after !== undefined) {
        const detail = category === 'privilege' ? ` (${after})` : '';
        differences.push({ kind: 'schema-object-extra', object, category, message: `${object}: unexpected${detail}` });
      } else if (before !== undefined && after !== undefined && before !== after) {
        differences.push({ kind: 'schema-object-changed', object, category, message: `${object}: ${describeChange(before, after)}` });
      }
    }
  }
  return differences;
}
