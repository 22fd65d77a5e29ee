import { describe, expect, it } from 'vitest';
import { formatDuration, timingMeasures, verdictOf } from './timing-measures.ts';

describe('timingMeasures', () => {
  it('reads RTO/RPO objects and plain millisecond numbers, and leaves unrecorded ones undefined', () => {
    expect(timingMeasures({ timing: { rto: { measuredMs: 10, targetMs: 20, detail: 'd' }, rpo: 5 } })).toEqual({
      rto: { name: 'rto', measuredMs: 10, targetMs: 20, detail: 'd' },
      rpo: { name: 'rpo', measuredMs: 5 },
    });
    expect(timingMeasures({ timing: { backupMs: 3 } })).toEqual({});
  });

  it('marks a value it cannot read instead of guessing', () => {
    expect(timingMeasures({ timing: { rto: '4 s' } }).rto?.unreadable).toMatch(/timing\.rto is not/);
    expect(timingMeasures({ timing: { rpo: { measuredMs: -1 } } }).rpo?.unreadable).toBeDefined();
  });

  it('judges met, missed, no target and not measured', () => {
    expect(verdictOf({ name: 'rto', measuredMs: 20, targetMs: 20 })).toBe('met');
    expect(verdictOf({ name: 'rto', measuredMs: 21, targetMs: 20 })).toBe('missed');
    expect(verdictOf({ name: 'rto', measuredMs: 21 })).toBe('no-target');
    expect(verdictOf({ name: 'rto', targetMs: 20 })).toBe('not-measured');
    expect(verdictOf(undefined)).toBe('not-measured');
  });

  it('formats durations for people', () => {
    expect([999, 4200, 59_960, 60_000, 61_000, 900_000, 3_599_600, 3_600_000, 5_400_000].map(formatDuration)).toEqual([
      '999 ms',
      '4.2 s',
      '60.0 s',
      '1 min',
      '1 min 1 s',
      '15 min',
      '1 h',
      '1 h',
      '1 h 30 min',
    ]);
  });
});
