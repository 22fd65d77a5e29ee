import type { ProcedureContext } from '../../src/drill/procedure-context.ts';
import type { BlockCheckpoint } from '../../src/drill/context/block-session.ts';
import type { ProducedArtifact } from '../../src/drill/drill-state.ts';
import type { Binding } from '../../src/exec/binding.ts';
import type { BlockRun } from '../../src/exec/block-runner.ts';
import { lastLines } from '../../src/exec/error-lines.ts';
import { waitForApplication } from './application-check.ts';
import { inputFileBinding } from './restore-input.ts';

/** The restore section's dump name bound to a file of the drill's (decrypted and encrypted again as the section reads it). */
export async function restoreInput(context: ProcedureContext, placeholder: string, file: string, reason: string): Promise<Binding> {
  return inputFileBinding(context, { placeholder, file, value: 'basename', reason });
}

/**
 * Runs a restore section's block 0 again as evidence of an adversarial run, kept out of the procedure's own
 * blocks and exit-code rung; `judgedBy` names the check that reads its outcome.
 */
export async function runRestoreAside(
  context: ProcedureContext,
  run: { bindings: Binding[]; label: string; judgedBy?: string; checkpoints?: BlockCheckpoint[] },
): Promise<BlockRun> {
  const result = await context.runBlock(0, run.bindings, {
    label: run.label,
    ...(run.checkpoints ? { checkpoints: run.checkpoints } : {}),
  });
  context.evidence.withdrawLastBlock();
  context.evidence.harnessAction({
    purpose: `adversarial run: block 0 (${run.label})`,
    command: `the section's block as written, bound to ${run.bindings.map((binding) => binding.value).join(', ')} (evidence: ${run.label}.*)`,
    exitCode: result.exitCode,
    durationMs: result.durationMs,
    ...(result.exitCode === 0 ? {} : { detail: result.stderrTail }),
    ...(run.judgedBy ? { judgedBy: run.judgedBy } : {}),
  });
  return result;
}

/** The sections after an adversarial run need the restored database and the running application back. */
export async function putTheDatabaseBack(
  context: ProcedureContext,
  placeholder: string,
  dump: ProducedArtifact,
  label: string,
): Promise<void> {
  const reset = await runRestoreAside(context, {
    bindings: [await restoreInput(context, placeholder, dump.path, 'adversarial run: put the database back')],
    label: `${label}-reset`,
  });
  if (reset.exitCode !== 0)
    throw new Error(`adversarial run: restoring the good dump again failed: ${lastLines(reset.stderrTail, 1)} (exit ${reset.exitCode})`);
  await waitForApplication(context);
}
