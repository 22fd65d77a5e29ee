import type { HarnessUnavailableError } from '../errors/harness-unavailable-error.ts';
import type { Redactor } from '../evidence/redactor.ts';
import { AdminLoginProbe } from './admin-login-probe.ts';
import { ApiDocsProbe } from './api-docs-probe.ts';
import { ConnectorScanProbe } from './connector-scan-probe.ts';
import { EnclavesConnectorsProbe } from './enclaves-connectors-probe.ts';
import { IdentityCountsProbe } from './identity-counts-probe.ts';
import { JwtContinuityProbe } from './jwt-continuity-probe.ts';
import { ProbeFailure } from './probe-failure.ts';
import { ProbeSession } from './probe-session.ts';
import type { ChecklistExpectations, ChecklistProbe, ProbeId, ProbeResult, ProbeTarget, ProbeVerdict } from './probe.ts';
import { UiLoadsProbe } from './ui-loads-probe.ts';
import { WorkerRunningProbe } from './worker-running-probe.ts';

export interface ChecklistRunOptions extends ChecklistExpectations {
  /** Run only these items (still in checklist order). */
  only?: readonly ProbeId[];
  /** Each result as it is decided (for progress output). */
  onResult?: (result: ProbeResult) => void;
  /** Items a part of the harness is missing for: each is `error` with that cause and fix, and is not probed. */
  unavailable?: Partial<Record<ProbeId, HarnessUnavailableError>>;
}

/**
 * The "Verify recovery" checklist of the runbook's Disaster Recovery section, as probes run in
 * checklist order against one deployment (the two that wait for the worker side by side). Every result is decided by a probe (never passed by
 * default) and scrubbed of the admin password, tokens and the caller's secrets.
 */
export class ChecklistProbes {
  static readonly probes: readonly ChecklistProbe[] = [
    new ApiDocsProbe(),
    new UiLoadsProbe(),
    new AdminLoginProbe(),
    new EnclavesConnectorsProbe(),
    new IdentityCountsProbe(),
    new WorkerRunningProbe(),
    new ConnectorScanProbe(),
    new JwtContinuityProbe(),
  ];

  /** `redactor`: the drill's own (SECRET_KEY, bind passwords …), applied after the probes' own secrets. */
  constructor(
    readonly target: ProbeTarget,
    private readonly options: { redactor?: Redactor } = {},
  ) {}

  /**
   * Items probed side by side: both wait for the worker's next poll (every 15 s in NMIA), and a scan queued while
   * the worker-running item waits is picked up by that same poll. One after the other they cost two polls, and
   * the RTO (disaster → every item green) would include the second. They come after the counts, which a scan may change.
   */
  static readonly sideBySide: ReadonlySet<ProbeId> = new Set<ProbeId>(['worker-running', 'connector-scan']);

  async run(options: ChecklistRunOptions = {}): Promise<ProbeResult[]> {
    const session = new ProbeSession(this.target, options);
    const selected = ChecklistProbes.probes.filter((probe) => !options.only || options.only.includes(probe.id));
    const results: ProbeResult[] = [];
    for (let index = 0; index < selected.length; ) {
      // The next item alone, or the run of consecutive side-by-side items; results keep checklist order.
      let end = index + 1;
      if (ChecklistProbes.sideBySide.has(selected[index]!.id))
        while (end < selected.length && ChecklistProbes.sideBySide.has(selected[end]!.id)) end += 1;
      const stage = await Promise.all(
        selected.slice(index, end).map((probe) => {
          const missing = options.unavailable?.[probe.id];
          return missing ? this.unavailableResult(probe, session, missing) : this.runProbe(probe, session);
        }),
      );
      for (const result of stage) {
        results.push(result);
        options.onResult?.(result);
      }
      index = end;
    }
    return results;
  }

  private unavailableResult(probe: ChecklistProbe, session: ProbeSession, missing: HarnessUnavailableError): ProbeResult {
    return {
      id: probe.id,
      item: probe.item(session),
      outcome: 'error',
      summary: `not checked: ${missing.summary()}`,
      evidence: { unavailable: missing.part, fix: missing.fix },
      durationMs: 0,
    };
  }

  private async runProbe(probe: ChecklistProbe, session: ProbeSession): Promise<ProbeResult> {
    const started = performance.now();
    let verdict: ProbeVerdict;
    try {
      verdict = await probe.check(session);
    } catch (error) {
      verdict =
        error instanceof ProbeFailure
          ? { outcome: error.outcome, summary: error.message, evidence: error.evidence }
          : {
              outcome: 'error',
              summary: `probe ${probe.id} crashed: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}`,
              evidence: {},
            };
    }
    const redact = <T>(value: T): T => {
      const own = session.redactor.redactDeep(value);
      return this.options.redactor ? this.options.redactor.redactDeep(own) : own;
    };
    return {
      id: probe.id,
      item: redact(probe.item(session)),
      outcome: verdict.outcome,
      summary: redact(verdict.summary),
      evidence: redact(verdict.evidence),
      durationMs: Math.round(performance.now() - started),
    };
  }
}
