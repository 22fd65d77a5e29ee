import { ProbeFailure } from './probe-failure.ts';
import { ProbeHttp } from './probe-http.ts';
import type { ProbeSession } from './probe-session.ts';
import type { ChecklistProbe, ProbeVerdict } from './probe.ts';

/** "API responds at http://host:8000/docs": /docs is HTML about the API, and /openapi.json parses. */
export class ApiDocsProbe implements ChecklistProbe {
  readonly id = 'api-docs' as const;

  item(session: ProbeSession): string {
    return `API responds at ${session.apiUrl('/docs')}`;
  }

  async check(session: ProbeSession): Promise<ProbeVerdict> {
    const docs = await session.http.request('GET', session.apiUrl('/docs'), { service: 'api' });
    ProbeHttp.expectStatus(docs, 200);
    const title = /<title[^>]*>([^<]*)<\/title>/i.exec(docs.text)?.[1]?.trim();
    const docsEvidence = { status: docs.status, contentType: docs.contentType, bytes: docs.text.length, ...(title ? { title } : {}) };
    if (!/html/i.test(docs.contentType) && !/<html[\s>]/i.test(docs.text)) {
      throw ProbeFailure.failed(`GET ${docs.displayUrl}: HTTP 200 but not HTML (content-type ${docs.contentType || 'none'})`, {
        docs: docsEvidence,
      });
    }
    if (!/\b(api|openapi|swagger|redoc)\b/i.test(docs.text)) {
      throw ProbeFailure.failed(
        `GET ${docs.displayUrl}: HTTP 200 HTML that does not mention the API (no "API", "OpenAPI", "Swagger" or "ReDoc")`,
        { docs: docsEvidence },
      );
    }

    const specReply = await session.http.request('GET', session.apiUrl('/openapi.json'), { service: 'api' });
    ProbeHttp.expectStatus(specReply, 200);
    const spec = ProbeHttp.json<{ openapi?: unknown; swagger?: unknown; info?: { title?: unknown; version?: unknown }; paths?: unknown }>(
      specReply,
    );
    const version = typeof spec.openapi === 'string' ? spec.openapi : typeof spec.swagger === 'string' ? spec.swagger : undefined;
    const paths = spec.paths && typeof spec.paths === 'object' ? Object.keys(spec.paths).length : undefined;
    const openapi = {
      status: specReply.status,
      ...(version ? { version } : {}),
      ...(typeof spec.info?.title === 'string' ? { title: spec.info.title } : {}),
      ...(paths !== undefined ? { paths } : {}),
    };
    if (version === undefined || paths === undefined || paths === 0) {
      throw ProbeFailure.failed(
        `GET ${specReply.displayUrl}: JSON, but not an OpenAPI document (needs "openapi" and a non-empty "paths")`,
        { docs: docsEvidence, openapi },
      );
    }
    return {
      outcome: 'passed',
      summary: `GET /docs → 200 HTML${title ? ` "${title}"` : ''}; /openapi.json → OpenAPI ${version} with ${paths} paths`,
      evidence: { docs: docsEvidence, openapi },
    };
  }
}
