import { mkdirSync, utimesSync, writeFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ComposeLock } from './compose-lock.ts';

describe('ComposeLock: one compose drill at a time', () => {
  let dir: string;
  let path: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nmia-lock-test-'));
    path = join(dir, 'compose.lock');
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('makes a second drill wait, says for whom, and gives up with a cause and a fix', async () => {
    const first = await ComposeLock.acquire('drill-a', { path });
    const told: string[] = [];
    const started = Date.now();
    await expect(
      ComposeLock.acquire('drill-b', { path, timeoutMs: 600, pollMs: 100, onWait: (message) => told.push(message) }),
    ).rejects.toMatchObject({
      message: expect.stringMatching(/drill drill-a \(pid \d+, since .*\) still holds .*compose\.lock; compose drills run one at a time/),
      fix: expect.stringMatching(/wait for it to finish/),
    });
    expect(Date.now() - started).toBeGreaterThanOrEqual(500);
    expect(told).toEqual([
      expect.stringMatching(/^waiting for drill drill-a \(pid \d+, since .*\) to finish: compose drills share the project name nmia/),
    ]);
    await first.unlock();
    const second = await ComposeLock.acquire('drill-b', { path, timeoutMs: 1_000 });
    expect(second.held).toBe(true);
    await second.unlock();
    await second.unlock(); // twice is harmless
  });

  it('takes over a lock whose holder died (no longer refreshed)', async () => {
    mkdirSync(path);
    writeFileSync(`${path}.owner.json`, JSON.stringify({ pid: 999_999, drillId: 'crashed', since: '2020-01-01T00:00:00Z' }));
    const old = new Date(Date.now() - 5 * 60_000);
    utimesSync(path, old, old);
    const lock = await ComposeLock.acquire('drill-c', { path, timeoutMs: 1_000 });
    expect(lock.held).toBe(true);
    lock.unlockSync();
  });

  it('waits for a live holder and proceeds once it is released', async () => {
    const first = await ComposeLock.acquire('drill-a', { path });
    setTimeout(() => void first.unlock(), 300);
    const second = await ComposeLock.acquire('drill-b', { path, timeoutMs: 5_000, pollMs: 50 });
    expect(second.held).toBe(true);
    await second.unlock();
  });
});
