import { describe, expect, it } from 'vitest';
import type { ProbeFailure } from './probe-failure.ts';
import { WorkerRunningProbe } from './worker-running-probe.ts';

describe('WorkerRunningProbe log reading', () => {
  it("dates the app's own lines, `docker compose logs -t` lines and offset timestamps", () => {
    expect(WorkerRunningProbe.lineTime('2026-11-27T04:18:37.261Z worker started as w1')?.toISOString()).toBe('2026-11-27T04:18:37.261Z');
    expect(WorkerRunningProbe.lineTime('nmia-worker-1  | 2026-11-27T04:18:37.261234567Z started')?.toISOString()).toBe(
      '2026-11-27T04:18:37.261Z',
    );
    expect(WorkerRunningProbe.lineTime('worker-1  | 2026-11-27 06:18:37,5 +0200 INFO beat')?.toISOString()).toBe(
      '2026-11-27T04:18:37.500Z',
    );
    expect(WorkerRunningProbe.lineTime('worker-1  | no timestamp here')).toBeUndefined();
  });

  it('passes with a line since recovery began, and fails when there is none or the worker ended', () => {
    const since = new Date('2026-11-27T04:00:00Z');
    const evidence: Record<string, unknown> = {};
    expect(
      WorkerRunningProbe.checkLogs(
        '2026-11-27T03:59:00.000Z worker started as a\n2026-11-27T04:01:00.000Z worker claimed job=3\n',
        since,
        evidence,
      ),
    ).toBe('1 worker log lines since 2026-11-27T04:00:00.000Z');
    expect(evidence.logs).toMatchObject({ lines: 2, linesSince: 1 });
    const failure = (text: string): ProbeFailure => {
      try {
        WorkerRunningProbe.checkLogs(text, since, {});
      } catch (error) {
        return error as ProbeFailure;
      }
      throw new Error('expected a failure');
    };
    expect(failure('2026-11-27T03:59:00.000Z worker started as a\n')).toMatchObject({
      outcome: 'failed',
      message: expect.stringMatching(/no line since/),
    });
    expect(failure('')).toMatchObject({ outcome: 'failed', message: expect.stringMatching(/\(0 lines, 0 dated\)/) });
    expect(failure('2026-11-27T04:01:00.000Z worker started as a\n2026-11-27T04:02:00.000Z worker stopped\n')).toMatchObject({
      outcome: 'failed',
      message: expect.stringMatching(/the last line says the worker ended/),
    });
    expect(failure('nmia-worker-1 exited with code 1\n2026-11-27T04:01:00.000Z worker ERROR failed to start: boom')).toMatchObject({
      outcome: 'failed',
    });
  });
});
