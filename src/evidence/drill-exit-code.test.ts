import { describe, expect, it } from 'vitest';
import { syntheticJournal } from '../../test-support/synthetic-journal.ts';
import { ExitCode } from '../errors/drill-error.ts';
import type { ProcedureRecord } from './journal.ts';
import { drillExitCode } from './drill-exit-code.ts';

function journalOf(outcomes: ProcedureRecord['outcome'][], outcome: ProcedureRecord['outcome']) {
  const base = syntheticJournal();
  return { ...base, outcome, procedures: outcomes.map((each, index) => ({ ...base.procedures[0]!, id: `p${index}`, outcome: each })) };
}

describe('the exit code of a drill', () => {
  it('is 0 when it passed, 1 for a proven defect, 3 when only the environment kept checks from finishing', () => {
    expect(drillExitCode(journalOf(['passed', 'skipped'], 'passed'))).toBe(ExitCode.ok);
    expect(drillExitCode(journalOf(['passed', 'failed'], 'failed'))).toBe(ExitCode.failed);
    expect(drillExitCode(journalOf(['passed', 'error'], 'error'))).toBe(ExitCode.environment);
    // A runbook defect outranks what could not be checked: the runbook is proven wrong either way.
    expect(drillExitCode(journalOf(['failed', 'error'], 'error'))).toBe(ExitCode.failed);
  });

  it('is 1 on unpinned drift', () => {
    const journal = journalOf(['not-run'], 'failed');
    expect(drillExitCode({ ...journal, runbook: { ...journal.runbook, lockState: 'drift' } })).toBe(ExitCode.failed);
  });
});
