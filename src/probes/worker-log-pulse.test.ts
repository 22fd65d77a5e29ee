import { describe, expect, it } from 'vitest';
import { WorkerLogPulse } from './worker-log-pulse.ts';

// Lines as the real NMIA worker writes them (nmia/directory/real-worker-scan.test.ts checks the real thing).
const START = [
  '2026-12-06 00:21:00 [INFO] __main__: NMIA Worker starting...',
  '2026-12-06 00:21:00 [INFO] nmia_worker.scheduler: _load_existing_schedules: found 0 scheduled connector(s)',
  '2026-12-06 00:21:00 [INFO] apscheduler.scheduler: Added job "Poll for pending jobs" to job store "default"',
  '2026-12-06 00:21:00 [INFO] apscheduler.scheduler: Scheduler started',
  '2026-12-06 00:21:00 [INFO] nmia_worker.scheduler: Scheduler started with 1 job(s)',
];
const pulse = (time: string): string[] => [
  `2026-12-06 ${time} [INFO] apscheduler.executors.default: Running job "Poll for pending jobs (trigger: interval[0:00:15], next run at: 2026-12-06 00:21:30 UTC)" (scheduled at 2026-12-06 00:21:15+00:00)`,
  `2026-12-06 ${time} [INFO] apscheduler.executors.default: Job "Poll for pending jobs (trigger: interval[0:00:15], next run at: 2026-12-06 00:21:30 UTC)" executed successfully`,
];
const at = (time: string): Date => new Date(`2026-12-06T${time}Z`);

describe('WorkerLogPulse (docker compose logs worker of the real NMIA)', () => {
  const judge = new WorkerLogPulse();

  it('passes while the poller runs every 15 s, with or without the compose prefix', () => {
    const text = [...START, ...pulse('00:21:15'), ...pulse('00:21:30')].join('\n');
    expect(judge.judge(text, at('00:21:40'))).toMatchObject({
      ok: true,
      evidence: { pulseAgeS: 10, lastStart: '2026-12-06T00:21:00.000Z' },
    });
    const prefixed = text
      .split('\n')
      .map((l) => `worker-1  | ${l}`)
      .join('\n');
    expect(judge.judge(prefixed, at('00:21:40')).ok).toBe(true);
  });

  it('fails when the worker logged its stop, and passes again after a restart that polled', () => {
    const stopped = [
      ...START,
      ...pulse('00:21:15'),
      '2026-12-06 00:21:20 [INFO] __main__: Received SIGTERM -- shutting down gracefully...',
      '2026-12-06 00:21:21 [INFO] apscheduler.scheduler: Scheduler has been shut down',
      '2026-12-06 00:21:21 [INFO] __main__: NMIA Worker stopped.',
    ];
    expect(judge.judge(stopped.join('\n'), at('00:21:22'))).toMatchObject({
      ok: false,
      summary: expect.stringMatching(/logged its stop: "NMIA Worker stopped\."/),
    });
    const restarted = [...stopped, ...START.map((l) => l.replace('00:21:00', '00:22:00')), ...pulse('00:22:15')];
    expect(judge.judge(restarted.join('\n'), at('00:22:20')).ok).toBe(true);
  });

  it('fails on a silent poller (killed without a word), a poller that never ran, and no log at all', () => {
    expect(judge.judge([...START, ...pulse('00:21:15')].join('\n'), at('00:22:00'))).toMatchObject({
      ok: false,
      summary: expect.stringMatching(/last ran 45 s ago \(limit 25 s\)/),
    });
    expect(judge.judge(START.join('\n'), at('00:21:05'))).toMatchObject({ ok: false, summary: expect.stringMatching(/never run/) });
    expect(judge.judge('', at('00:21:05'))).toMatchObject({ ok: false, summary: expect.stringMatching(/no worker log line/) });
  });

  it('fails when the poller runs but its query fails (a restore without the jobs table)', () => {
    const text = [
      ...START,
      '2026-12-06 00:21:15 [ERROR] nmia_worker.scheduler: poll_pending_jobs: query error: (psycopg2.errors.UndefinedTable) relation "jobs" does not exist',
      ...pulse('00:21:15'),
    ].join('\n');
    expect(judge.judge(text, at('00:21:20'))).toMatchObject({
      ok: false,
      summary: expect.stringMatching(/query fails: .*relation "jobs" does not exist/),
    });
  });

  it('passes while a long scan runs inside one poll: the scheduler logs every tick it skips', () => {
    const busy = (time: string) =>
      `2026-12-06 ${time} [WARNING] apscheduler.scheduler: Execution of job "Poll for pending jobs (trigger: interval[0:00:15], next run at: 2026-12-06 ${time} UTC)" skipped: maximum number of running instances reached (1)`;
    const running = pulse('00:21:15')[0] as string;
    const text = [
      ...START,
      running,
      '2026-12-06 00:21:15 [INFO] nmia_worker.scheduler: poll_pending_jobs: executing job=7',
      busy('00:21:30'),
      busy('00:21:45'),
    ];
    expect(judge.judge(text.join('\n'), at('00:21:50'))).toMatchObject({
      ok: true,
      summary: expect.stringMatching(/poller is busy: .* tick 5 s ago/),
    });
    // The same poll with the scheduler gone silent since: not running.
    expect(judge.judge(text.slice(0, -2).join('\n'), at('00:21:50'))).toMatchObject({
      ok: false,
      summary: expect.stringMatching(/last ran 35 s ago/),
    });
  });
});
