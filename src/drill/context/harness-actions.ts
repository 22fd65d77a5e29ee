import type pg from 'pg';
import { lastLines } from '../../exec/error-lines.ts';
import type { ProcedureRecorder } from '../../evidence/procedure-recorder.ts';
import type { StartedStack } from '../../stacks/stack.ts';
import type { DatabaseAccess } from './database-access.ts';

/** What the harness does of its own accord (setup, disasters, checks), recorded apart from the runbook's blocks. */
export class HarnessActions {
  constructor(
    private readonly stack: StartedStack,
    private readonly database: DatabaseAccess,
    private readonly recorder: ProcedureRecorder,
    private readonly step: (text: string) => void,
    private readonly cwd: () => string,
  ) {}

  /** A docker command through the stack's engine; a non-zero exit is recorded, then thrown. */
  async docker(purpose: string, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    this.step(purpose);
    const result = await this.stack.docker(args, { cwd: this.cwd() });
    this.recorder.harnessAction({
      purpose,
      command: result.command,
      exitCode: result.exitCode,
      durationMs: result.durationMs,
      ...(result.exitCode === 0 ? {} : { detail: lastLines(result.stderr, 4) }),
    });
    if (result.exitCode !== 0)
      throw new Error(`harness step failed (${purpose}): ${result.command} exited ${result.exitCode}: ${lastLines(result.stderr, 1)}`);
    return result;
  }

  async sql(purpose: string, sql: string, database = 'nmia'): Promise<pg.QueryResult> {
    this.step(purpose);
    const started = Date.now();
    const result = await this.database.withDb((client) => client.query(sql), database);
    this.recorder.harnessAction({ purpose, command: `SQL on ${database}: ${sql}`, exitCode: 0, durationMs: Date.now() - started });
    return result;
  }

  /** Any other harness step: recorded with exit 0, or exit 1 and the error's message before it is rethrown. */
  action<T>(purpose: string, command: string, action: () => Promise<T>): Promise<T> {
    this.step(purpose);
    return this.recorder.timedAction(purpose, command, action);
  }
}
