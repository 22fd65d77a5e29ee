import { ProbeFailure } from './probe-failure.ts';
import type { ProbeSession } from './probe-session.ts';
import type { ChecklistProbe, ProbeVerdict } from './probe.ts';
import { WorkerLogPulse } from './worker-log-pulse.ts';

const TIMESTAMP = /(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d+))?(?:\s?(Z|[+-]\d{2}:?\d{2})\b)?/;
// The real worker's last words are "NMIA Worker stopped." (nmia_worker/main.py).
const ENDED = /(?:\bstopped\.?\s*$|failed to start|exited with code)/i;

/**
 * "Worker is running (check `docker compose logs worker`)", as the runbook says: the worker logged
 * since recovery began and its last line is not its exit. The real NMIA worker keeps no heartbeat
 * anywhere but its log (APScheduler, docs/reference-app.md); that it picks up work is the connector
 * scan's item.
 */
export class WorkerRunningProbe implements ChecklistProbe {
  readonly id = 'worker-running' as const;

  item(session: ProbeSession): string {
    return `Worker is running${session.expectations.workerLogs ? ' (docker compose logs worker)' : ''}`;
  }

  async check(session: ProbeSession): Promise<ProbeVerdict> {
    const logs = session.expectations.workerLogs;
    if (!logs) throw ProbeFailure.skipped('not checked: no worker logs given (docker compose logs worker)');
    const text = await logs.read();
    if (WorkerRunningProbe.isApScheduler(text)) return WorkerRunningProbe.checkPulse(text, logs.read);
    const evidence: Record<string, unknown> = {};
    const summary = WorkerRunningProbe.checkLogs(text, logs.since, evidence);
    return { outcome: 'passed', summary, evidence };
  }

  /** The real NMIA worker: APScheduler logs its own start ("apscheduler.scheduler: Scheduler started"). */
  static isApScheduler(text: string): boolean {
    return /\[\w+\] apscheduler\./.test(text);
  }

  /**
   * The real worker (WorkerLogPulse): its poller ran within the last interval and it did not log its stop.
   * A worker started less than one interval ago has not polled yet: its first poll is awaited (bounded by
   * one interval and the slack). That it picks up work shows in the lines of the jobs it ran.
   */
  static async checkPulse(first: string, read: () => Promise<string>, pulse = new WorkerLogPulse()): Promise<ProbeVerdict> {
    let text = first;
    let verdict = pulse.judge(text);
    const deadline = Date.now() + 27_000;
    while (!verdict.ok && verdict.evidence.lastPulse === undefined && verdict.summary.includes('has never run') && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 1_000));
      text = await read();
      verdict = pulse.judge(text);
    }
    const pickedUp = text.match(/poll_pending_jobs: executing job=/g)?.length ?? 0;
    const finished = text.match(/_execute_\w+_job: job=\S+ (?:completed|failed)/g)?.length ?? 0;
    const evidence = { logs: verdict.evidence, jobsPickedUp: pickedUp, jobsFinished: finished };
    if (!verdict.ok) throw ProbeFailure.failed(`docker compose logs worker: ${verdict.summary}`, evidence);
    return {
      outcome: 'passed',
      summary: `docker compose logs worker: ${verdict.summary}; ${pickedUp} job(s) picked up, ${finished} finished since it started`,
      evidence,
    };
  }

  /** Lines carrying a timestamp (the app's own, or `docker compose logs -t`); a line without a zone is read as UTC. */
  static checkLogs(text: string, since: Date, evidence: Record<string, unknown>): string {
    const lines = text
      .split('\n')
      .map((line) => line.trimEnd())
      .filter((line) => line !== '');
    const dated = lines.flatMap((line) => {
      const at = WorkerRunningProbe.lineTime(line);
      return at === undefined ? [] : [{ line, at }];
    });
    const recent = dated.filter((entry) => entry.at.getTime() >= since.getTime());
    const newest = lines.at(-1);
    evidence.logs = {
      lines: lines.length,
      datedLines: dated.length,
      linesSince: recent.length,
      since: since.toISOString(),
      ...(newest !== undefined ? { lastLine: newest.slice(0, 200) } : {}),
    };
    if (recent.length === 0) {
      throw ProbeFailure.failed(
        `docker compose logs worker: no line since ${since.toISOString()} (${lines.length} lines, ${dated.length} dated): the worker has not run since recovery began`,
        evidence,
      );
    }
    if (newest !== undefined && ENDED.test(newest)) {
      throw ProbeFailure.failed(`docker compose logs worker: the last line says the worker ended: "${newest.slice(0, 160)}"`, evidence);
    }
    return `${recent.length} worker log lines since ${since.toISOString()}`;
  }

  static lineTime(line: string): Date | undefined {
    const m = TIMESTAMP.exec(line);
    if (!m) return undefined;
    const fraction = m[3] ? `.${m[3].slice(0, 3).padEnd(3, '0')}` : '';
    const zone = m[4] ? (m[4] === 'Z' ? 'Z' : m[4].replace(/^([+-]\d{2})(\d{2})$/, '$1:$2')) : 'Z';
    const at = new Date(`${m[1]}T${m[2]}${fraction}${zone}`);
    return Number.isNaN(at.getTime()) ? undefined : at;
  }
}
