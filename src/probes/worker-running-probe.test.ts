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

describe('WorkerRunningProbe on the real worker (APScheduler lines)', () => {
  const line = (at: Date, logger: string, message: string) =>
    `worker-1  | ${at.toISOString().slice(0, 19).replace('T', ' ')} [INFO] ${logger}: ${message}`;
  const ago = (s: number) => new Date(Date.now() - s * 1000);
  const started = (s: number) => [
    line(ago(s), '__main__', 'NMIA Worker starting...'),
    line(ago(s), 'apscheduler.scheduler', 'Scheduler started'),
  ];
  const poll = (s: number) =>
    line(
      ago(s),
      'apscheduler.executors.default',
      'Running job "Poll for pending jobs (trigger: interval[0:00:15], next run at: x)" (scheduled at x)',
    );

  it('passes on a recent poll and counts the jobs it picked up', async () => {
    const text = [
      ...started(40),
      poll(20),
      line(ago(20), 'nmia_worker.scheduler', 'poll_pending_jobs: executing job=1f'),
      line(ago(19), 'nmia_worker.tasks', '_execute_ad_ldap_job: job=1f completed. found=3 ingested=3'),
      poll(5),
    ].join('\n');
    expect(WorkerRunningProbe.isApScheduler(text)).toBe(true);
    const verdict = await WorkerRunningProbe.checkPulse(text, async () => text);
    expect(verdict).toMatchObject({ outcome: 'passed', evidence: { jobsPickedUp: 1, jobsFinished: 1 } });
  });

  it('fails at once when the worker logged its stop, and waits for the first poll of a worker that just started', async () => {
    const stopped = [...started(40), poll(10), line(ago(2), '__main__', 'NMIA Worker stopped.')].join('\n');
    await expect(WorkerRunningProbe.checkPulse(stopped, async () => stopped)).rejects.toMatchObject({
      outcome: 'failed',
      message: expect.stringMatching(/logged its stop/),
    });
    const fresh = started(3).join('\n');
    let reads = 0;
    const verdict = await WorkerRunningProbe.checkPulse(fresh, async () => (++reads >= 2 ? `${fresh}\n${poll(0)}` : fresh));
    expect(verdict.outcome).toBe('passed');
    expect(reads).toBe(2);
  });
});
