import { DrillError } from '../errors/drill-error.ts';
import { cleanupRegistry } from '../lifecycle/cleanup-registry.ts';
import { ProbeHttp } from './probe-http.ts';
import { joinUrl } from './probe-session.ts';
import { NMIA_API_ROUTES } from './probe.ts';
import type { SentinelPoint } from './recovery-point.ts';
import { StartedSentinelWriter } from './started-sentinel-writer.ts';

export interface ApiSentinelWriterOptions {
  apiUrl: string;
  /** An admin token (the real api lets admins create enclaves); never logged. */
  token: string;
  /** Each sentinel is an enclave named `<prefix><n>`, so the ones of this drill can be told apart. */
  prefix: string;
  /** Default 500: the real api is a Python process on a shared machine. */
  intervalMs?: number;
  timeoutMs?: number;
}

interface EnclaveOut {
  id?: unknown;
  name?: unknown;
  created_at?: unknown;
}

/**
 * RPO writes through the app's own write path: POST /api/v1/enclaves/ creates an enclave per write (a row
 * in the app's own table, committed by the app), and its `created_at` (the api's clock) is the write time.
 * An app with another write path is measured the same way once it has one of these.
 */
export class ApiSentinelWriter {
  static async start(options: ApiSentinelWriterOptions): Promise<StartedSentinelWriter> {
    const http = new ProbeHttp(options.timeoutMs ?? 5_000);
    let next = 1;
    const writeOne = async (): Promise<SentinelPoint> => {
      const n = next++;
      const reply = await http.request('POST', joinUrl(options.apiUrl, NMIA_API_ROUTES.enclaves), {
        token: options.token,
        json: { name: `${options.prefix}${n}`, description: 'nmia-drill RPO sentinel: a write through the api, made before the disaster' },
        service: 'api',
      });
      ProbeHttp.expectStatus(reply, [200, 201]);
      const body = ProbeHttp.json<EnclaveOut>(reply);
      if (typeof body.created_at !== 'string') throw new Error(`${reply.displayUrl}: HTTP ${reply.status} without created_at`);
      return { id: n, writtenAt: ApiSentinelWriter.iso(body.created_at) };
    };
    // The first write must work: a writer that never writes would report an RPO of nothing.
    await writeOne().catch((error: unknown) => {
      throw new DrillError(`api sentinel writer: ${(error as Error).message}`, {
        fix: `check that the admin may create enclaves through POST ${NMIA_API_ROUTES.enclaves}`,
      });
    });
    const writer = new StartedSentinelWriter({ intervalMs: options.intervalMs ?? 500 }, writeOne);
    const cleanup = cleanupRegistry.register('api sentinel writer', async () => {
      await writer.stop();
    });
    writer.onStopped(() => cleanup.release());
    writer.start();
    return writer;
  }

  /** The newest sentinel enclave the (recovered) api lists, read through GET /api/v1/enclaves/. */
  static async latest(apiUrl: string, token: string, prefix: string, timeoutMs = 10_000): Promise<SentinelPoint | undefined> {
    const reply = await new ProbeHttp(timeoutMs).request('GET', joinUrl(apiUrl, NMIA_API_ROUTES.enclaves), { token, service: 'api' });
    ProbeHttp.expectStatus(reply, 200);
    const enclaves = ProbeHttp.json<EnclaveOut[]>(reply);
    let newest: SentinelPoint | undefined;
    for (const enclave of Array.isArray(enclaves) ? enclaves : []) {
      if (typeof enclave.name !== 'string' || !enclave.name.startsWith(prefix) || typeof enclave.created_at !== 'string') continue;
      const id = Number(enclave.name.slice(prefix.length));
      if (Number.isInteger(id) && (!newest || id > newest.id)) newest = { id, writtenAt: ApiSentinelWriter.iso(enclave.created_at) };
    }
    return newest;
  }

  /** FastAPI's datetime: ISO 8601, with a zone when the column has one; a bare one is the api's UTC. */
  private static iso(value: string): string {
    const zoned = /(?:Z|[+-]\d\d:?\d\d)$/.test(value) ? value : `${value}Z`;
    return new Date(zoned).toISOString();
  }
}
