import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { UsageError } from '../errors/drill-error.ts';
import { REPO_ROOT } from '../repo-root.ts';
import { detectDrift, type Drift } from '../runbook/drift.ts';
import { lockPathFor, readLock, type RunbookLock } from '../runbook/runbook-lock.ts';
import { loadRunbook, type Runbook } from '../runbook/runbook.ts';
import type { Procedure } from './procedure.ts';

export const DEFAULT_RUNBOOK = join(REPO_ROOT, 'runbook', 'backup-restore.md');

/** What run, plan and pin all start from: the runbook, its lock, the drift against it and the procedures chosen. */
export interface ProcedureSelection {
  runbook: Runbook;
  /** The lock the runbook is checked against (beside it, else the project's own). */
  lockPath: string;
  lock: RunbookLock | undefined;
  drift: Drift[];
  /** Every procedure the registry knows, in runbook order. */
  procedures: readonly Procedure[];
  /** Those --only/--skip leave, in runbook order. */
  selected: Procedure[];
}

/** Loads the runbook and its lock, detects drift against every procedure, and applies --only/--skip. */
export async function selectFromRunbook(
  runbookPath: string,
  procedures: readonly Procedure[],
  choice: { only: string[]; skip: string[] } = { only: [], skip: [] },
): Promise<ProcedureSelection> {
  const runbook = await loadRunbook(resolve(runbookPath));
  const selected = selectProcedures(choice.only, choice.skip, procedures);
  const lockPath = lockFor(runbook.path);
  const lock = await readLock(lockPath);
  const drift = detectDrift(runbook, lock, coverageOf(procedures));
  return { runbook, lockPath, lock, drift, procedures, selected };
}

/** Selects procedures by id; an unknown id is a usage error naming the valid ones. */
export function selectProcedures(only: string[], skip: string[], procedures: readonly Procedure[]): Procedure[] {
  const ids = procedures.map((procedure) => procedure.id);
  for (const id of [...only, ...skip]) {
    if (!ids.includes(id))
      throw new UsageError(`unknown procedure "${id}"`, { fix: `use one of: ${ids.join(', ')} (see: npm run drill -- list)` });
  }
  return procedures.filter((procedure) => (only.length === 0 || only.includes(procedure.id)) && !skip.includes(procedure.id));
}

/** The lock next to the runbook, else the project's own (a copy of the runbook is checked against the reviewed pins). */
export function lockFor(runbookPath: string): string {
  const beside = lockPathFor(runbookPath);
  return existsSync(beside) ? beside : lockPathFor(DEFAULT_RUNBOOK);
}

export function coverageOf(procedures: readonly Procedure[]) {
  return procedures.flatMap((procedure) =>
    procedure.blocks.map((index) => ({ procedure: procedure.id, section: procedure.section, index })),
  );
}

/** Blocks the procedures check without running (the lock records them as non-executable, with the reason). */
export function nonExecutableOf(procedures: readonly Procedure[]) {
  return procedures.flatMap((procedure) =>
    (procedure.checksWithoutRunning ?? []).map((check) => ({ section: procedure.section, index: check.index, reason: check.reason })),
  );
}
