import { ProbeFailure } from './probe-failure.ts';
import { ProbeHttp } from './probe-http.ts';
import type { ProbeSession } from './probe-session.ts';
import { type ChecklistProbe, NMIA_API_ROUTES, type ProbeVerdict } from './probe.ts';

/** ConnectorInstanceOut; `config` holds the bind password, so only `server` is ever kept from it. */
interface ConnectorRow {
  id: string;
  name?: string;
  connector_type_id?: string;
  is_enabled?: boolean;
  config?: { server?: unknown; use_ssl?: unknown } | null;
}

/** JobOut. */
interface JobRow {
  id: string;
  status: string;
  records_found?: number;
  records_ingested?: number;
  error_message?: string | null;
  triggered_by?: string;
}

const POLL_MS = 500;
const FINISHED = new Set(['completed', 'failed']);

/**
 * "Run a test connector scan to verify connectivity", through the app's own endpoints: POST
 * /api/v1/connectors/{id}/run makes a pending job, the worker picks it up (the real one polls every
 * 15 s), and GET /api/v1/connectors/{id}/jobs is followed until that job is completed or failed.
 * Passes only when it completed having found records.
 */
export class ConnectorScanProbe implements ChecklistProbe {
  readonly id = 'connector-scan' as const;

  item(session: ProbeSession): string {
    const which =
      session.target.scanConnectorId !== undefined
        ? `connector ${session.target.scanConnectorId}`
        : 'an enabled ad_ldap connector (plain LDAP first)';
    return `A test connector scan of ${which} completes (${session.apiUrl(NMIA_API_ROUTES.runConnector)})`;
  }

  async check(session: ProbeSession): Promise<ProbeVerdict> {
    const token = await session.token();
    const connector = await this.chooseConnector(session);
    const server = typeof connector.config?.server === 'string' ? connector.config.server : undefined;
    const evidence: Record<string, unknown> = {
      connectorId: connector.id,
      ...(connector.name ? { connectorName: connector.name } : {}),
      ...(server ? { server } : {}),
    };
    const label = `connector ${connector.name ?? connector.id}`;
    const route = (template: string): string => session.apiUrl(template.replace('{id}', encodeURIComponent(connector.id)));

    const queued = await session.http.request('POST', route(NMIA_API_ROUTES.runConnector), { token, service: 'api' });
    evidence.runStatus = queued.status;
    try {
      ProbeHttp.expectStatus(queued, [200, 201, 202]);
    } catch (error) {
      throw ProbeFailure.failed(`starting a scan of ${label} failed: ${(error as Error).message}`, evidence);
    }
    const jobId = ProbeHttp.json<{ id?: unknown }>(queued).id;
    if (typeof jobId !== 'string')
      throw ProbeFailure.failed(`POST ${queued.displayUrl}: HTTP ${queued.status} but no job id in the body`, evidence);
    evidence.jobId = jobId;

    const started = performance.now();
    let job: JobRow | undefined;
    for (;;) {
      const reply = await session.http.request('GET', route(NMIA_API_ROUTES.connectorJobs), { token, service: 'api' });
      ProbeHttp.expectStatus(reply, 200);
      const jobs = ProbeHttp.json<JobRow[]>(reply);
      job = Array.isArray(jobs) ? jobs.find((j) => j.id === jobId) : undefined;
      evidence.status = job?.status ?? 'not listed';
      evidence.waitedMs = Math.round(performance.now() - started);
      if (job && FINISHED.has(job.status)) break;
      if (performance.now() - started >= session.timeouts.scanMs) {
        throw ProbeFailure.failed(
          `scan job ${jobId} of ${label} still ${String(evidence.status)} after ${session.timeouts.scanMs} ms (is the worker running?)`,
          evidence,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }

    evidence.recordsFound = job.records_found ?? null;
    evidence.recordsIngested = job.records_ingested ?? null;
    if (job.error_message) evidence.error = job.error_message;
    if (job.status !== 'completed') {
      throw ProbeFailure.failed(`scan job ${jobId} of ${label} ${job.status}: ${job.error_message ?? 'no error given'}`, evidence);
    }
    if (typeof job.records_found !== 'number' || job.records_found <= 0) {
      throw ProbeFailure.failed(
        `scan job ${jobId} of ${label} completed but found ${String(job.records_found ?? 'no')} records: the directory answered with nothing`,
        evidence,
      );
    }
    return {
      outcome: 'passed',
      summary: `scan job ${jobId} of ${label} completed with ${job.records_found} records in ${String(evidence.waitedMs)} ms`,
      evidence,
    };
  }

  private async chooseConnector(session: ProbeSession): Promise<ConnectorRow> {
    const { reply, body } = await session.getJson<unknown>(NMIA_API_ROUTES.connectors);
    if (!Array.isArray(body)) throw ProbeFailure.failed(`GET ${reply.displayUrl}: HTTP 200 but the body is not a JSON array`);
    const connectors = body as ConnectorRow[];
    const wanted = session.target.scanConnectorId;
    if (wanted !== undefined) {
      const found = connectors.find((c) => c.id === wanted);
      if (!found)
        throw ProbeFailure.failed(
          `connector ${wanted} (target.scanConnectorId) is not listed by GET ${reply.displayUrl} (${connectors.length} connectors)`,
        );
      return found;
    }
    const types = await session.getJson<Array<{ id?: unknown; code?: unknown }>>(NMIA_API_ROUTES.connectorTypes);
    const adLdap = (Array.isArray(types.body) ? types.body : []).find((t) => t.code === 'ad_ldap')?.id;
    // Plain LDAP first: the drill's directory serves no LDAPS (a deployment's may; scanConnectorId picks one).
    const enabled = connectors.filter((c) => c.is_enabled !== false && c.connector_type_id === adLdap);
    const candidate = enabled.find((c) => c.config?.use_ssl !== true) ?? enabled[0];
    if (!candidate)
      throw ProbeFailure.failed(`no enabled ad_ldap connector among ${connectors.length} connectors: set target.scanConnectorId`);
    return candidate;
  }
}
