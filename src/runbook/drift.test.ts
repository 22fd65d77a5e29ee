import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../errors/drill-error.ts';
import { detectDrift, pinLock } from './drift.ts';
import type { BlockCoverage, Drift, NonExecutableDeclaration } from './drift.ts';
import { loadRunbook, parseRunbook } from './runbook.ts';
import type { Runbook } from './runbook.ts';
import type { RunbookLock } from './runbook-lock.ts';

const FULL = 'Database Backup › Full Backup (Recommended)';
const CUSTOM = 'Database Restore › Restore from Custom Format Dump';
const AUTOMATED = 'Database Backup › Automated Backup Script';
const VOLUME_RESTORE = 'Docker Volume Backup › Restore Docker Volume';

const COVERAGE: BlockCoverage[] = [
  { procedure: 'full-backup', section: FULL, index: 0 },
  { procedure: 'restore-custom', section: CUSTOM, index: 0 },
];
const NON_EXECUTABLE: NonExecutableDeclaration[] = [
  { section: AUTOMATED, index: 1, reason: 'crontab entry: parsed and checked by the automated-backup procedure, not executed' },
];
const NOW = new Date('2025-02-01T02:00:00.000Z');

let dir: string;
let original: string;
let pinned: RunbookLock;

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nmia-drift-'));
  original = await readFile('runbook/backup-restore.md', 'utf8');
  pinned = pinLock(await loadRunbook('runbook/backup-restore.md'), COVERAGE, undefined, NON_EXECUTABLE, NOW);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

/** A copy of the real runbook in the temp dir with one exact edit applied (the edit must hit). */
async function editedCopy(name: string, from: string, to: string): Promise<Runbook> {
  expect(original.split(from).length - 1, `edit target must occur exactly once: ${from}`).toBe(1);
  const path = join(dir, name);
  await writeFile(path, original.replace(from, to));
  return loadRunbook(path);
}

const kinds = (drifts: Drift[]) => drifts.map((d) => [d.kind, d.section, d.index]);

describe('pinLock', () => {
  it('pins every block in document order with the declared statuses', async () => {
    const runbook = await loadRunbook('runbook/backup-restore.md');
    expect(pinned.runbook).toBe('backup-restore.md');
    expect(pinned.runbookSha256).toBe(runbook.sha256);
    expect(pinned.pinnedAt).toBe(NOW.toISOString());
    expect(pinned.entries.map((e) => [e.section, e.index, e.line, e.sha256])).toEqual(
      runbook.blocks.map((b) => [b.sectionTitle, b.index, b.line, b.sha256]),
    );
    expect(pinned.entries.filter((e) => e.status === 'covered').map((e) => [e.section, e.procedure])).toEqual([
      [FULL, 'full-backup'],
      [CUSTOM, 'restore-custom'],
    ]);
    expect(pinned.entries.filter((e) => e.status === 'non-executable').map((e) => [e.section, e.index, e.line])).toEqual([
      [AUTOMATED, 1, 103],
    ]);
    expect(pinned.entries.filter((e) => e.status === 'pending')).toHaveLength(runbook.blocks.length - 3);
    expect(pinned.entries.find((e) => e.section === VOLUME_RESTORE)).toMatchObject({ status: 'pending', reason: 'no procedure yet' });
  });

  it('keeps previous reasons, demotes dropped coverage to pending, and keeps pinnedAt when nothing changed', async () => {
    const runbook = await loadRunbook('runbook/backup-restore.md');
    const previous = structuredClone(pinned);
    const volume = previous.entries.find((e) => e.section === VOLUME_RESTORE)!;
    Object.assign(volume, { status: 'non-executable', reason: 'needs the compose stack' });

    const later = new Date('2025-03-01T00:00:00.000Z');
    const repinned = pinLock(runbook, [COVERAGE[0]!], previous, [], later);
    expect(repinned.entries.find((e) => e.section === VOLUME_RESTORE)).toMatchObject({
      status: 'non-executable',
      reason: 'needs the compose stack',
    });
    expect(repinned.entries.find((e) => e.section === AUTOMATED && e.index === 1)).toMatchObject({ status: 'non-executable' });
    expect(repinned.entries.find((e) => e.section === CUSTOM)).toMatchObject({ status: 'pending', reason: 'no procedure yet' });
    expect(repinned.pinnedAt).toBe(later.toISOString());

    expect(pinLock(runbook, COVERAGE, pinned, NON_EXECUTABLE, later).pinnedAt).toBe(NOW.toISOString());
  });

  it('refuses coverage or declarations of blocks that do not exist, and conflicting ones', async () => {
    const runbook = await loadRunbook('runbook/backup-restore.md');
    expect(() => pinLock(runbook, [{ procedure: 'full-backup', section: FULL, index: 1 }], undefined, [])).toThrow(
      /procedure full-backup covers "Database Backup › Full Backup \(Recommended\)" block 1, which does not exist/,
    );
    expect(() => pinLock(runbook, [], undefined, [{ section: 'Cron', index: 0, reason: 'x' }])).toThrow(UsageError);
    expect(() => pinLock(runbook, [{ procedure: 'automated-backup', section: AUTOMATED, index: 1 }], undefined, NON_EXECUTABLE)).toThrow(
      /both covered by procedure automated-backup and declared non-executable/,
    );
  });
});

describe('detectDrift', () => {
  it('finds nothing when the runbook matches the lock', async () => {
    expect(detectDrift(await loadRunbook('runbook/backup-restore.md'), pinned, COVERAGE)).toEqual([]);
  });

  it('reports one changed character in a covered block, naming the section, line and procedure', async () => {
    const copy = await editedCopy('one-char.md', '  -Fc \\\n  --file=/tmp/nmia_backup.dump', '  -Fp \\\n  --file=/tmp/nmia_backup.dump');
    const drifts = detectDrift(copy, pinned, COVERAGE);
    expect(drifts).toHaveLength(1);
    const drift = drifts[0]!;
    expect(drift).toMatchObject({ kind: 'hash-mismatch', section: FULL, index: 0, line: 33, procedure: 'full-backup' });
    if (drift.kind !== 'hash-mismatch') throw new Error('unreachable');
    expect(drift.pinned).toBe(pinned.entries[0]!.sha256);
    expect(drift.actual).toBe(copy.blocks[0]!.sha256);
    expect(drift.message).toBe(
      `${copy.path}:33 "${FULL}" block 0 changed since it was pinned (sha256 ${drift.pinned.slice(0, 12)}… → ${drift.actual.slice(0, 12)}…). ` +
        'Review the change against procedure full-backup, then run: npm run drill -- pin',
    );
  });

  it('treats a change in a pending or non-executable block as drift too', async () => {
    const volume = await editedCopy('volume.md', 'docker volume rm nmai_pgdata', 'docker volume rm nmia_pgdata');
    expect(detectDrift(volume, pinned, COVERAGE)).toMatchObject([
      {
        kind: 'hash-mismatch',
        section: VOLUME_RESTORE,
        index: 0,
        line: 201,
        message: expect.stringContaining('pinned as pending ("no procedure yet")'),
      },
    ]);
    const cron = await editedCopy('cron.md', '0 2 * * *', '0 3 * * *');
    expect(kinds(detectDrift(cron, pinned, COVERAGE))).toEqual([['hash-mismatch', AUTOMATED, 1]]);
  });

  it('ignores prose edits and moved lines: only block text is pinned', async () => {
    const copy = await editedCopy('prose.md', 'Use `pg_dump` in custom format', 'Use `pg_dump`\n\nin custom format');
    expect(copy.sha256).not.toBe(pinned.runbookSha256);
    expect(copy.blocks[0]!.line).toBe(35);
    expect(detectDrift(copy, pinned, COVERAGE)).toEqual([]);
    expect(pinLock(copy, COVERAGE, pinned, NON_EXECUTABLE).entries[0]!.line).toBe(35);
  });

  it('reports a block the lock does not know and no procedure covers as uncovered', async () => {
    const runbook = await loadRunbook('runbook/backup-restore.md');
    const lock = structuredClone(pinned);
    lock.entries = lock.entries.filter((e) => e.section !== VOLUME_RESTORE);
    const drifts = detectDrift(runbook, lock, COVERAGE);
    expect(drifts).toEqual([
      {
        kind: 'uncovered',
        section: VOLUME_RESTORE,
        index: 0,
        line: 201,
        message:
          `runbook/backup-restore.md:201 "${VOLUME_RESTORE}" block 0 is not covered by any procedure and the lock does not declare it ` +
          'non-executable or pending. Add a procedure for it or declare it non-executable, then run: npm run drill -- pin',
      },
    ]);
  });

  it('accepts pending blocks in the lock without a procedure', () => {
    const md = '# T\n## Run\n```bash\necho one\n```\n```bash\necho two\n```\n';
    const runbook = parseRunbook(md, 'small.md');
    const coverage = [{ procedure: 'one', section: 'Run', index: 0 }];
    const lock = pinLock(runbook, coverage, undefined, []);
    expect(lock.entries[1]).toMatchObject({ status: 'pending', reason: 'no procedure yet' });
    expect(detectDrift(runbook, lock, coverage)).toEqual([]);
    // The same block without its lock entry is drift.
    expect(kinds(detectDrift(runbook, { ...lock, entries: [lock.entries[0]!] }, coverage))).toEqual([['uncovered', 'Run', 1]]);
  });

  it('reports a renamed section as missing-block, with where its text went', async () => {
    const copy = await editedCopy('renamed.md', '### Restore from Custom Format Dump', '### Restore from a Custom-Format Dump');
    const drifts = detectDrift(copy, pinned, COVERAGE);
    expect(kinds(drifts)).toEqual([
      ['uncovered', 'Database Restore › Restore from a Custom-Format Dump', 0],
      ['missing-block', CUSTOM, 0],
    ]);
    const missing = drifts[1]!;
    expect(missing).toMatchObject({ line: 113, procedure: 'restore-custom' });
    expect(missing.message).toBe(
      `${copy.path}:113 "${CUSTOM}" block 0 no longer exists (no section is titled "${CUSTOM}"), but it is pinned in the lock at line 113 ` +
        'and covered by procedure restore-custom; its pinned text is now "Database Restore › Restore from a Custom-Format Dump" block 0 (line 113). ' +
        "Update procedure restore-custom's block reference, then run: npm run drill -- pin",
    );
    // Pinning cannot paper over it while the procedure still points at the old title.
    expect(() => pinLock(copy, COVERAGE, pinned, NON_EXECUTABLE)).toThrow(/procedure restore-custom covers .* which does not exist/);
  });

  it('reports coverage of a block that was never there as missing-block without a line', async () => {
    const runbook = await loadRunbook('runbook/backup-restore.md');
    const drifts = detectDrift(runbook, pinned, [...COVERAGE, { procedure: 'full-backup', section: FULL, index: 3 }]);
    expect(drifts).toMatchObject([{ kind: 'missing-block', section: FULL, index: 3, line: 0, procedure: 'full-backup' }]);
    expect(drifts[0]!.message).toMatch(
      /^runbook\/backup-restore\.md "Database Backup › Full Backup \(Recommended\)" block 3 no longer exists \(section .* has 1 block\)/,
    );
  });

  it('without a lock, every block is drift that says to pin', async () => {
    const runbook = await loadRunbook('runbook/backup-restore.md');
    const drifts = detectDrift(runbook, undefined, COVERAGE);
    expect(drifts).toHaveLength(runbook.blocks.length);
    expect(drifts.filter((d) => d.kind === 'unpinned').map((d) => d.section)).toEqual([FULL, CUSTOM]);
    expect(drifts.filter((d) => d.kind === 'uncovered')).toHaveLength(runbook.blocks.length - 2);
    for (const d of drifts) {
      expect(d.message).toContain('runbook/backup-restore.lock.json does not exist');
      expect(d.message).toMatch(/run: npm run drill -- pin$/);
    }
  });

  it('reports a pinned procedure that is no longer registered, and coverage the lock does not record', async () => {
    const runbook = await loadRunbook('runbook/backup-restore.md');
    expect(detectDrift(runbook, pinned, [COVERAGE[0]!])).toMatchObject([
      {
        kind: 'uncovered',
        section: CUSTOM,
        message: expect.stringContaining('pinned as covered by procedure restore-custom, but no registered procedure covers it'),
      },
    ]);
    const more = [...COVERAGE, { procedure: 'volume-restore', section: VOLUME_RESTORE, index: 0 }];
    expect(detectDrift(runbook, pinned, more)).toMatchObject([
      {
        kind: 'unpinned',
        section: VOLUME_RESTORE,
        procedure: 'volume-restore',
        message: expect.stringContaining('but the lock pins it as pending'),
      },
    ]);
    const renamed = [{ ...COVERAGE[0]!, procedure: 'full-backup-v2' }, COVERAGE[1]!];
    expect(kinds(detectDrift(runbook, pinned, renamed))).toEqual([['unpinned', FULL, 0]]);
    // Re-pinning records the new coverage and the drift is gone.
    expect(detectDrift(runbook, pinLock(runbook, more, pinned, NON_EXECUTABLE), more)).toEqual([]);
  });
});
