import type { EvidenceFiles } from '../evidence/evidence-writer.ts';
import type { Finding, Journal, Outcome, ProcedureRecord, Rung } from '../evidence/journal.ts';

/** Small hooks a drill calls as it goes (vitest-reporter style); every hook is optional. */
export interface DrillReporter {
  onDrillStart?(info: { drillId: string; runbook: string; reportDir: string }): void;
  onStep?(message: string): void;
  onSeedProgress?(progress: { table: string; rows: number; totalRows: number }): void;
  onProcedureStart?(procedure: { id: string; title: string; mode: 'order' | 'alone' }): void;
  onCommand?(procedure: string, command: { text: string; exitCode: number | null; durationMs: number }): void;
  onRung?(procedure: string, rung: Rung): void;
  onFinding?(finding: Finding): void;
  onProcedureEnd?(record: ProcedureRecord): void;
  onDrillEnd?(journal: Journal, files: EvidenceFiles): void;
}

export function outcomeSymbol(outcome: Outcome): string {
  return { passed: 'PASS', failed: 'FAIL', error: 'ERROR', skipped: 'SKIP', 'not-run': 'NOT RUN' }[outcome];
}
