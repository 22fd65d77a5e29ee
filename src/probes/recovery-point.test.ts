import { describe, expect, it } from 'vitest';
import { computeRpo } from './recovery-point.ts';

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
