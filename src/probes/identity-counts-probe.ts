import { ProbeFailure } from './probe-failure.ts';
import type { ProbeSession } from './probe-session.ts';
import type { ChecklistProbe, ProbeVerdict } from './probe.ts';

/** "Identity counts match pre-disaster numbers": GET /api/identities/count total = the pre-disaster manifest's identities rows. */
export class IdentityCountsProbe implements ChecklistProbe {
  readonly id = 'identity-counts-match' as const;

  item(session: ProbeSession): string {
    return `Identity counts match pre-disaster numbers (${session.apiUrl('/api/identities/count')})`;
  }

  async check(session: ProbeSession): Promise<ProbeVerdict> {
    const expected = session.expectations.expected?.identities;
    if (expected === undefined) throw ProbeFailure.skipped('not checked: no pre-disaster identity count given (expected.identities)');
    const { reply, body } = await session.getJson<{ total?: unknown; by_enclave?: unknown }>('/api/identities/count');
    const total =
      typeof body.total === 'number'
        ? body.total
        : typeof body.total === 'string' && /^\d+$/.test(body.total)
          ? Number(body.total)
          : undefined;
    const evidence: Record<string, unknown> = {
      total: total ?? null,
      expected,
      ...(Array.isArray(body.by_enclave) ? { enclavesCounted: body.by_enclave.length } : {}),
    };
    if (total === undefined) throw ProbeFailure.failed(`GET ${reply.displayUrl}: HTTP 200 but no numeric "total" in the body`, evidence);
    if (total !== expected) {
      const delta = total - expected;
      throw ProbeFailure.failed(
        `the api counts ${total} identities, the pre-disaster count is ${expected} (${delta > 0 ? '+' : ''}${delta})`,
        evidence,
      );
    }
    return { outcome: 'passed', summary: `${total} identities, as before the disaster`, evidence };
  }
}
