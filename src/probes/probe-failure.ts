import type { ProbeOutcome } from './probe.ts';

/**
 * Ends a probe early with a definite outcome: `failed` (the deployment is wrong), `skipped` (the
 * probe lacks an input or a prerequisite item failed) or `error` (the probe itself could not run).
 * The message is the probe's one-line summary.
 */
export class ProbeFailure extends Error {
  override readonly name = 'ProbeFailure';

  constructor(
    readonly outcome: Exclude<ProbeOutcome, 'passed'>,
    message: string,
    readonly evidence: Record<string, unknown> = {},
  ) {
    super(message);
  }

  static failed(message: string, evidence: Record<string, unknown> = {}): ProbeFailure {
    return new ProbeFailure('failed', message, evidence);
  }

  static skipped(message: string, evidence: Record<string, unknown> = {}): ProbeFailure {
    return new ProbeFailure('skipped', message, evidence);
  }

  static error(message: string, evidence: Record<string, unknown> = {}): ProbeFailure {
    return new ProbeFailure('error', message, evidence);
  }
}
