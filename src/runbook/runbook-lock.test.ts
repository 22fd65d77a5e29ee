import { mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../errors/drill-error.ts';
import { detectDrift } from './drift.ts';
import type { BlockCoverage } from './drift.ts';
import { loadRunbook } from './runbook.ts';
import { lockPathFor, readLock, writeLock } from './runbook-lock.ts';
import type { RunbookLock } from './runbook-lock.ts';

const H1 = 'a'.repeat(64);
const H2 = 'b'.repeat(64);

const sample: RunbookLock = {
  lockVersion: 1,
  runbook: 'backup-restore.md',
  runbookSha256: H1,
  pinnedAt: '2025-02-01T02:00:00.000Z',
  entries: [
    { section: 'Database Backup › Full Backup (Recommended)', index: 0, line: 33, sha256: H1, status: 'covered', procedure: 'full-backup' },
    {
      section: 'Database Backup › Automated Backup Script',
      index: 1,
      line: 103,
      sha256: H2,
      status: 'non-executable',
      reason: 'crontab entry',
    },
    { section: 'Docker Volume Backup', index: 0, line: 185, sha256: H2, status: 'pending', reason: 'no procedure yet' },
  ],
};

describe('lockPathFor', () => {
  it('puts X.lock.json next to X.md', () => {
    expect(lockPathFor('runbook/backup-restore.md')).toBe('runbook/backup-restore.lock.json');
    expect(lockPathFor('/abs/dir/Runbook.MD')).toBe('/abs/dir/Runbook.lock.json');
  });
});

describe('readLock / writeLock', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nmia-lock-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('round-trips, with stable pretty JSON and a trailing newline', async () => {
    const path = join(dir, 'round.lock.json');
    await writeLock(path, sample);
    expect(await readLock(path)).toEqual(sample);
    const text = await readFile(path, 'utf8');
    expect(text.endsWith('}\n')).toBe(true);
    expect(text).toContain('\n  "entries": [\n    {\n      "section": ');
    // Same lock with shuffled keys writes the same bytes.
    const shuffled = JSON.parse(JSON.stringify(sample), (_k, v: unknown) =>
      v && typeof v === 'object' && !Array.isArray(v) ? Object.fromEntries(Object.entries(v).reverse()) : v,
    ) as RunbookLock;
    const path2 = join(dir, 'shuffled.lock.json');
    await writeLock(path2, shuffled);
    expect(await readFile(path2, 'utf8')).toBe(text);
    expect((await readdir(dir)).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  });

  it('returns undefined when there is no lock yet', async () => {
    expect(await readLock(join(dir, 'absent.lock.json'))).toBeUndefined();
  });

  it('rejects a corrupt lock with a one-line cause and a fix', async () => {
    const path = join(dir, 'corrupt.lock.json');
    await writeFile(path, '{"lockVersion": 1, "entries": [');
    const error = (await readLock(path).catch((e: unknown) => e)) as UsageError;
    expect(error).toBeInstanceOf(UsageError);
    expect(error.message).toMatch(new RegExp(`^runbook lock ${path} is not valid JSON \\(.+\\)$`));
    expect(error.message).not.toContain('\n');
    expect(error.fix).toContain('npm run drill -- pin');
  });

  it('names the offending field of a well-formed but invalid lock', async () => {
    const path = join(dir, 'invalid.lock.json');
    const bad = structuredClone(sample) as unknown as { entries: Record<string, unknown>[] };
    bad.entries[1]!.sha256 = 'not-a-hash';
    await writeFile(path, JSON.stringify(bad));
    await expect(readLock(path)).rejects.toThrow(/is malformed: entries\.1\.sha256: expected 64 lowercase hex digits/);

    const unknownStatus = structuredClone(sample) as unknown as { entries: Record<string, unknown>[] };
    unknownStatus.entries[2]!.status = 'skipped';
    await writeFile(path, JSON.stringify(unknownStatus));
    await expect(readLock(path)).rejects.toThrow(/is malformed: entries\.2\.status/);

    await writeFile(path, JSON.stringify({ ...sample, lockVersion: 2 }));
    await expect(readLock(path)).rejects.toThrow(/is malformed: lockVersion/);

    const typo = structuredClone(sample) as unknown as { entries: Record<string, unknown>[] };
    typo.entries[0]!.procedur = 'full-backup';
    await writeFile(path, JSON.stringify(typo));
    await expect(readLock(path)).rejects.toThrow(/is malformed: entries\.0/);
  });

  it('rejects a lock that pins the same block twice', async () => {
    const path = join(dir, 'dup.lock.json');
    await writeFile(path, JSON.stringify({ ...sample, entries: [sample.entries[2], sample.entries[2]] }));
    await expect(readLock(path)).rejects.toThrow(/lists "Docker Volume Backup" block 0 twice/);
  });
});

describe('the committed lock', () => {
  it('pins the current runbook: no drift under the coverage it records', async () => {
    const runbook = await loadRunbook('runbook/backup-restore.md');
    const lock = await readLock(lockPathFor(runbook.path));
    expect(lock, 'runbook/backup-restore.lock.json is missing').toBeDefined();
    expect(lock!.runbook).toBe('backup-restore.md');
    expect(lock!.runbookSha256).toBe(runbook.sha256);
    const coverage: BlockCoverage[] = lock!.entries.flatMap((e) =>
      e.status === 'covered' ? e.procedure.split(', ').map((procedure) => ({ procedure, section: e.section, index: e.index })) : [],
    );
    expect(detectDrift(runbook, lock, coverage)).toEqual([]);
    expect(lock!.entries).toHaveLength(runbook.blocks.length);
  });
});
