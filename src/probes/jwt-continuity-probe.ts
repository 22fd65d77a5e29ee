import { ProbeFailure } from './probe-failure.ts';
import { DrillError } from '../errors/drill-error.ts';
import { type HttpReply, ProbeHttp } from './probe-http.ts';
import { joinUrl, type ProbeSession } from './probe-session.ts';
import { type ChecklistProbe, NMIA_API_ROUTES, type ProbeVerdict } from './probe.ts';

export interface TokenCheck {
  /** HTTP status of GET /api/v1/enclaves/ with the token: 200 when the api accepts it, 401 when not. */
  status: number;
  /** The api's error text on refusal, e.g. "Invalid or expired token". */
  detail: string;
}

/** POST the admin's credentials to the login route → the access token; a DrillError naming the cause otherwise (never the password). */
export async function issueToken(
  apiUrl: string,
  admin: { username: string; password: string },
  options: { timeoutMs?: number } = {},
): Promise<string> {
  const fix = 'check the api is up and the admin credentials are right';
  let reply: HttpReply;
  try {
    reply = await new ProbeHttp(options.timeoutMs ?? 5_000).request('POST', joinUrl(apiUrl, NMIA_API_ROUTES.login), {
      json: admin,
      service: 'api',
    });
  } catch (error) {
    throw new DrillError(`admin login: ${(error as Error).message}`, { fix });
  }
  if (reply.status !== 200) throw new DrillError(`admin login: HTTP ${reply.status}${ProbeHttp.errorText(reply)}`, { fix });
  const token = (JSON.parse(reply.text) as { access_token?: unknown }).access_token;
  if (typeof token !== 'string') throw new DrillError('admin login: HTTP 200 without an access_token', { fix });
  return token;
}

/**
 * The raw check: GET {apiUrl}/api/v1/enclaves/ with `token`. Rejects with a ProbeFailure
 * (outcome failed, one-line cause) when the api cannot be reached.
 */
export async function checkToken(apiUrl: string, token: string, options: { timeoutMs?: number } = {}): Promise<TokenCheck> {
  const reply = await new ProbeHttp(options.timeoutMs ?? 5_000).request('GET', joinUrl(apiUrl, NMIA_API_ROUTES.enclaves), {
    token,
    service: 'api',
  });
  return { status: reply.status, detail: reply.status === 200 ? '' : ProbeHttp.errorText(reply).trim() };
}

/**
 * "A JWT issued before the disaster is still valid when SECRET_KEY was kept". With
 * tokenExpectation 'invalid' (the key was rotated on purpose) the same token must be refused (401).
 */
export class JwtContinuityProbe implements ChecklistProbe {
  readonly id = 'jwt-continuity' as const;

  item(session: ProbeSession): string {
    return session.expectations.tokenExpectation === 'invalid'
      ? 'A JWT issued before the disaster is refused (SECRET_KEY rotated)'
      : 'A JWT issued before the disaster is still valid (SECRET_KEY kept)';
  }

  async check(session: ProbeSession): Promise<ProbeVerdict> {
    const token = session.expectations.preDisasterToken;
    if (token === undefined) throw ProbeFailure.skipped('not checked: no token issued before the disaster given (preDisasterToken)');
    const expectValid = session.expectations.tokenExpectation !== 'invalid';
    const result = await checkToken(session.target.apiUrl, token, { timeoutMs: session.timeouts.httpMs });
    const evidence = { status: result.status, expected: expectValid ? 200 : 401, ...(result.detail ? { detail: result.detail } : {}) };
    const url = ProbeHttp.displayUrl(session.apiUrl(NMIA_API_ROUTES.enclaves));
    if (expectValid) {
      if (result.status === 200)
        return { outcome: 'passed', summary: `GET ${url} with a pre-disaster token → 200: sessions survive the recovery`, evidence };
      const hint = result.status === 401 ? ' (was SECRET_KEY changed? users must sign in again)' : '';
      throw ProbeFailure.failed(
        `GET ${url} with a pre-disaster token → HTTP ${result.status}${result.detail ? ` ${result.detail}` : ''}${hint}`,
        evidence,
      );
    }
    if (result.status === 401)
      return { outcome: 'passed', summary: `GET ${url} with a pre-disaster token → 401 as expected after rotating SECRET_KEY`, evidence };
    throw ProbeFailure.failed(
      `GET ${url} with a pre-disaster token → HTTP ${result.status}, expected 401: the old SECRET_KEY is still in use`,
      evidence,
    );
  }
}
