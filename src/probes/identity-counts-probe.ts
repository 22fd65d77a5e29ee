import { ProbeFailure } from './probe-failure.ts';
import type { ProbeSession } from './probe-session.ts';
import { type ChecklistProbe, NMIA_API_ROUTES, type ProbeVerdict } from './probe.ts';

/**
 * "Identity counts match pre-disaster numbers": the identities the admin sees through the real route
 * (GET /api/v1/identities/, the whole list: the api has no count route) number as many as the
 * pre-disaster manifest's identities rows.
 */
export class IdentityCountsProbe implements ChecklistProbe {
  readonly id = 'identity-counts-match' as const;

  item(session: ProbeSession): string {
    return `Identity counts match pre-disaster numbers (${session.apiUrl(NMIA_API_ROUTES.identities)})`;
  }

  async check(session: ProbeSession): Promise<ProbeVerdict> {
    const expected = session.expectations.expected?.identities;
    if (expected === undefined) throw ProbeFailure.skipped('not checked: no pre-disaster identity count given (expected.identities)');
    const { reply, body } = await session.getJson<unknown>(NMIA_API_ROUTES.identities);
    if (!Array.isArray(body)) throw ProbeFailure.failed(`GET ${reply.displayUrl}: HTTP 200 but the body is not a JSON array`, { expected });
    const total = body.length;
    const enclaves = new Set(body.map((identity) => (identity as { enclave_id?: unknown }).enclave_id)).size;
    const evidence: Record<string, unknown> = { total, expected, enclavesCounted: enclaves };
    if (total !== expected) {
      const delta = total - expected;
      throw ProbeFailure.failed(
        `the api lists ${total} identities, the pre-disaster count is ${expected} (${delta > 0 ? '+' : ''}${delta})`,
        evidence,
      );
    }
    return { outcome: 'passed', summary: `${total} identities in ${enclaves} enclaves, as before the disaster`, evidence };
  }
}
