import type { DrillReporter } from './drill-reporter.ts';
import type { ProbeOverrides } from '../probes/probe.ts';
import type { Procedure } from './procedure.ts';

export type Isolation = 'order' | 'alone' | 'both';
export type StackChoice = 'auto' | 'emulated' | 'compose';

export interface DrillOptions {
  runbookPath: string;
  allowDrift: boolean;
  seed: number;
  scale: number;
  isolation: Isolation;
  only: string[];
  skip: string[];
  /** Parent directory of the per-drill report directories. */
  reportRoot: string;
  stack: StackChoice;
  reporter?: DrillReporter;
  /** Recovery objectives: a drill whose measured RTO or RPO exceeds them fails. */
  rtoTargetMs: number;
  rpoTargetMs: number;
  /** Operator sign-offs for checklist items no machine can check: item text (or a unique part of it) → who. */
  attestations: Array<{ item: string; by: string }>;
  /** Opt-in RTO lever: after a custom-format restore, measure pg_restore -j 1 against -j N (costs about two more restores). */
  parallelRestoreJobs?: number;
  /** From the drill config: URLs, UI selectors, admin credentials, the connector to scan (the reference stack's otherwise). */
  probes?: ProbeOverrides;
  /** The procedure modules to use: the registry, handed in by the CLI (tests pass wrapped ones to seed defects). */
  procedures: readonly Procedure[];
}

export const DEFAULT_SEED = 42;
export const DEFAULT_SCALE = 2_000;
/** The smallest scale a drill takes: fewer identities leave tables the checks need empty. */
export const MIN_SCALE = 10;
/** 15 minutes from disaster to every check green. */
export const DEFAULT_RTO_TARGET_MS = 15 * 60_000;
/** One day of writes, the runbook's daily-backup cadence. */
export const DEFAULT_RPO_TARGET_MS = 24 * 60 * 60_000;
