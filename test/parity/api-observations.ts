import { NMIA_API_ROUTES } from '../../src/probes/probe.ts';

/** What one request showed, reduced to what must be equal between the reference and the real api. */
export type Observation = Record<string, unknown>;

const json = async (response: Response): Promise<unknown> => {
  const text = await response.text();
  try {
    return JSON.parse(text);
  } catch {
    return { text: text.slice(0, 80) };
  }
};

const claims = (token: string): { header: unknown; keys: string[]; sub: unknown; lifetimeMin: number } => {
  const [header, payload] = token.split('.').map((part) => {
    try {
      return JSON.parse(Buffer.from(part, 'base64url').toString()) as Record<string, unknown>;
    } catch {
      return {};
    }
  });
  return {
    header,
    keys: Object.keys(payload ?? {}).sort(),
    sub: payload?.sub,
    lifetimeMin: Math.round((Number(payload?.exp) - Date.now() / 1000) / 60),
  };
};

/** The shape of a list: its length, the first element's keys, and the value types of those keys. */
const shape = (body: unknown): Observation => {
  if (!Array.isArray(body)) return { notAList: body };
  const first = body[0] as Record<string, unknown> | undefined;
  return {
    length: body.length,
    keys: first ? Object.keys(first) : [],
    types: first
      ? Object.fromEntries(Object.entries(first).map(([k, v]) => [k, v === null ? 'null' : Array.isArray(v) ? 'array' : typeof v]))
      : {},
  };
};

/**
 * The HTTP facts the checklist probes and the runbook rely on (docs/reference-app.md), observed on one
 * api. Bodies that come from the seeded rows are compared whole: both sides hold the same seed.
 */
export async function observeApi(apiUrl: string, admin: { username: string; password: string }): Promise<Record<string, Observation>> {
  const at = (path: string): string => `${apiUrl}${path}`;
  const request = (path: string, init: RequestInit = {}): Promise<Response> => fetch(at(path), { redirect: 'manual', ...init });
  const post = (path: string, body: string, contentType = 'application/json', authorization?: string): Promise<Response> =>
    request(path, { method: 'POST', body, headers: { 'content-type': contentType, ...(authorization ? { authorization } : {}) } });
  const out: Record<string, Observation> = {};

  const health = await request('/health');
  out.health = { status: health.status, body: await json(health) };
  const docs = await request('/docs');
  out.docs = { status: docs.status, title: /<title>([^<]*)<\/title>/.exec(await docs.text())?.[1] ?? null };
  const spec = (await json(await request('/openapi.json'))) as { openapi?: unknown; info?: unknown; paths?: Record<string, unknown> };
  out.openapi = { openapi: spec.openapi, info: spec.info, paths: Object.keys(spec.paths ?? {}).sort() };

  const ok = await post(NMIA_API_ROUTES.login, JSON.stringify(admin));
  const okBody = (await json(ok)) as { access_token?: string; token_type?: unknown };
  const token = okBody.access_token ?? '';
  out.loginOk = { status: ok.status, keys: Object.keys(okBody).sort(), tokenType: okBody.token_type, token: claims(token) };
  const wrong = await post(NMIA_API_ROUTES.login, JSON.stringify({ ...admin, password: `${admin.password}-wrong` }));
  out.loginWrongPassword = { status: wrong.status, wwwAuthenticate: wrong.headers.get('www-authenticate'), body: await json(wrong) };
  const unknown = await post(NMIA_API_ROUTES.login, JSON.stringify({ username: 'nobody-here', password: admin.password }));
  out.loginUnknownUser = { status: unknown.status, body: await json(unknown) };
  const missing = await post(NMIA_API_ROUTES.login, JSON.stringify({ username: admin.username }));
  const missingBody = (await json(missing)) as { detail?: Array<{ type?: unknown; loc?: unknown }> };
  out.loginMissingField = { status: missing.status, errors: (missingBody.detail ?? []).map((d) => ({ type: d.type, loc: d.loc })) };
  const form = await post(NMIA_API_ROUTES.login, new URLSearchParams(admin).toString(), 'application/x-www-form-urlencoded');
  const formBody = (await json(form)) as { detail?: Array<{ type?: unknown; loc?: unknown }> };
  out.loginFormEncoded = { status: form.status, errors: (formBody.detail ?? []).map((d) => ({ type: d.type, loc: d.loc })) };

  const enclaves = (authorization?: string, path: string = NMIA_API_ROUTES.enclaves): Promise<Response> =>
    request(path, authorization ? { headers: { authorization } } : {});
  for (const [name, authorization] of [
    ['enclavesNoToken', undefined],
    ['enclavesBasicAuth', 'Basic YWRtaW46YWRtaW4='],
    ['enclavesBadToken', 'Bearer not-a-jwt'],
    ['enclavesForeignKeyToken', `Bearer ${token.split('.').slice(0, 2).join('.')}.c2lnbmVkLWVsc2V3aGVyZQ`],
  ] as const) {
    const response = await enclaves(authorization);
    out[name] = { status: response.status, wwwAuthenticate: response.headers.get('www-authenticate'), body: await json(response) };
  }
  const bearer = `Bearer ${token}`;
  const redirect = await enclaves(bearer, NMIA_API_ROUTES.enclaves.replace(/\/$/, ''));
  out.enclavesWithoutSlash = { status: redirect.status, location: new URL(redirect.headers.get('location') ?? '/', apiUrl).pathname };
  const list = await enclaves(bearer);
  const listBody = await json(list);
  out.enclaves = { status: list.status, ...shape(listBody), body: listBody };
  const connectors = await request(NMIA_API_ROUTES.connectors, { headers: { authorization: bearer } });
  const connectorsBody = await json(connectors);
  out.connectors = { status: connectors.status, ...shape(connectorsBody), body: connectorsBody };
  const types = await request(NMIA_API_ROUTES.connectorTypes, { headers: { authorization: bearer } });
  out.connectorTypes = { status: types.status, body: await json(types) };
  const identities = await request(NMIA_API_ROUTES.identities, { headers: { authorization: bearer } });
  const identitiesBody = await json(identities);
  out.identities = { status: identities.status, ...shape(identitiesBody), first: Array.isArray(identitiesBody) ? identitiesBody[0] : null };
  const me = await request('/api/v1/users/me', { headers: { authorization: bearer } });
  const meBody = (await json(me)) as { detail?: unknown };
  out.usersMe = {
    status: me.status,
    detail: Array.isArray(meBody.detail)
      ? meBody.detail.map((d: { type?: unknown; loc?: unknown }) => ({ type: d.type, loc: d.loc }))
      : meBody.detail,
  };
  const wrongMethod = await request(NMIA_API_ROUTES.login);
  out.loginWrongMethod = { status: wrongMethod.status, allow: wrongMethod.headers.get('allow'), body: await json(wrongMethod) };
  const nowhere = await request('/api/v1/no-such-route');
  out.unknownRoute = { status: nowhere.status, body: await json(nowhere) };
  return out;
}
