import type { AppSource } from '../app/app-source.ts';
import type { DrillReporter } from './drill-reporter.ts';
import type { InstallPolicy } from '../prerequisites/prerequisite-check.ts';
import type { ProbeOverrides } from '../probes/probe.ts';
import type { Procedure } from './procedure.ts';

export type Isolation = 'order' | 'alone' | 'both';
export type StackChoice = 'auto' | 'emulated' | 'compose';

export interface DrillOptions {
  runbookPath: string;
  /** The NMIA under drill: the built-in reference app (default) or a repository given with --app. */
  app?: AppSource;
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
  /**
   * The system-tool check before anything starts (src/prerequisites): `auto` installs what it may as root with apt,
   * `never` only reports, `skip` does not check (tests that start their own parts). Default `auto`.
   */
  prerequisites?: InstallPolicy | 'skip';
  /** One line per package the check installs, and what for (the CLI prints them on stderr). */
  onInstall?: (line: string) => void;
  /** Recovery objectives: a drill whose measured RTO or RPO exceeds them fails. */
  rtoTargetMs: number;
  rpoTargetMs: number;
  /** Operator sign-offs for checklist items no machine can check: item text (or a unique part of it) → who. */
  attestations: Array<{ item: string; by: string }>;
  /** The person accountable for the drill, recorded in the journal and the attestation's sign-offs. */
  operator?: string;
  /** Opt-in RTO lever: after a custom-format restore, measure pg_restore -j 1 against -j N (costs about two more restores). */
  parallelRestoreJobs?: number;
  /**
   * Each procedure's adversarial runs (a dump with a failing statement, …): the failures it must survive or make
   * visible. The CLI runs them unless --no-adversarial; absent here, they are off (scenario drills ask for them).
   */
  adversarial?: boolean;
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
