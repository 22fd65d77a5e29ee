import pg from 'pg';
import { ProbeFailure } from './probe-failure.ts';
import type { ProbeSession } from './probe-session.ts';
import type { ChecklistProbe, ProbeVerdict } from './probe.ts';

interface Heartbeat {
  worker_id: string;
  beat_at: Date;
  age_s: number;
  alive: number;
}

const POLL_MS = 500;
// One row per worker is enough: DISTINCT ON rides the (worker_id, beat_at DESC) index of a long heartbeat log.
const NEWEST_BEAT_SQL = `SELECT worker_id, beat_at, extract(epoch FROM now() - beat_at)::float8 AS age_s,
       (SELECT count(DISTINCT worker_id)::int FROM worker_heartbeats WHERE beat_at > now() - make_interval(secs => $1)) AS alive
  FROM worker_heartbeats ORDER BY beat_at DESC LIMIT 1`;
const TIMESTAMP = /(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}:\d{2})(?:[.,](\d+))?(?:\s?(Z|[+-]\d{2}:?\d{2})\b)?/;
const ENDED = /(?:\bstopped\s*$|failed to start|exited with code)/i;

/**
 * "Worker is running (check `docker compose logs worker`)": the newest worker_heartbeats row is
 * younger than the limit (polled for a bounded time), and, when logs are given, the worker logged
 * since recovery began and its last line is not its exit.
 */
export class WorkerRunningProbe implements ChecklistProbe {
  readonly id = 'worker-running' as const;

  item(session: ProbeSession): string {
    const checks = [
      ...(session.target.database ? [`a heartbeat younger than ${session.timeouts.workerHeartbeatMaxAgeS} s`] : []),
      ...(session.expectations.workerLogs ? ['docker compose logs worker'] : []),
    ];
    return `Worker is running${checks.length > 0 ? ` (${checks.join('; ')})` : ''}`;
  }

  async check(session: ProbeSession): Promise<ProbeVerdict> {
    const logs = session.expectations.workerLogs;
    if (!session.target.database && !logs) {
      throw ProbeFailure.skipped('not checked: neither database access (target.database) nor worker logs given');
    }
    const evidence: Record<string, unknown> = {};
    const summaries: string[] = [];
    if (session.target.database) {
      const heartbeat = await this.checkHeartbeat(session, session.target.database, evidence);
      summaries.push(heartbeat);
    }
    if (logs) summaries.push(await WorkerRunningProbe.checkLogs(await logs.read(), logs.since, evidence));
    return { outcome: 'passed', summary: summaries.join('; '), evidence };
  }

  private async checkHeartbeat(session: ProbeSession, database: pg.ClientConfig, evidence: Record<string, unknown>): Promise<string> {
    const maxAgeS = session.timeouts.workerHeartbeatMaxAgeS;
    const where = `${database.host ?? 'localhost'}:${database.port ?? 5432}/${database.database ?? ''}`;
    const client = new pg.Client({
      ...database,
      connectionTimeoutMillis: session.timeouts.httpMs,
      statement_timeout: session.timeouts.httpMs,
    });
    client.on('error', () => undefined);
    try {
      await client.connect();
    } catch (error) {
      throw ProbeFailure.error(`cannot reach the database ${where} for the heartbeat check: ${oneLine(error)}`);
    }
    const started = performance.now();
    try {
      for (;;) {
        let beat: Heartbeat | undefined;
        try {
          beat = (await client.query<Heartbeat>(NEWEST_BEAT_SQL, [maxAgeS])).rows[0];
        } catch (error) {
          if ((error as { code?: unknown }).code === '42P01')
            throw ProbeFailure.failed(`worker_heartbeats does not exist in ${where} (was the schema restored?)`, evidence);
          throw ProbeFailure.error(`heartbeat query on ${where} failed: ${oneLine(error)}`, evidence);
        }
        const waitedMs = Math.round(performance.now() - started);
        evidence.heartbeat = beat
          ? {
              workerId: beat.worker_id,
              beatAt: beat.beat_at.toISOString(),
              ageS: round1(beat.age_s),
              aliveWorkers: beat.alive,
              maxAgeS,
              waitedMs,
            }
          : { rows: 0, maxAgeS, waitedMs };
        if (beat && beat.age_s < maxAgeS) return `worker ${beat.worker_id} beat ${round1(beat.age_s)} s ago (${beat.alive} alive)`;
        if (waitedMs >= session.timeouts.workerWaitMs) {
          throw ProbeFailure.failed(
            beat
              ? `the newest worker heartbeat (${beat.worker_id}) is ${round1(beat.age_s)} s old after waiting ${waitedMs} ms, limit ${maxAgeS} s: no worker is running`
              : `worker_heartbeats is empty after waiting ${waitedMs} ms: no worker has ever run against this database`,
            evidence,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      }
    } finally {
      await client.end().catch(() => undefined);
    }
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

function round1(value: number): number {
  return Math.round(value * 10) / 10;
}

function oneLine(error: unknown): string {
  if (error instanceof AggregateError && error.errors.length > 0) return oneLine(error.errors[0]);
  const message = error instanceof Error ? error.message || error.name : String(error);
  const code = (error as { code?: unknown }).code;
  return `${message.split('\n')[0]}${typeof code === 'string' && !message.includes(code) ? ` (${code})` : ''}`;
}
