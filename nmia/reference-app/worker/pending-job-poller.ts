import type pg from 'pg';
import type { ServiceLog } from '../shared/service-log.ts';
import type { JobRunner } from './job-runner.ts';

/**
 * poll_pending_jobs on APScheduler's IntervalTrigger(seconds=15) (scheduler.py): the first poll 15 s
 * after start, then every 15 s; pending jobs oldest first, one at a time; a run never overlaps the next
 * (max_instances=1, coalesce). Jobs restored as `running` stay so; only `pending` is picked up.
 */
export class PendingJobPoller {
  private timer: NodeJS.Timeout | undefined;
  private current: Promise<void> | undefined;
  private stopping = false;

  constructor(
    private readonly pool: pg.Pool,
    private readonly runner: JobRunner,
    private readonly log: ServiceLog,
    private readonly intervalMs = 15_000,
  ) {}

  start(): void {
    this.timer = setInterval(() => {
      if (this.current || this.stopping) return;
      this.current = this.poll().finally(() => {
        this.current = undefined;
      });
    }, this.intervalMs);
  }

  /** scheduler.shutdown(wait=True): the job in hand finishes first. */
  async stop(): Promise<void> {
    this.stopping = true;
    clearInterval(this.timer);
    await this.current;
  }

  private async poll(): Promise<void> {
    let pending: string[];
    try {
      pending = (await this.pool.query<{ id: string }>(`SELECT id FROM jobs WHERE status = 'pending' ORDER BY created_at`)).rows.map(
        (r) => r.id,
      );
    } catch (error) {
      this.log.error('[ERROR] poll_pending_jobs: query error', error);
      return;
    }
    if (pending.length === 0) return;
    this.log.info(`[INFO] poll_pending_jobs: found ${pending.length} pending job(s)`);
    for (const id of pending) {
      if (this.stopping) return;
      this.log.info(`[INFO] poll_pending_jobs: executing job=${id}`);
      await this.runner.run(id);
    }
  }
}
