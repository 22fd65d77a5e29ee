import type { Block } from '../runbook/runbook.ts';

/**
 * A binding as a dry run can state it, without an environment. Parts of a value that only exist once the
 * drill runs are written as `{…}` tokens, e.g. `nmia_backup_{YYYYMMDD_HHMMSS}.dump` or `{workspace}/nmia`.
 */
export interface PlannedBinding {
  placeholder: string;
  value: string;
  reason: string;
  /** Why the exact value is only known at run time; set exactly when `value` holds a `{…}` token. */
  runtime?: string;
  /** A secret: the plan never shows it (`<redacted>`), as the journal never does. */
  secret?: boolean;
}

/** A file an environment holds for later procedures (the live counterpart is ProducedArtifact). */
export interface PlannedArtifact {
  name: string;
  /** File name, with `{…}` tokens for the parts set at run time. */
  file: string;
  /** Who leaves it, e.g. `full-backup (when its checks pass)` or `the harness`. */
  from: string;
}

/** What a procedure's plan hooks may ask: static questions only (the runbook text, the simulated artifacts). */
export interface PlanContext {
  readonly mode: 'order' | 'alone';
  /** `{workspace}`: the drill's temp directory, created when the drill starts. */
  readonly workspace: string;
  readonly projectDir: string;
  readonly harnessDir: string;
  block(index: number): Block;
  /** The artifact an earlier procedure of this environment would leave, if any. */
  artifact(name: string): PlannedArtifact | undefined;
  /** Records an input the procedure's prepare() makes itself (and leaves for later procedures). */
  harnessInput(artifact: PlannedArtifact, purpose: string): void;
}

/**
 * What `nmia-drill plan` says about a procedure without running anything. It mirrors the live hooks
 * (prepare, bindings, disaster, produce); runbook/procedure-plans.test.ts holds the two side by side.
 */
export interface ProcedurePlan {
  /** The disaster the harness causes, in the words it records when it does. */
  disaster?: string;
  /** Mirrors prepare(): records the inputs the harness would make (plan.harnessInput). */
  prepare?(plan: PlanContext): void;
  /** Mirrors bindings(). */
  bindings?(plan: PlanContext): PlannedBinding[];
  /** Artifacts the procedure leaves for later ones of the same environment when its checks pass. */
  produces?: PlannedArtifact[];
  /** The disaster deletes the install directory, and with it every file earlier sections left there. */
  destroysWorkspaceFiles?: boolean;
}

/** `{YYYYMMDD_HHMMSS}` and the like: the part of a value set when the drill runs. */
export const RUNTIME_TOKEN = /\{[^{}\s]+\}/;
