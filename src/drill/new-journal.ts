import { JOURNAL_VERSION, totalsOf, type Journal } from '../evidence/journal.ts';
import { harnessIdentity, runnerIdentity } from './run-identity.ts';

/** An empty journal for one run: who ran it, where, with which harness, against what. */
export function newJournal(run: { drillId: string; startedAt: Date; runbook: Journal['runbook']; options: Journal['options'] }): Journal {
  return {
    journalVersion: JOURNAL_VERSION,
    drillId: run.drillId,
    startedAt: run.startedAt.toISOString(),
    outcome: 'not-run',
    runner: runnerIdentity(),
    harness: harnessIdentity(),
    runbook: run.runbook,
    options: run.options,
    procedures: [],
    environmentResets: [],
    findings: [],
    manifests: {},
    timing: {},
    totals: totalsOf([]),
  };
}
