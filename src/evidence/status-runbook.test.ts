import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { syntheticJournal } from '../../test-support/synthetic-journal.ts';
import { appendToIndex, status } from './drill-history.ts';
import type { Journal } from './journal.ts';

const NOW = new Date('2026-02-01T12:00:00.000Z');
const RUNBOOK = { path: '/work/runbook/backup-restore.md', sha256: 'e'.repeat(64) };
let root: string;

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'nmia-drill-status-runbook-'));
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

async function record(id: string, outcome: Journal['outcome'], hoursAgo: number, runbook: Partial<Journal['runbook']> = {}): Promise<void> {
  const started = new Date(NOW.getTime() - hoursAgo * 3_600_000);
  const journal = syntheticJournal({
    drillId: id,
    outcome,
    startedAt: started.toISOString(),
    finishedAt: new Date(started.getTime() + 60_000).toISOString(),
    options: { seed: 42, scale: 200, isolation: 'both', only: [], skip: [] },
  });
  journal.runbook = { ...journal.runbook, ...runbook };
  await appendToIndex(root, journal, join(root, `x-${id}`));
}

/** `status` is about one runbook as reviewed, names it, and says what it left out. */
describe('status and the runbook its verdict is about', () => {
  it('ignores a newer drill of a drifted runbook, one run with --allow-drift, and one of another runbook', async () => {
    await record('good0001', 'passed', 10);
    await record('drift001', 'failed', 5, {
      lockState: 'drift',
      drift: [{ kind: 'changed', section: 'S', index: 0, line: 1, message: 'm' }],
    });
    await record('allow001', 'passed', 4, { lockState: 'drift', allowDrift: true });
    await record('other001', 'failed', 3, { path: '/elsewhere/other.md' });
    const result = status(root, { now: NOW, runbook: RUNBOOK });
    expect(result.stale).toBe(false);
    expect(result.lastDrill?.drillId).toBe('good0001');
    expect(result.message).toMatch(/^OK: last passing full drill good0001/);
    expect(result.message).toContain(`runbook: ${RUNBOOK.path} (sha256 ${RUNBOOK.sha256})`);
    expect(result.message).toContain('left out: 2 drill(s) with runbook drift: drift001, allow001');
    expect(result.message).toContain('left out: 1 drill(s) of another runbook: other001');
    expect(result.leftOut.map((group) => group.reason)).toEqual(['with runbook drift', 'of another runbook']);
  });

  it('without the filter, a drifted drill used to count as the last full drill: it no longer does', async () => {
    await record('good0001', 'passed', 10);
    await record('drift001', 'failed', 5, { lockState: 'drift' });
    expect(status(root, { now: NOW }).message).toMatch(/^OK: last passing full drill good0001/);
  });

  it('leaves out a drill of an earlier version of the runbook, and is stale when nothing is left', async () => {
    await record('old00001', 'passed', 10, { sha256: 'a'.repeat(64) });
    const result = status(root, { now: NOW, runbook: RUNBOOK, maxAgeDays: 7 });
    expect(result.stale).toBe(true);
    expect(result.message).toMatch(/^STALE: no drill counts for this runbook \(1 recorded, all left out\)/);
    expect(result.message).toContain('left out: 1 drill(s) of an earlier version of the runbook: old00001');
  });
});
