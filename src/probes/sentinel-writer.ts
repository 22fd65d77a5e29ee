import { DrillError } from '../errors/drill-error.ts';
import { cleanupRegistry } from '../lifecycle/cleanup-registry.ts';
import { ProbeHttp } from './probe-http.ts';
import { joinUrl } from './probe-session.ts';
import { type SentinelWriterOptions, StartedSentinelWriter } from './started-sentinel-writer.ts';

export type { SentinelWriterOptions, SentinelWriterStats } from './started-sentinel-writer.ts';

/** A sentinel row as the api reports it; `writtenAt` is the database's clock (ISO 8601). */
export interface SentinelPoint {
  id: number;
  writtenAt: string;
}

/** A sentinel whose INSERT the api acknowledged (HTTP 201); `acknowledgedAt` is the harness's clock. */
export interface AcknowledgedSentinel extends SentinelPoint {
  acknowledgedAt: string;
}

export interface RpoInput {
  /** The newest sentinel the api acknowledged before the disaster. */
  acknowledged: SentinelPoint | undefined;
  /** The newest sentinel present after recovery (latestSentinel). */
  afterRecovery: SentinelPoint | undefined;
  disasterAt: Date | string;
}

export interface RpoResult {
  /** Acknowledged writes lost, in ms of write time; null when it cannot be measured. */
  rpoMs: number | null;
  /** Acknowledged sentinels lost (id difference), when both ids are known. */
  lostWrites: number | null;
  explanation: string;
}

const LOGIN_FIX = 'check the api is up and the admin credentials are right';

/** Background writer for RPO: POST /api/sentinels every ~200 ms, keeping what the api acknowledged. */
export class SentinelWriter {
  /** Logs in when given credentials and no token; starts writing at once. */
  static async start(options: SentinelWriterOptions): Promise<StartedSentinelWriter> {
    const timeoutMs = options.timeoutMs ?? 2_000;
    let token = options.token;
    if (token === undefined) {
      if (!options.admin)
        throw new DrillError('SentinelWriter needs a token or admin credentials', {
          fix: 'pass { token } or { admin: { username, password } }',
        });
      token = await SentinelWriter.login(options.apiUrl, options.admin, { timeoutMs });
    }
    const writer = new StartedSentinelWriter(options, new ProbeHttp(timeoutMs), token, (admin) =>
      SentinelWriter.login(options.apiUrl, admin, { timeoutMs }),
    );
    const cleanup = cleanupRegistry.register('sentinel writer', async () => {
      await writer.stop();
    });
    writer.onStopped(() => cleanup.release());
    writer.start();
    return writer;
  }

  /** POST /api/auth/login → access_token; a DrillError naming the cause otherwise (never the password). */
  static async login(apiUrl: string, admin: { username: string; password: string }, options: { timeoutMs?: number } = {}): Promise<string> {
    const http = new ProbeHttp(options.timeoutMs ?? 5_000);
    let reply;
    try {
      reply = await http.request('POST', joinUrl(apiUrl, '/api/auth/login'), { json: admin, service: 'api' });
    } catch (error) {
      throw new DrillError(`sentinel writer login: ${(error as Error).message}`, { fix: LOGIN_FIX });
    }
    if (reply.status !== 200)
      throw new DrillError(`sentinel writer login: HTTP ${reply.status}${ProbeHttp.errorText(reply)}`, { fix: LOGIN_FIX });
    const token = (JSON.parse(reply.text) as { access_token?: unknown }).access_token;
    if (typeof token !== 'string') throw new DrillError('sentinel writer login: HTTP 200 without an access_token', { fix: LOGIN_FIX });
    return token;
  }
}

/** The newest sentinel in the database, via GET /api/sentinels/latest; undefined when there is none (404). */
export async function latestSentinel(
  apiUrl: string,
  token: string,
  options: { timeoutMs?: number } = {},
): Promise<SentinelPoint | undefined> {
  const http = new ProbeHttp(options.timeoutMs ?? 5_000);
  let reply;
  try {
    reply = await http.request('GET', joinUrl(apiUrl, '/api/sentinels/latest'), { token, service: 'api' });
  } catch (error) {
    throw new DrillError(`latest sentinel: ${(error as Error).message}`, { fix: 'start the api before reading the latest sentinel' });
  }
  if (reply.status === 404) return undefined;
  if (reply.status !== 200) {
    throw new DrillError(`latest sentinel: GET ${reply.displayUrl} → HTTP ${reply.status}${ProbeHttp.errorText(reply)}`, {
      fix: reply.status === 401 ? 'log in again: the token was refused (SECRET_KEY changed?)' : 'check the api log',
    });
  }
  const body = JSON.parse(reply.text) as { id?: unknown; written_at?: unknown };
  if (body.id === undefined || typeof body.written_at !== 'string') {
    throw new DrillError(`latest sentinel: GET ${reply.displayUrl} → 200 without id and written_at`, {
      fix: 'the api must answer { id, written_at }',
    });
  }
  return { id: Number(body.id), writtenAt: new Date(body.written_at).toISOString() };
}

/**
 * RPO = the newest sentinel acknowledged before the disaster − the newest present after recovery
 * (write times, ms, never negative). A surviving sentinel written after the disaster means nothing
 * acknowledged was lost: RPO 0.
 */
export function computeRpo(input: RpoInput): RpoResult {
  const { acknowledged, afterRecovery } = input;
  const disasterMs = new Date(input.disasterAt).getTime();
  if (!acknowledged)
    return { rpoMs: null, lostWrites: null, explanation: 'no write was acknowledged before the disaster: RPO not measured' };
  if (!afterRecovery) {
    return {
      rpoMs: null,
      lostWrites: null,
      explanation: `no sentinel exists after recovery: every acknowledged write is lost, up to #${acknowledged.id} (${acknowledged.writtenAt})`,
    };
  }
  const ackMs = new Date(acknowledged.writtenAt).getTime();
  const afterMs = new Date(afterRecovery.writtenAt).getTime();
  if (afterMs > disasterMs) {
    return {
      rpoMs: 0,
      lostWrites: 0,
      explanation: `sentinel #${afterRecovery.id}, written after the disaster (${afterRecovery.writtenAt}), survived: nothing acknowledged was lost`,
    };
  }
  const rpoMs = Math.max(0, ackMs - afterMs);
  const lostWrites = acknowledged.id >= afterRecovery.id ? acknowledged.id - afterRecovery.id : null;
  if (rpoMs === 0 && (lostWrites ?? 0) === 0) {
    return { rpoMs: 0, lostWrites: 0, explanation: `the newest acknowledged sentinel #${acknowledged.id} survived` };
  }
  return {
    rpoMs,
    lostWrites,
    explanation: `newest acknowledged #${acknowledged.id} (${acknowledged.writtenAt}), newest after recovery #${afterRecovery.id} (${afterRecovery.writtenAt}): ${rpoMs} ms${lostWrites !== null ? `, ${lostWrites} acknowledged writes` : ''} lost`,
  };
}
