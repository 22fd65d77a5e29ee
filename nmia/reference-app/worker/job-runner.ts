import type pg from 'pg';
import { type ServiceLog, describeError } from '../shared/service-log.ts';
import type { AdCollector, AdConfig } from './ad-collector.ts';

interface JobContext {
  connector_id: string | null;
  enclave_id: string | null;
  config: AdConfig | null;
  type_code: string | null;
}

/**
 * execute_pending_job of the real worker (tasks.py): one job in one transaction. `running` is only
 * flushed, never committed, so other sessions see pending → completed | failed. ad_ldap collects and
 * stores a finding per entry with an objectSid; adcs_file counts the job's findings; anything else
 * fails as unsupported. The normalization pipeline that follows in the real worker is not modelled.
 */
export class JobRunner {
  constructor(
    private readonly pool: pg.Pool,
    private readonly collector: AdCollector,
    private readonly log: ServiceLog,
  ) {}

  async run(jobId: string): Promise<void> {
    const client = await this.pool.connect();
    try {
      await client.query('BEGIN');
      const { rows } = await client.query<JobContext>(
        `SELECT c.id AS connector_id, c.enclave_id, c.config, t.code AS type_code
           FROM jobs j LEFT JOIN connector_instances c ON c.id = j.connector_instance_id
           LEFT JOIN connector_types t ON t.id = c.connector_type_id WHERE j.id = $1`,
        [jobId],
      );
      const job = rows[0];
      if (!job) {
        this.log.info(`[ERROR] execute_pending_job: job=${jobId} not found`);
        await client.query('ROLLBACK');
        return;
      }
      const early =
        job.connector_id === null
          ? 'ConnectorInstance not found'
          : job.type_code === null
            ? 'ConnectorType not found'
            : job.type_code === 'ad_ldap' || job.type_code === 'adcs_file'
              ? undefined
              : `Unsupported connector type: ${job.type_code}`;
      if (early !== undefined) {
        this.log.info(`[ERROR] execute_pending_job: ${early} (job=${jobId})`);
        await client.query(`UPDATE jobs SET status = 'failed', error_message = $2, finished_at = now(), updated_at = now() WHERE id = $1`, [
          jobId,
          early,
        ]);
        await client.query('COMMIT');
        return;
      }
      await client.query(`UPDATE jobs SET status = 'running', started_at = now(), updated_at = now() WHERE id = $1`, [jobId]);
      this.log.info(
        `[INFO] execute_pending_job: starting job=${jobId} type=${job.type_code} connector=${job.connector_id} enclave=${job.enclave_id}`,
      );
      let outcome: { status: 'completed' | 'failed'; found: number; ingested: number; error: string | null };
      try {
        outcome = job.type_code === 'ad_ldap' ? await this.adLdap(client, jobId, job) : await this.adcsFile(client, jobId);
      } catch (error) {
        outcome = { status: 'failed', found: 0, ingested: 0, error: describeError(error) };
      }
      if (outcome.status === 'failed') this.log.info(`[ERROR] _execute_${job.type_code}_job: job=${jobId} failed: ${outcome.error ?? ''}`);
      else
        this.log.info(`[INFO] _execute_${job.type_code}_job: job=${jobId} completed. found=${outcome.found} ingested=${outcome.ingested}`);
      await client.query(
        `UPDATE jobs SET status = $2, records_found = $3, records_ingested = $4, error_message = $5, finished_at = now(), updated_at = now() WHERE id = $1`,
        [jobId, outcome.status, outcome.found, outcome.ingested, outcome.error],
      );
      await client.query(`UPDATE connector_instances SET last_run_at = now(), updated_at = now() WHERE id = $1`, [job.connector_id]);
      await client.query('COMMIT');
    } catch (error) {
      await client.query('ROLLBACK').catch(() => undefined);
      this.log.error(`execute_pending_job: unexpected error for job=${jobId}`, error);
    } finally {
      client.release();
    }
  }

  private async adLdap(
    client: pg.PoolClient,
    jobId: string,
    job: JobContext,
  ): Promise<{ status: 'completed'; found: number; ingested: number; error: null }> {
    const entries = await this.collector.collect(job.config ?? {});
    let ingested = 0;
    for (const entry of entries) {
      const fingerprint = String(entry.objectSid ?? '');
      if (!fingerprint) continue;
      await client.query(
        `INSERT INTO findings (id, job_id, connector_instance_id, enclave_id, source_type, raw_data, fingerprint, ingested_at, created_at, updated_at)
         VALUES (gen_random_uuid(), $1, $2, $3, 'ad_svc_acct', $4, $5, now(), now(), now())`,
        [jobId, job.connector_id, job.enclave_id, JSON.stringify(entry), fingerprint],
      );
      ingested++;
    }
    return { status: 'completed', found: entries.length, ingested, error: null };
  }

  private async adcsFile(
    client: pg.PoolClient,
    jobId: string,
  ): Promise<{ status: 'completed'; found: number; ingested: number; error: null }> {
    const { rows } = await client.query<{ n: number }>('SELECT count(*)::int AS n FROM findings WHERE job_id = $1', [jobId]);
    const n = rows[0]?.n ?? 0;
    return { status: 'completed', found: n, ingested: n, error: null };
  }
}
