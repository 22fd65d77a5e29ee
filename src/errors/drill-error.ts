/** Exit codes the CLI documents; every user-facing error maps to one of them. */
export const ExitCode = {
  ok: 0,
  failed: 1,
  usage: 2,
  environment: 3,
  interrupted: 130,
} as const;
export type ExitCodeValue = (typeof ExitCode)[keyof typeof ExitCode];

/**
 * An error a user can act on: a one-line cause and a one-line fix.
 * `message` stays short (execa style); details go in `cause`/`detail`.
 */
export class DrillError extends Error {
  override readonly name: string = 'DrillError';
  readonly fix: string;
  readonly exitCode: ExitCodeValue;
  readonly detail: string | undefined;

  constructor(message: string, options: { fix: string; exitCode?: ExitCodeValue; detail?: string; cause?: unknown }) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.fix = options.fix;
    this.exitCode = options.exitCode ?? ExitCode.failed;
    this.detail = options.detail;
  }

  /** The two lines printed to an operator. */
  toOperatorText(): string {
    return `error: ${this.message}\n  fix: ${this.fix}`;
  }
}

export class EnvironmentError extends DrillError {
  override readonly name: string = 'EnvironmentError';
  constructor(message: string, options: { fix: string; detail?: string; cause?: unknown }) {
    super(message, { ...options, exitCode: ExitCode.environment });
  }
}

export class UsageError extends DrillError {
  override readonly name = 'UsageError';
  constructor(message: string, options: { fix: string; detail?: string; cause?: unknown }) {
    super(message, { ...options, exitCode: ExitCode.usage });
  }
}
