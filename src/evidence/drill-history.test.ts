import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { DrillError } from '../errors/drill-error.ts';
import { appendToIndex, DrillIndexSchema, INDEX_FILE, rebuildIndex, status } from './drill-history.ts';
import type { Journal } from './journal.ts';
import { syntheticJournal } from '../../test-support/synthetic-journal.ts';

let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'nmia-drill-history-'));
});

afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

const DAY = 86_400_000;
const NOW = new Date('2026-02-01T12:00:00.000Z');

function drillAt(id: string, outcome: Journal['outcome'], daysAgo: number, extra: Partial<Journal> = {}): Journal {
  const started = new Date(NOW.getTime() - daysAgo * DAY);
  // A full drill (no --only/--skip) unless a test says otherwise: only those count for status.
  const full = { seed: 42, scale: 200, isolation: 'both' as const, only: [], skip: [] };
  return syntheticJournal({
    drillId: id,
    outcome,
    startedAt: started.toISOString(),
    finishedAt: new Date(started.getTime() + 60_000).toISOString(),
    timing: {},
    options: full,
    ...extra,
  });
}

async function record(journal: Journal): Promise<void> {
  await appendToIndex(root, journal, join(root, `20260101-000000-${journal.drillId}`));
}

async function index() {
  return DrillIndexSchema.parse(JSON.parse(await readFile(join(root, INDEX_FILE), 'utf8')));
}

describe('appendToIndex', () => {
  it('records every drill with its identity, outcome, totals, findings, runbook sha256 and a relative report dir', async () => {
    const journal = drillAt('aaaa0001', 'failed', 1, { timing: { rto: { measuredMs: 4200, targetMs: 900_000 } } });
    await record(journal);
    const [entry] = (await index()).drills;
    expect(entry).toEqual({
      drillId: 'aaaa0001',
      startedAt: journal.startedAt,
      finishedAt: journal.finishedAt,
      outcome: 'failed',
      totals: journal.totals,
      findings: 2,
      rto: { measuredMs: 4200, targetMs: 900_000, verdict: 'met' },
      reportDir: '20260101-000000-aaaa0001',
      runbook: { path: journal.runbook.path, sha256: journal.runbook.sha256, lockState: 'clean' },
      stack: 'emulated',
      scope: 'full',
    });
  });

  it('keeps drills in start order and replaces the entry of a drill written twice', async () => {
    await record(drillAt('later', 'failed', 1));
    await record(drillAt('earlier', 'passed', 3));
    await record(drillAt('later', 'error', 1, { interrupted: true }));
    const drills = (await index()).drills;
    expect(drills.map((entry) => [entry.drillId, entry.outcome])).toEqual([
      ['earlier', 'passed'],
      ['later', 'error'],
    ]);
    expect(drills[1]!.interrupted).toBe(true);
  });

  it('loses no entry when drills finish at the same moment', async () => {
    await Promise.all(Array.from({ length: 12 }, (_, n) => record(drillAt(`par${String(n).padStart(5, '0')}`, 'passed', n / 10))));
    expect((await index()).drills).toHaveLength(12);
  });

  it('refuses a corrupt index with a fix instead of overwriting it', async () => {
    await writeFile(join(root, INDEX_FILE), '{"not":"an index"}');
    await expect(record(drillAt('x', 'passed', 0))).rejects.toBeInstanceOf(DrillError);
    expect(await readFile(join(root, INDEX_FILE), 'utf8')).toBe('{"not":"an index"}');
  });
});

describe('rebuildIndex', () => {
  it('recreates the index from the journals in the report directories and names the unreadable ones', async () => {
    for (const [name, journal] of [
      ['20260101-a', drillAt('aaaa', 'passed', 2)],
      ['20260102-b', drillAt('bbbb', 'failed', 1)],
    ] as const) {
      await mkdir(join(root, name));
      await writeFile(join(root, name, 'journal.json'), JSON.stringify(journal));
    }
    await mkdir(join(root, 'broken'));
    await writeFile(join(root, 'broken', 'journal.json'), '{');
    const rebuilt = await rebuildIndex(root);
    expect(rebuilt.drills).toBe(2);
    expect(rebuilt.skipped).toEqual([join(root, 'broken', 'journal.json')]);
    expect((await index()).drills.map((entry) => [entry.drillId, entry.reportDir])).toEqual([
      ['aaaa', '20260101-a'],
      ['bbbb', '20260102-b'],
    ]);
  });
});

describe('status', () => {
  it('is stale with no index at all', () => {
    const result = status(root, { now: NOW });
    expect(result).toMatchObject({ stale: true, trend: [], maxAgeDays: 7 });
    expect(result.lastPassing).toBeUndefined();
    expect(result.message).toMatch(/^STALE: no drill recorded/);
  });

  it('is fresh when the last full drill passed within the max age', async () => {
    await record(drillAt('fail0001', 'failed', 3));
    await record(drillAt('pass0001', 'passed', 2));
    const result = status(root, { now: NOW });
    expect(result.stale).toBe(false);
    expect(result.lastPassing?.drillId).toBe('pass0001');
    expect(result.message).toMatch(/^OK: last passing full drill pass0001 .*2\.0 days ago.*within 7 days/);
    expect(result.message).toContain('trend, oldest first: FAIL · PASS');
  });

  it('fails when the last full drill that ran to the end failed, even with a recent pass before it; an interrupted one is ignored', async () => {
    await record(drillAt('pass0001', 'passed', 2));
    await record(drillAt('fail0001', 'failed', 1));
    const failing = status(root, { now: NOW });
    expect(failing.stale).toBe(true);
    expect(failing.message).toMatch(/^FAILING: the last full drill fail0001 FAIL .*; last passing: pass0001/);
    await record(drillAt('pass0002', 'passed', 0.5));
    await record(drillAt('intr0001', 'error', 0.2, { interrupted: true }));
    expect(status(root, { now: NOW }).message).toMatch(/^OK: last passing full drill pass0002/);
  });

  it('never counts a partial run (--only/--skip) or a verify-backup towards freshness, unless asked to', async () => {
    await record(drillAt('full0001', 'passed', 10));
    await record(
      drillAt('part0001', 'passed', 0.5, { options: { seed: 42, scale: 200, isolation: 'order', only: ['full-backup'], skip: [] } }),
    );
    const result = status(root, { now: NOW });
    expect(result.stale).toBe(true);
    expect(result.message).toMatch(/^STALE: no passing full drill within the last 7 days; last passing: full0001/);
    expect(result.message).toContain('not counted: 1 partial run(s)');
    expect(status(root, { now: NOW, includePartial: true })).toMatchObject({ stale: false, lastPassing: { drillId: 'part0001' } });
  });

  it('is stale when the last passing drill is older than the max age', async () => {
    await record(drillAt('pass0001', 'passed', 2));
    const result = status(root, { now: NOW, maxAgeDays: 1 });
    expect(result.stale).toBe(true);
    expect(result.message).toMatch(/^STALE: no passing full drill within the last 1 days; last passing: pass0001/);
  });

  it('is stale when drills ran recently but none passed', async () => {
    await record(drillAt('fail0001', 'failed', 0.5));
    await record(drillAt('err00001', 'error', 0.1));
    const result = status(root, { now: NOW, maxAgeDays: 30 });
    expect(result.stale).toBe(true);
    expect(result.message).toMatch(/^FAILING: the last full drill err00001 ERROR/);
  });

  it('gives the last drills as the trend, oldest first, bounded by trendLength', async () => {
    for (let n = 0; n < 14; n++) await record(drillAt(`d${String(n).padStart(7, '0')}`, n % 3 === 0 ? 'failed' : 'passed', 14 - n));
    const result = status(root, { now: NOW });
    expect(result.trend.map((entry) => entry.drillId)).toEqual(Array.from({ length: 10 }, (_, n) => `d${String(n + 4).padStart(7, '0')}`));
    expect(status(root, { now: NOW, trendLength: 3 }).trend).toHaveLength(3);
    expect(result.lastPassing?.drillId).toBe('d0000013');
  });

  it('rejects a max age that is not a positive number', () => {
    expect(() => status(root, { maxAgeDays: 0 })).toThrow(/max age must be a positive number/);
    expect(() => status(root, { maxAgeDays: Number.NaN })).toThrow(DrillError);
  });
});
