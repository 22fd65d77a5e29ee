import { ProbeFailure } from './probe-failure.ts';
import { ProbeHttp } from './probe-http.ts';
import type { ProbeSession } from './probe-session.ts';
import type { ChecklistProbe, ProbeVerdict } from './probe.ts';

interface ConnectorRow {
  id: number;
  name?: string;
  is_enabled?: boolean;
  ldap_url?: string | null;
}

interface JobRow {
  id: number;
  status: string;
  result?: {
    ok?: boolean;
    error?: string;
    code?: string;
    identities_seen?: number;
    entries?: number;
    count?: number;
    scan_run_id?: number;
  } | null;
}

const POLL_MS = 250;
const FINISHED = new Set(['succeeded', 'failed', 'cancelled']);

/**
 * "Run a test connector scan to verify connectivity": queue a scan through the api, follow its job
 * until it finishes (bounded), and pass only when it succeeded having seen entries.
 */
export class ConnectorScanProbe implements ChecklistProbe {
  readonly id = 'connector-scan' as const;

  item(session: ProbeSession): string {
    const which =
      session.target.scanConnectorId !== undefined ? `connector ${session.target.scanConnectorId}` : 'an enabled ldap:// connector';
    return `A test connector scan of ${which} completes (${session.apiUrl('/api/connectors/{id}/scan')})`;
  }

  async check(session: ProbeSession): Promise<ProbeVerdict> {
    const token = await session.token();
    const connector = await this.chooseConnector(session);
    const evidence: Record<string, unknown> = {
      connectorId: connector.id,
      ...(connector.name ? { connectorName: connector.name } : {}),
      ...(connector.ldap_url ? { ldapUrl: connector.ldap_url } : {}),
    };
    const label = `connector ${connector.id}${connector.name ? ` (${connector.name})` : ''}`;

    const queued = await session.http.request('POST', session.apiUrl(`/api/connectors/${connector.id}/scan`), { token, service: 'api' });
    evidence.queueStatus = queued.status;
    try {
      ProbeHttp.expectStatus(queued, [200, 201, 202]);
    } catch (error) {
      throw ProbeFailure.failed(`queueing a scan of ${label} failed: ${(error as Error).message}`, evidence);
    }
    const jobId = ProbeHttp.json<{ job_id?: unknown }>(queued).job_id;
    if (typeof jobId !== 'number' && typeof jobId !== 'string')
      throw ProbeFailure.failed(`POST ${queued.displayUrl}: HTTP ${queued.status} but no job_id in the body`, evidence);
    evidence.jobId = Number(jobId);

    const started = performance.now();
    let job: JobRow | undefined;
    for (;;) {
      const reply = await session.http.request('GET', session.apiUrl(`/api/jobs/${jobId}`), { token, service: 'api' });
      ProbeHttp.expectStatus(reply, 200);
      job = ProbeHttp.json<JobRow>(reply);
      evidence.status = job.status;
      evidence.waitedMs = Math.round(performance.now() - started);
      if (FINISHED.has(job.status)) break;
      if (performance.now() - started >= session.timeouts.scanMs) {
        throw ProbeFailure.failed(
          `scan job ${String(jobId)} of ${label} still ${job.status} after ${session.timeouts.scanMs} ms (is the worker running?)`,
          evidence,
        );
      }
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
    }

    const result = job.result ?? {};
    const entries = result.identities_seen ?? result.entries ?? result.count;
    if (entries !== undefined) evidence.entries = entries;
    if (result.scan_run_id !== undefined) evidence.scanRunId = result.scan_run_id;
    if (result.error !== undefined) evidence.error = result.error;
    if (result.code !== undefined) evidence.code = result.code;
    if (job.status !== 'succeeded') {
      throw ProbeFailure.failed(
        `scan job ${String(jobId)} of ${label} ${job.status}: ${result.error ?? 'no error given'}${result.code ? ` (${result.code})` : ''}`,
        evidence,
      );
    }
    if (typeof entries !== 'number' || entries <= 0) {
      throw ProbeFailure.failed(
        `scan job ${String(jobId)} of ${label} succeeded but saw ${String(entries ?? 'no')} entries: the directory answered with nothing`,
        evidence,
      );
    }
    return {
      outcome: 'passed',
      summary: `scan job ${String(jobId)} of ${label} succeeded with ${entries} entries in ${String(evidence.waitedMs)} ms`,
      evidence,
    };
  }

  private async chooseConnector(session: ProbeSession): Promise<ConnectorRow> {
    const { reply, body } = await session.getJson<unknown>('/api/connectors');
    if (!Array.isArray(body)) throw ProbeFailure.failed(`GET ${reply.displayUrl}: HTTP 200 but the body is not a JSON array`);
    const connectors = body as ConnectorRow[];
    const wanted = session.target.scanConnectorId;
    if (wanted !== undefined) {
      const found = connectors.find((c) => Number(c.id) === wanted);
      if (!found)
        throw ProbeFailure.failed(
          `connector ${wanted} (target.scanConnectorId) is not listed by GET ${reply.displayUrl} (${connectors.length} connectors)`,
        );
      return found;
    }
    const candidate = connectors.find((c) => c.is_enabled !== false && typeof c.ldap_url === 'string' && c.ldap_url.startsWith('ldap://'));
    if (!candidate)
      throw ProbeFailure.failed(
        `no enabled connector with an ldap:// URL among ${connectors.length} connectors: set target.scanConnectorId`,
      );
    return candidate;
  }
}
