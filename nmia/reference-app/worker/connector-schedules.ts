import { CronExpressionParser } from 'cron-parser';
import type pg from 'pg';
import type { ServiceLog } from '../shared/service-log.ts';
import type { JobRunner } from './job-runner.ts';

// setTimeout holds at most ~24.8 days; longer waits re-arm.
const MAX_TIMER_MS = 2_147_483_647;

/**
 * The real worker's cron schedules (scheduler.py _load_existing_schedules, add_connector_schedule,
 * _create_and_run_scheduled_job): every enabled connector with a 5-field cron_expression gets a
 * CronTrigger (UTC) at start-up; on a tick a `schedule` job is created and run at once, unless the
 * connector is gone or disabled by then. APScheduler counts day_of_week from Monday = 0.
 */
export class ConnectorSchedules {
  private readonly timers = new Map<string, NodeJS.Timeout>();
  private stopping = false;
  private running: Promise<void> = Promise.resolve();

  constructor(
    private readonly pool: pg.Pool,
    private readonly runner: JobRunner,
    private readonly log: ServiceLog,
  ) {}

  /** How many schedules were added (the scheduler's job count, besides the pending-job poller). */
  async load(): Promise<number> {
    let rows: Array<{ id: string; name: string; cron_expression: string }>;
    try {
      ({ rows } = await this.pool.query(
        `SELECT id, name, cron_expression FROM connector_instances WHERE is_enabled AND cron_expression IS NOT NULL AND cron_expression <> ''`,
      ));
    } catch (error) {
      this.log.error('[ERROR] _load_existing_schedules: failed to load schedules', error);
      return 0;
    }
    this.log.info(`[INFO] _load_existing_schedules: found ${rows.length} scheduled connector(s)`);
    for (const row of rows) {
      const fields = row.cron_expression.trim().split(/\s+/);
      if (fields.length !== 5) {
        this.log.info(
          `[ERROR] add_connector_schedule: invalid cron for connector=${row.id}: Invalid cron expression '${row.cron_expression}': expected 5 fields, got ${fields.length}`,
        );
        continue;
      }
      const [minute, hour, day, month, dow] = fields as [string, string, string, string, string];
      const cron = `${minute} ${hour} ${day} ${month} ${dow.replace(/\d+/g, (n) => String((Number(n) + 1) % 7))}`;
      try {
        CronExpressionParser.parse(cron, { tz: 'UTC' });
      } catch (error) {
        this.log.info(`[ERROR] add_connector_schedule: invalid cron for connector=${row.id}: ${(error as Error).message}`);
        continue;
      }
      this.arm(row.id, cron);
      this.log.info(`[INFO] add_connector_schedule: added schedule for connector=${row.id} (${row.name}) cron=${row.cron_expression}`);
    }
    return this.timers.size;
  }

  async stop(): Promise<void> {
    this.stopping = true;
    for (const timer of this.timers.values()) clearTimeout(timer);
    await this.running;
  }

  private arm(connectorId: string, cron: string): void {
    const next = CronExpressionParser.parse(cron, { tz: 'UTC', currentDate: new Date() }).next().toDate();
    const wait = next.getTime() - Date.now();
    this.timers.set(
      connectorId,
      setTimeout(
        () => {
          if (this.stopping) return;
          if (wait > MAX_TIMER_MS) return this.arm(connectorId, cron);
          this.running = this.running
            .then(() => this.tick(connectorId))
            .finally(() => {
              if (!this.stopping) this.arm(connectorId, cron);
            });
        },
        Math.min(Math.max(wait, 0), MAX_TIMER_MS),
      ),
    );
  }

  private async tick(connectorId: string): Promise<void> {
    try {
      const { rows } = await this.pool.query<{ is_enabled: boolean }>('SELECT is_enabled FROM connector_instances WHERE id = $1', [
        connectorId,
      ]);
      if (!rows[0]) return this.log.info(`[ERROR] scheduled_job: connector=${connectorId} no longer exists, skipping`);
      if (!rows[0].is_enabled) return this.log.info(`[INFO] scheduled_job: connector=${connectorId} is disabled, skipping`);
      const job = await this.pool.query<{ id: string }>(
        `INSERT INTO jobs (id, connector_instance_id, status, records_found, records_ingested, triggered_by, created_at, updated_at)
         VALUES (gen_random_uuid(), $1, 'pending', 0, 0, 'schedule', now(), now()) RETURNING id`,
        [connectorId],
      );
      const jobId = job.rows[0]?.id as string;
      this.log.info(`[INFO] scheduled_job: created job=${jobId} for connector=${connectorId}`);
      await this.runner.run(jobId);
    } catch (error) {
      this.log.error(`[ERROR] scheduled_job: connector=${connectorId} failed`, error);
    }
  }
}
