import { Redactor } from '../evidence/redactor.ts';
import { ProbeFailure } from './probe-failure.ts';
import { type HttpReply, ProbeHttp } from './probe-http.ts';
import { type ChecklistExpectations, NMIA_API_ROUTES, type ProbeTarget, type ProbeTimeouts } from './probe.ts';

export interface LoginOutcome {
  status: number | undefined;
  token: string | undefined;
  tokenType?: string;
  expiresIn?: number;
  /** Why no token, one line (never the password). */
  failure?: string;
  durationMs: number;
}

const DEFAULT_TIMEOUTS: Required<ProbeTimeouts> = {
  httpMs: 5_000,
  scanMs: 60_000,
  uiMs: 20_000,
};

/**
 * What the probes of one checklist run share: the target, the HTTP client, one admin login
 * (its token is kept here only, and registered for redaction), and the secrets to scrub.
 */
export class ProbeSession {
  readonly http: ProbeHttp;
  readonly timeouts: Required<ProbeTimeouts>;
  readonly redactor = new Redactor();
  private login: Promise<LoginOutcome> | undefined;

  constructor(
    readonly target: ProbeTarget,
    readonly expectations: ChecklistExpectations = {},
  ) {
    this.timeouts = { ...DEFAULT_TIMEOUTS, ...definedOnly(target.timeouts ?? {}) };
    this.http = new ProbeHttp(this.timeouts.httpMs);
    this.redactor.add('admin-password', target.admin.password);
    this.redactor.add('admin-password', encodeURIComponent(target.admin.password));
    this.redactor.add('db-password', typeof target.database?.password === 'string' ? target.database.password : undefined);
    this.redactor.add('pre-disaster-token', expectations.preDisasterToken);
  }

  apiUrl(path: string): string {
    return joinUrl(this.target.apiUrl, path);
  }

  uiUrl(path: string): string {
    return joinUrl(this.target.uiUrl, path);
  }

  /** POST /api/v1/auth/login now, and keep the result as the session's login. */
  freshLogin(): Promise<LoginOutcome> {
    this.login = this.performLogin();
    return this.login;
  }

  /** The session's login, performed on first use. */
  currentLogin(): Promise<LoginOutcome> {
    this.login ??= this.performLogin();
    return this.login;
  }

  /** An admin token, or `skipped` saying why this item could not be checked. */
  async token(): Promise<string> {
    const login = await this.currentLogin();
    if (login.token === undefined) throw ProbeFailure.skipped(`not checked: no admin token (${login.failure ?? 'login failed'})`);
    return login.token;
  }

  /** Authenticated GET on the api that must answer 200 with JSON. */
  async getJson<T>(path: string): Promise<{ reply: HttpReply; body: T }> {
    const reply = await this.http.request('GET', this.apiUrl(path), { token: await this.token(), service: 'api' });
    ProbeHttp.expectStatus(reply, 200);
    return { reply, body: ProbeHttp.json<T>(reply) };
  }

  private async performLogin(): Promise<LoginOutcome> {
    const started = performance.now();
    const elapsed = (): number => Math.round(performance.now() - started);
    let reply: HttpReply;
    try {
      reply = await this.http.request('POST', this.apiUrl(NMIA_API_ROUTES.login), {
        json: { username: this.target.admin.username, password: this.target.admin.password },
        service: 'api',
      });
    } catch (error) {
      return { status: undefined, token: undefined, failure: (error as Error).message, durationMs: elapsed() };
    }
    if (reply.status !== 200) {
      return {
        status: reply.status,
        token: undefined,
        failure: `${reply.method} ${reply.displayUrl}: HTTP ${reply.status}${ProbeHttp.errorText(reply)}`,
        durationMs: elapsed(),
      };
    }
    let body: { access_token?: unknown; token_type?: unknown; expires_in?: unknown };
    try {
      body = JSON.parse(reply.text) as typeof body;
    } catch {
      return {
        status: reply.status,
        token: undefined,
        failure: `${reply.method} ${reply.displayUrl}: HTTP 200 but the body is not JSON`,
        durationMs: elapsed(),
      };
    }
    if (typeof body.access_token !== 'string' || body.access_token === '') {
      return {
        status: reply.status,
        token: undefined,
        failure: `${reply.method} ${reply.displayUrl}: HTTP 200 but no access_token in the body`,
        durationMs: elapsed(),
      };
    }
    this.redactor.add('admin-token', body.access_token);
    return {
      status: reply.status,
      token: body.access_token,
      ...(typeof body.token_type === 'string' ? { tokenType: body.token_type } : {}),
      ...(typeof body.expires_in === 'number' ? { expiresIn: body.expires_in } : {}),
      durationMs: elapsed(),
    };
  }
}

export function joinUrl(base: string, path: string): string {
  return `${base.replace(/\/+$/, '')}${path.startsWith('/') ? path : `/${path}`}`;
}

function definedOnly<T extends object>(value: T): Partial<T> {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== undefined)) as Partial<T>;
}
