import type { DrillReporter } from './drill-reporter.ts';
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
  /** The procedure modules to use; defaults to the registry (tests pass wrapped ones to seed defects). */
  procedures?: readonly Procedure[];
}

export const DEFAULT_SEED = 42;
export const DEFAULT_SCALE = 2_000;
