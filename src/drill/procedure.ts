import type { Binding } from '../exec/binding.ts';
import type { Severity } from '../evidence/journal.ts';
import type { ProcedurePlan } from '../plan/procedure-plan.ts';
import type { ProcedureNeeds } from '../prerequisites/system-prerequisites.ts';
import type { ProcedureContext } from './procedure-context.ts';

/** A known way a block can fail, with the explanation an operator needs. */
export interface FailureDiagnosis {
  severity: Severity;
  title: string;
  whyItMatters: string;
  suggestedFix: string;
  /** What the diagnosis checked to reach its conclusion (added to the finding's evidence). */
  evidence?: Record<string, unknown>;
}

/**
 * One step module per runbook procedure. It covers one section's blocks and adds what the text
 * alone does not say: preconditions, bindings, the disaster, intent checks and the evidence to keep.
 */
export interface Procedure {
  id: string;
  title: string;
  /** System tools this procedure needs beyond every run's (checked, or installed, before the drill starts). */
  needs?: ProcedureNeeds;
  /** Restores get the restorability rung for their commands; others an "ran cleanly" intent rung. */
  kind: 'backup' | 'restore' | 'export' | 'recovery';
  /** Heading path, e.g. 'Database Restore › Restore from Custom Format Dump'. */
  section: string;
  /** Indices of the section's fenced blocks that this procedure runs, in order. */
  blocks: number[];
  /**
   * Take manifests right before and right after the blocks: a backup's snapshot lies in that window,
   * and tables the application wrote meanwhile can only be held to its bounds.
   */
  captureWindow?: boolean;
  /** Blocks of the section this procedure checks without executing (e.g. a crontab line). */
  checksWithoutRunning?: Array<{ index: number; reason: string }>;
  /**
   * Arranges the inputs the section says it needs (e.g. a backup file) when no earlier section
   * produced them. Never arranges anything the text does not ask for: that would hide a dependency.
   */
  prepare?(context: ProcedureContext): Promise<void>;
  bindings?(context: ProcedureContext): Binding[] | Promise<Binding[]>;
  /** The harness causes the disaster this procedure recovers from, right before its blocks run. */
  disaster?(context: ProcedureContext): Promise<void>;
  /** Last look at the environment before the blocks run (after the disaster). */
  beforeBlocks?(context: ProcedureContext): Promise<void>;
  /** Commands to pause before (substring of the command text), so the harness can look mid-block. */
  checkpoints?(context: ProcedureContext): Array<{ beforeCommand: string; run: () => Promise<void> }>;
  /** Intent checks after the blocks ran; each records rungs through the context. */
  verify(context: ProcedureContext): Promise<void>;
  /** What `nmia-drill plan` shows without an environment: inputs, bindings, the disaster, what it leaves behind. */
  plan?: ProcedurePlan;
  /** Turns a failed block into a finding with a precise cause when the failure is a known runbook defect. */
  diagnose?(
    context: ProcedureContext,
    failed: { command: string; exitCode: number | null; stderr: string },
  ): FailureDiagnosis | undefined | Promise<FailureDiagnosis | undefined>;
}
