import { EnvironmentError } from './drill-error.ts';

const LOG_MARKER = 'nmia-drill harness part unavailable:';

/**
 * A part of the harness itself (the fixture LDAP directory, Chromium, a stack service, a port, a wait of its
 * own) is missing or would not start. It says nothing about the runbook: the check it stops is `error` with
 * this one-line cause and a concrete fix, never a finding. Exit code 3, as every EnvironmentError.
 */
export class HarnessUnavailableError extends EnvironmentError {
  override readonly name: string = 'HarnessUnavailableError';

  constructor(
    /** What is unavailable, as an operator would name it: "the fixture LDAP directory (slapd)". */
    readonly part: string,
    readonly why: string,
    fix: string,
    cause?: unknown,
  ) {
    super(`${part} is unavailable: ${why}`, { fix, ...(cause === undefined ? {} : { cause }) });
  }

  /**
   * A harness service (a separate process: the fixture directory) reports it this way in its log, and the drill
   * reads it back with fromLog(): one line, `<marker> <why> (fix: <fix>)`.
   */
  logLine(): string {
    return `${LOG_MARKER} ${this.why} (fix: ${this.fix})`;
  }

  /** The error a service reported with logLine(), when its log holds one. */
  static fromLog(part: string, log: string): HarnessUnavailableError | undefined {
    const line = log.split('\n').find((candidate) => candidate.includes(LOG_MARKER));
    const match = line && /^(.*) \(fix: (.*)\)\s*$/.exec(line.slice(line.indexOf(LOG_MARKER) + LOG_MARKER.length + 1));
    return match ? new HarnessUnavailableError(part, match[1]!, match[2]!) : undefined;
  }

  /** The cause and the fix on one line, as a rung or checklist summary shows them. */
  summary(): string {
    return `${this.message} (fix: ${this.fix})`;
  }
}
