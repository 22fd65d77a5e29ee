import { ProbeFailure } from './probe-failure.ts';
import type { ProbeSession } from './probe-session.ts';
import { type ChecklistProbe, NMIA_API_ROUTES, type ProbeVerdict } from './probe.ts';

/** "Enclaves and connectors are visible": both lists non-empty, and equal to the pre-disaster counts when given. */
export class EnclavesConnectorsProbe implements ChecklistProbe {
  readonly id = 'enclaves-connectors-visible' as const;

  item(session: ProbeSession): string {
    return `Enclaves and connectors are visible at ${session.apiUrl(NMIA_API_ROUTES.enclaves)} and ${session.apiUrl(NMIA_API_ROUTES.connectors)}`;
  }

  async check(session: ProbeSession): Promise<ProbeVerdict> {
    const enclaves = await session.getJson<unknown>(NMIA_API_ROUTES.enclaves);
    const connectors = await session.getJson<unknown>(NMIA_API_ROUTES.connectors);
    const expected = session.expectations.expected;
    const evidence: Record<string, unknown> = {
      enclaves: Array.isArray(enclaves.body) ? enclaves.body.length : null,
      connectors: Array.isArray(connectors.body) ? connectors.body.length : null,
      ...(expected?.enclaves !== undefined || expected?.connectors !== undefined
        ? {
            expected: {
              ...(expected.enclaves !== undefined ? { enclaves: expected.enclaves } : {}),
              ...(expected.connectors !== undefined ? { connectors: expected.connectors } : {}),
            },
          }
        : {}),
    };
    if (Array.isArray(connectors.body)) {
      evidence.enabledConnectors = connectors.body.filter((c) => (c as { is_enabled?: unknown }).is_enabled !== false).length;
    }
    for (const [name, reply] of [
      ['enclaves', enclaves],
      ['connectors', connectors],
    ] as const) {
      if (!Array.isArray(reply.body))
        throw ProbeFailure.failed(`GET ${reply.reply.displayUrl}: HTTP 200 but the body is not a JSON array`, evidence);
      if (reply.body.length === 0)
        throw ProbeFailure.failed(`GET ${reply.reply.displayUrl}: no ${name} (an empty list after recovery)`, evidence);
    }
    const mismatches: string[] = [];
    if (expected?.enclaves !== undefined && evidence.enclaves !== expected.enclaves)
      mismatches.push(`${String(evidence.enclaves)} enclaves, expected ${expected.enclaves}`);
    if (expected?.connectors !== undefined && evidence.connectors !== expected.connectors)
      mismatches.push(`${String(evidence.connectors)} connectors, expected ${expected.connectors}`);
    if (mismatches.length > 0) throw ProbeFailure.failed(`the api lists ${mismatches.join(' and ')} (pre-disaster counts)`, evidence);
    const compared = expected?.enclaves !== undefined || expected?.connectors !== undefined ? ', as before the disaster' : '';
    return {
      outcome: 'passed',
      summary: `${String(evidence.enclaves)} enclaves and ${String(evidence.connectors)} connectors visible${compared}`,
      evidence,
    };
  }
}
