import type { ProcedureContext } from '../../src/drill/procedure-context.ts';
import type { BlockRun } from '../../src/exec/block-runner.ts';

/**
 * An experiment's run of a section's block (killed pg_dump, full disk) is evidence, not the procedure's own
 * block: it leaves the exit-code rung and is kept as a harness action with its outcome and the check that judges it.
 */
export function keepRunAside(context: ProcedureContext, run: BlockRun, purpose: string, command: string, judgedBy: string): void {
  context.evidence.withdrawLastBlock();
  context.evidence.harnessAction({
    purpose,
    command,
    exitCode: run.exitCode,
    durationMs: run.durationMs,
    detail: run.stderrTail,
    judgedBy,
  });
}
