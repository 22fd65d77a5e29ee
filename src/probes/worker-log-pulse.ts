/** What `docker compose logs worker` says about the real NMIA worker (facts in docs/directory.md). */
export type WorkerLogVerdict =
  | { ok: true; summary: string; evidence: WorkerLogEvidence }
  | { ok: false; summary: string; evidence: WorkerLogEvidence };

export interface WorkerLogEvidence {
  lines: number;
  datedLines: number;
  lastStart?: string;
  lastPulse?: string;
  pulseAgeS?: number;
  lastLine?: string;
}

export interface WorkerLogPulseOptions {
  /** The poller's interval: IntervalTrigger(seconds=15) in worker/src/nmia_worker/scheduler.py. */
  intervalS?: number;
  /** Allowed lateness on top of the interval (a slow poll, a loaded host). */
  slackS?: number;
}

interface Line {
  at: Date;
  logger: string;
  message: string;
  text: string;
}

// `2026-12-06 00:21:05 [INFO] nmia_worker.scheduler: message` (logging.basicConfig in main.py, no zone: the
// container's clock, UTC). `docker compose logs` may prefix `worker-1  | `.
const LINE = /^(?:\S+\s+\|\s)?(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d) \[(\w+)\] ([\w.]+): (.*)$/;
const PULSE = /^(?:Running job|Job|Run time of job) "Poll for pending jobs\b/;
// APScheduler's tick while a poll is still running (a scan executes inside the poll, max_instances 1).
const BUSY = /^Execution of job "Poll for pending jobs\b.*skipped: maximum number of running instances/;
const STOP = /^(?:NMIA Worker stopped\.|Received SIG\w+ -- shutting down|Interrupted -- shutting down)/;

/**
 * The worker is alive when its poller ran within the last interval (plus slack), it has not logged its
 * own stop since, and its last poll's query did not fail. The pulse is APScheduler's own pair of lines
 * for every run of "Poll for pending jobs", so it shows even when there is no work; while a long scan runs
 * inside a poll, it is the scheduler's "skipped: maximum number of running instances" tick.
 */
export class WorkerLogPulse {
  private readonly intervalS: number;
  private readonly slackS: number;

  constructor(options: WorkerLogPulseOptions = {}) {
    this.intervalS = options.intervalS ?? 15;
    this.slackS = options.slackS ?? 10;
  }

  judge(text: string, now: Date = new Date()): WorkerLogVerdict {
    const raw = text.split('\n').filter((line) => line.trim() !== '');
    const lines = raw.flatMap((text): Line[] => {
      const m = LINE.exec(text.trimEnd());
      return m ? [{ at: new Date(`${m[1]}T${m[2]}Z`), logger: m[4] as string, message: m[5] as string, text: text.trimEnd() }] : [];
    });
    const evidence: WorkerLogEvidence = { lines: raw.length, datedLines: lines.length };
    const lastOf = (test: (line: Line) => boolean): Line | undefined => lines.findLast(test);
    const start = lastOf((l) => l.logger === '__main__' && l.message.startsWith('NMIA Worker starting'));
    const stop = lastOf((l) => l.logger === '__main__' && STOP.test(l.message));
    const pulse = lastOf(
      (l) =>
        (l.logger.startsWith('apscheduler.executors') && PULSE.test(l.message)) ||
        (l.logger === 'apscheduler.scheduler' && BUSY.test(l.message)),
    );
    const queryError = lastOf((l) => l.message.startsWith('poll_pending_jobs: query error'));
    if (start) evidence.lastStart = start.at.toISOString();
    if (pulse) evidence.lastPulse = pulse.at.toISOString();
    if (raw.length > 0) evidence.lastLine = (raw.at(-1) as string).slice(0, 200);
    if (lines.length === 0) return { ok: false, summary: `no worker log line in its format (${raw.length} lines)`, evidence };
    if (stop && (!start || stop.at >= start.at))
      return { ok: false, summary: `the worker logged its stop: "${stop.message}" at ${stop.at.toISOString()}`, evidence };
    if (!pulse) return { ok: false, summary: 'the poller "Poll for pending jobs" has never run', evidence };
    const ageS = Math.round((now.getTime() - pulse.at.getTime()) / 100) / 10;
    evidence.pulseAgeS = ageS;
    const limitS = this.intervalS + this.slackS;
    if (ageS > limitS)
      return { ok: false, summary: `the poller last ran ${ageS} s ago (limit ${limitS} s): the worker is not running`, evidence };
    if (queryError && queryError.at.getTime() >= now.getTime() - limitS * 1000) {
      return { ok: false, summary: `the poller runs but its query fails: ${queryError.message.slice(0, 160)}`, evidence };
    }
    if (BUSY.test(pulse.message))
      return {
        ok: true,
        summary: `the poller is busy: a run still in progress made it skip the tick ${ageS} s ago (every ${this.intervalS} s)`,
        evidence,
      };
    return { ok: true, summary: `the poller ran ${ageS} s ago (every ${this.intervalS} s)`, evidence };
  }
}
