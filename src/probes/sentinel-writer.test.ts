import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SeededNmiaDatabase } from '../../test-support/seeded-nmia-database.ts';
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

describe('SentinelWriter against a real database (nmia_drill.sentinels)', () => {
  let db: SeededNmiaDatabase;

  const until = async (what: string, check: () => boolean, timeoutMs = 15_000): Promise<void> => {
    const deadline = Date.now() + timeoutMs;
    while (!check()) {
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  };

  beforeAll(async () => {
    db = await SeededNmiaDatabase.start({ seed: 33, scale: 50 });
  });

  afterAll(async () => {
    await db?.stop();
  });

  it('writes on a fixed cadence, rides out the database going away, and measures the RPO of a restore to an older point', async () => {
    const database = db.postgres.clientConfig(db.database);
    const writer = await SentinelWriter.start({ database, intervalMs: 100, timeoutMs: 1_000 });
    try {
      await until('5 acknowledged writes', () => writer.stats().acknowledged >= 5);
      const backupPoint = await latestSentinel(database);
      expect(backupPoint).toBeDefined();

      // The database refuses new sessions for a while: writes fail and are counted; the writer keeps trying and recovers.
      await db.postgres.query(`ALTER DATABASE ${db.database} ALLOW_CONNECTIONS false`);
      const failedBefore = writer.stats().failed;
      await until('failed writes while the database refuses', () => writer.stats().failed >= failedBefore + 2);
      await db.postgres.query(`ALTER DATABASE ${db.database} ALLOW_CONNECTIONS true`);
      const ackedBefore = writer.stats().acknowledged;
      await until('writes acknowledged again', () => writer.stats().acknowledged >= ackedBefore + 3);
      expect(writer.stats().lastFailure).toMatch(/^nmia_drill\.sentinels on .*: database "nmia" is not currently accepting connections$/);

      // Disaster, then a restore to the backup point: every row written after it is gone.
      // Writes stop first (as a disaster pauses them): a write in flight may be acknowledged a moment later.
      const stats = await writer.stop();
      const disasterAt = new Date();
      const acknowledged = writer.newestAcknowledgedBy(disasterAt);
      expect(stats.newest).toEqual(acknowledged);
      expect(stats.attempted).toBe(stats.acknowledged + stats.failed);
      expect(stats.longestGapMs).toBeGreaterThan(150);
      await db.query('DELETE FROM nmia_drill.sentinels WHERE id > $1', [backupPoint!.id]);
      const afterRecovery = await latestSentinel(database);
      expect(afterRecovery).toEqual(backupPoint);

      const rpo = computeRpo({ acknowledged, afterRecovery, disasterAt });
      const [span] = await db.query<{ ms: number }>('SELECT (extract(epoch FROM $1::timestamptz - $2::timestamptz) * 1000)::float8 AS ms', [
        acknowledged!.writtenAt,
        backupPoint!.writtenAt,
      ]);
      expect(rpo.rpoMs).toBe(Math.round(span!.ms));
      expect(rpo.rpoMs).toBeGreaterThan(150);
      expect(rpo.lostWrites).toBe(acknowledged!.id - backupPoint!.id);
      expect(JSON.stringify({ stats, rpo })).not.toContain('CANARY');
      // Only the harness's schema was written: the app's tables hold exactly what was seeded.
      const [app] = await db.query<{ n: string }>('SELECT count(*) AS n FROM enclaves');
      expect(Number(app!.n)).toBe(db.seed.rows.enclaves);
    } finally {
      await writer.stop();
    }
  });

  it('reports no sentinel after everything was lost, and says so when a restore lost schema nmia_drill', async () => {
    const database = db.postgres.clientConfig(db.database);
    await db.query('DELETE FROM nmia_drill.sentinels');
    expect(await latestSentinel(database)).toBeUndefined();
    await db.query('DROP SCHEMA nmia_drill CASCADE');
    await expect(latestSentinel(database)).rejects.toThrow(/nmia_drill\.sentinels does not exist/);
    await expect(SentinelWriter.start({ database })).rejects.toThrow(/sentinel writer: .*nmia_drill\.sentinels.*does not exist/);
  });
});
