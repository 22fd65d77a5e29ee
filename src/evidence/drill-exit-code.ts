import { ExitCode, type ExitCodeValue } from '../errors/drill-error.ts';
import type { Journal } from './journal.ts';

/**
 * The exit code of a finished drill. A proven runbook defect (a failed procedure, unpinned drift) is 1 even when
 * something else could not be checked; a drill whose only shortfall is `error` (a check the environment kept
 * from finishing, each with its cause and fix) is 3; 0 only when it passed.
 */
export function drillExitCode(journal: Pick<Journal, 'outcome' | 'procedures' | 'runbook'>): ExitCodeValue {
  if (journal.outcome === 'passed') return ExitCode.ok;
  const drifted = journal.runbook.lockState === 'drift' && !journal.runbook.allowDrift;
  if (drifted || journal.procedures.some((procedure) => procedure.outcome === 'failed')) return ExitCode.failed;
  return journal.outcome === 'error' ? ExitCode.environment : ExitCode.failed;
}
