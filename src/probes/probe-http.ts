import http from 'node:http';
import https from 'node:https';
import { ProbeFailure } from './probe-failure.ts';

export type HttpMethod = 'GET' | 'POST';

/** One HTTP exchange, body read in full (bounded by the same timeout). */
export interface HttpReply {
  method: HttpMethod;
  /** For messages: no userinfo, no fragment (the ui login URL carries the password there). */
  displayUrl: string;
  status: number;
  contentType: string;
  text: string;
}

export interface HttpRequestOptions {
  /** Bearer token; never echoed in any message. */
  token?: string;
  json?: unknown;
  /** Which service answers, for the hint in "connection refused (is the api running?)". */
  service?: string;
}

/** The one rejection value meaning "the request's timer fired". */
const TIMED_OUT = new Error('timed out');

const NETWORK_CAUSES: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by the server',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host name not found',
  EAI_AGAIN: 'host name lookup failed (temporary)',
  EPIPE: 'connection closed while sending',
  UND_ERR_SOCKET: 'connection closed by the server',
  UND_ERR_CONNECT_TIMEOUT: 'connect timed out',
};

/** Every probe's HTTP: a timeout on each request, and unreachable servers reported as `failed` with a one-line cause. */
export class ProbeHttp {
  constructor(readonly timeoutMs: number) {}

  static displayUrl(url: string): string {
    try {
      const parsed = new URL(url);
      return `${parsed.origin}${parsed.pathname}${parsed.search}`;
    } catch {
      return url.replace(/#.*$/, '');
    }
  }

  async request(method: HttpMethod, url: string, options: HttpRequestOptions = {}): Promise<HttpReply> {
    const displayUrl = ProbeHttp.displayUrl(url);
    const headers: Record<string, string> = { accept: 'application/json, text/html;q=0.9, */*;q=0.1' };
    if (options.token !== undefined) headers.authorization = `Bearer ${options.token}`;
    if (options.json !== undefined) headers['content-type'] = 'application/json';
    const body = options.json !== undefined ? JSON.stringify(options.json) : undefined;
    if (body !== undefined) headers['content-length'] = String(Buffer.byteLength(body));
    try {
      const { status, contentType, text } = await this.exchange(url, method, headers, body);
      return { method, displayUrl, status, contentType, text };
    } catch (error) {
      throw ProbeFailure.failed(`${method} ${displayUrl}: ${this.describe(error, options.service)}`, {
        request: `${method} ${displayUrl}`,
      });
    }
  }

  /**
   * node:http rather than fetch: fetch refuses the Fetch spec's "bad ports" (1, 6000, 6665 …) before
   * dialling, which would hide what is really there. One timer bounds connect, headers and body.
   */
  private exchange(
    url: string,
    method: HttpMethod,
    headers: Record<string, string>,
    body: string | undefined,
  ): Promise<{ status: number; contentType: string; text: string }> {
    const parsed = new URL(url);
    const transport = parsed.protocol === 'https:' ? https : parsed.protocol === 'http:' ? http : undefined;
    if (!transport) return Promise.reject(new Error(`unsupported URL scheme ${parsed.protocol} (use http or https)`));
    const signal = AbortSignal.timeout(this.timeoutMs);
    return new Promise((resolve, reject) => {
      // Whatever error an abort surfaces as (request or body stream), it is the timeout.
      const fail = (error: unknown): void => reject(signal.aborted ? TIMED_OUT : error);
      const request = transport.request(parsed, { method, headers, signal }, (response) => {
        const chunks: Buffer[] = [];
        let ended = false;
        response.on('data', (chunk: Buffer) => chunks.push(chunk));
        response.on('error', fail);
        response.on('end', () => {
          ended = true;
          resolve({
            status: response.statusCode ?? 0,
            contentType: String(response.headers['content-type'] ?? ''),
            text: Buffer.concat(chunks).toString('utf8'),
          });
        });
        response.on('close', () => {
          if (!ended) fail(new Error('connection closed before the response body was complete'));
        });
      });
      request.on('error', fail);
      request.end(body);
    });
  }

  /** A JSON body, or `failed` naming the request. */
  static json<T = unknown>(reply: HttpReply): T {
    try {
      return JSON.parse(reply.text) as T;
    } catch {
      throw ProbeFailure.failed(
        `${reply.method} ${reply.displayUrl}: HTTP ${reply.status} but the body is not JSON (content-type ${reply.contentType || 'none'})`,
        {
          status: reply.status,
        },
      );
    }
  }

  /** `failed` unless the status is one of `expected`; the message carries the server's own error text. */
  static expectStatus(reply: HttpReply, expected: number | number[], hint = ''): void {
    const wanted = Array.isArray(expected) ? expected : [expected];
    if (wanted.includes(reply.status)) return;
    throw ProbeFailure.failed(
      `${reply.method} ${reply.displayUrl}: HTTP ${reply.status}${ProbeHttp.errorText(reply)}, expected ${wanted.join(' or ')}${hint ? ` ${hint}` : ''}`,
      {
        status: reply.status,
      },
    );
  }

  /** ` Invalid or expired token` from a JSON error body (FastAPI's `detail`), else a short text excerpt. */
  static errorText(reply: HttpReply): string {
    try {
      const body = JSON.parse(reply.text) as { error?: unknown; detail?: unknown; message?: unknown };
      // FastAPI's 422: detail is a list of { loc, msg }.
      const detail = Array.isArray(body.detail)
        ? body.detail
            .map((d: { loc?: unknown; msg?: unknown }) => `${Array.isArray(d.loc) ? d.loc.join('.') : ''}: ${String(d.msg ?? '')}`)
            .join('; ')
        : body.detail;
      const parts = [body.error, detail ?? body.message].filter((part) => typeof part === 'string' && part !== '');
      if (parts.length > 0) return ` ${parts.join(': ')}`;
    } catch {
      // Not JSON: fall through to the text.
    }
    const excerpt = reply.text
      .replace(/<[^>]*>/g, ' ')
      .replace(/\s+/g, ' ')
      .trim()
      .slice(0, 120);
    return excerpt ? ` ${excerpt}` : '';
  }

  private describe(error: unknown, service: string | undefined): string {
    if (error === TIMED_OUT) {
      return `no complete answer within ${this.timeoutMs} ms${service ? ` (is the ${service} overloaded or hung?)` : ''}`;
    }
    const code = ProbeHttp.errorCode(error);
    const hint = service ? ` (is the ${service} running?)` : '';
    if (code !== undefined && NETWORK_CAUSES[code]) return `${NETWORK_CAUSES[code]}${code === 'ECONNREFUSED' ? hint : ''}`;
    const cause = (error as { cause?: unknown }).cause;
    const message = cause instanceof Error ? cause.message : error instanceof Error ? error.message : String(error);
    return `${message.split('\n')[0]}${code ? ` (${code})` : ''}`;
  }

  /** The system error code under fetch's "fetch failed" (an AggregateError when several addresses were tried). */
  private static errorCode(error: unknown): string | undefined {
    let current: unknown = error;
    for (let depth = 0; depth < 4 && current; depth++) {
      const code = (current as { code?: unknown }).code;
      if (typeof code === 'string') return code;
      const nested = (current as { errors?: unknown[] }).errors;
      current = Array.isArray(nested) && nested.length > 0 ? nested[0] : (current as { cause?: unknown }).cause;
    }
    return undefined;
  }
}
