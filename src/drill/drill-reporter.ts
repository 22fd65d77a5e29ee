import type { EvidenceFiles } from '../evidence/evidence-writer.ts';
import type { Finding, Journal, ProcedureRecord, Rung } from '../evidence/journal.ts';

/** Small hooks a drill calls as it goes (vitest-reporter style); every hook is optional. */
export interface DrillReporter {
  /** `procedures`: what the drill will run, in order (a live view lists them before they start). */
  onDrillStart?(info: {
    drillId: string;
    runbook: string;
    reportDir: string;
    procedures?: Array<{ id: string; title: string; mode: 'order' | 'alone' }>;
  }): void;
  onStep?(message: string): void;
  onSeedProgress?(progress: { table: string; rows: number; totalRows: number }): void;
  onProcedureStart?(procedure: { id: string; title: string; mode: 'order' | 'alone' }): void;
  /**
   * What the running procedure is doing now: a block starting, the command bash is running (read live
   * from the block's trace), a harness action, a rung just checked. Redacted. Only live views want it:
   * a reporter without this hook (and without onBytesProgress) costs the drill no polling at all.
   */
  onProcedureStep?(procedure: string, step: string): void;
  /** A dump, copy or archive growing on disk while a block runs; `totalBytes` when the copy's source size is known. */
  onBytesProgress?(label: string, bytes: number, totalBytes?: number): void;
  onCommand?(procedure: string, command: { text: string; exitCode: number | null; durationMs: number }): void;
  onRung?(procedure: string, rung: Rung): void;
  onFinding?(finding: Finding): void;
  onProcedureEnd?(record: ProcedureRecord): void;
  onDrillEnd?(journal: Journal, files: EvidenceFiles): void;
}
