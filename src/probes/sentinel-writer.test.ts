import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AppProcess } from '../../test-support/app-process.ts';
import { SeededNmiaDatabase } from '../../test-support/seeded-nmia-database.ts';
import type { StartedAppProcess } from '../../test-support/started-app-process.ts';
import { freePort } from '../postgres/free-port.ts';
import { computeRpo, latestSentinel, SentinelWriter } from './sentinel-writer.ts';

describe('computeRpo', () => {
  const disasterAt = '2026-01-01T12:00:10.000Z';

  it('is the write time between the newest acknowledged sentinel and the newest surviving one', () => {
    expect(
      computeRpo({
        acknowledged: { id: 50, writtenAt: '2026-01-01T12:00:09.800Z' },
        afterRecovery: { id: 40, writtenAt: '2026-01-01T12:00:07.800Z' },
        disasterAt,
      }),
    ).toMatchObject({ rpoMs: 2_000, lostWrites: 10, explanation: expect.stringMatching(/2000 ms, 10 acknowledged writes lost/) });
  });

  it('is 0 when the newest acknowledged sentinel survived, or one written after the disaster did', () => {
    const acknowledged = { id: 50, writtenAt: '2026-01-01T12:00:09.800Z' };
    expect(computeRpo({ acknowledged, afterRecovery: acknowledged, disasterAt })).toMatchObject({ rpoMs: 0, lostWrites: 0 });
    expect(computeRpo({ acknowledged, afterRecovery: { id: 3, writtenAt: '2026-01-01T12:05:00.000Z' }, disasterAt })).toMatchObject({
      rpoMs: 0,
      lostWrites: 0,
    });
  });

  it('is never negative, and not measured without both points', () => {
    // A surviving row stamped later than the acknowledged one (clock skew) but before the disaster.
    expect(
      computeRpo({
        acknowledged: { id: 5, writtenAt: '2026-01-01T12:00:01.000Z' },
        afterRecovery: { id: 6, writtenAt: '2026-01-01T12:00:02.000Z' },
        disasterAt,
      }).rpoMs,
    ).toBe(0);
    expect(computeRpo({ acknowledged: undefined, afterRecovery: { id: 1, writtenAt: disasterAt }, disasterAt })).toMatchObject({
      rpoMs: null,
      explanation: expect.stringMatching(/no write was acknowledged/),
    });
    expect(computeRpo({ acknowledged: { id: 9, writtenAt: disasterAt }, afterRecovery: undefined, disasterAt })).toMatchObject({
      rpoMs: null,
      explanation: expect.stringMatching(/every acknowledged write is lost/),
    });
  });
});

describe('SentinelWriter against the real api', () => {
  let db: SeededNmiaDatabase;
  let api: StartedAppProcess;
  let port: number;
  let env: Record<string, string>;

  const until = async (what: string, check: () => boolean, timeoutMs = 10_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  beforeAll(async () => {
    db = await SeededNmiaDatabase.start({ seed: 33, scale: 50 });
    port = await freePort();
    env = { DATABASE_URL: db.url, SECRET_KEY: db.canaries.secretKey, PORT: String(port) };
    api = await AppProcess.start('api', env);
  });

  afterAll(async () => {
    await api?.stop();
    await db?.stop();
  });

  it('writes on a fixed cadence, rides out the api going away, and measures the RPO of a restore to an older point', async () => {
    const admin = { username: 'admin', password: db.canaries.adminPassword };
    const writer = await SentinelWriter.start({ apiUrl: api.url, admin, intervalMs: 100, timeoutMs: 1_000 });
    try {
      await until('5 acknowledged writes', () => writer.stats().acknowledged >= 5);
      const token = await SentinelWriter.login(api.url, admin);
      const backupPoint = await latestSentinel(api.url, token);
      expect(backupPoint).toBeDefined();

      // The api goes away: writes fail and are counted; the writer keeps trying and recovers.
      await api.stop();
      const failedBefore = writer.stats().failed;
      await until('failed writes while the api is down', () => writer.stats().failed >= failedBefore + 2);
      api = await AppProcess.start('api', env);
      const ackedBefore = writer.stats().acknowledged;
      await until('writes acknowledged again', () => writer.stats().acknowledged >= ackedBefore + 3);
      expect(writer.stats().lastFailure).toMatch(
        /^POST http:\/\/127\.0\.0\.1:\d+\/api\/sentinels: connection refused \(is the api running\?\)$/,
      );

      // Disaster, then a restore to the backup point: every row written after it is gone.
      const disasterAt = new Date();
      const acknowledged = writer.newestAcknowledgedBy(disasterAt);
      const stats = await writer.stop();
      expect(stats.newest).toEqual(acknowledged);
      expect(stats.attempted).toBe(stats.acknowledged + stats.failed);
      expect(stats.longestGapMs).toBeGreaterThan(500);
      await db.query('DELETE FROM sentinels WHERE id > $1', [backupPoint!.id]);
      const afterRecovery = await latestSentinel(api.url, token);
      expect(afterRecovery).toEqual(backupPoint);

      const rpo = computeRpo({ acknowledged, afterRecovery, disasterAt });
      const [span] = await db.query<{ ms: number }>('SELECT (extract(epoch FROM $1::timestamptz - $2::timestamptz) * 1000)::float8 AS ms', [
        acknowledged!.writtenAt,
        backupPoint!.writtenAt,
      ]);
      expect(rpo.rpoMs).toBe(Math.round(span!.ms));
      expect(rpo.rpoMs).toBeGreaterThan(500);
      expect(rpo.lostWrites).toBe(acknowledged!.id - backupPoint!.id);

      const text = JSON.stringify({ stats, rpo });
      expect(text).not.toContain(db.canaries.adminPassword);
      expect(text).not.toContain(token);
      expect(text).not.toContain('CANARY');
    } finally {
      await writer.stop();
    }
  });

  it('reports no sentinel after everything was lost, and refuses a token from another SECRET_KEY', async () => {
    const token = await SentinelWriter.login(api.url, { username: 'admin', password: db.canaries.adminPassword });
    await db.query('DELETE FROM sentinels');
    expect(await latestSentinel(api.url, token)).toBeUndefined();
    await api.stop();
    api = await AppProcess.start('api', { ...env, SECRET_KEY: `${db.canaries.secretKey}-other` });
    await expect(latestSentinel(api.url, token)).rejects.toThrow(/HTTP 401 invalid_token/);
    await expect(SentinelWriter.login(api.url, { username: 'admin', password: 'wrong-password' })).rejects.toThrow(
      /sentinel writer login: HTTP 401 invalid_credentials/,
    );
  });
});
