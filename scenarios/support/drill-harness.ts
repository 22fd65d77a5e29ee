import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DEFAULT_RPO_TARGET_MS, DEFAULT_RTO_TARGET_MS, DEFAULT_SEED, type DrillOptions } from '../../src/drill/drill-options.ts';
import { DrillRunner, type DrillResult } from '../../src/drill/drill-runner.ts';
import type { Procedure } from '../../src/drill/procedure.ts';
import type { Journal, ProcedureRecord } from '../../src/evidence/journal.ts';
import { lockPathFor } from '../../src/runbook/runbook-lock.ts';
import { PROCEDURES } from '../../runbook/registry.ts';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const GIVEN_RUNBOOK = join(REPO, 'runbook', 'backup-restore.md');
export const CORRECTED_RUNBOOK = join(REPO, 'fixtures', 'runbooks', 'backup-restore.corrected.md');
/**
 * The runbook as given, in runbook order and with its adversarial runs (as `npm run drill` runs it): each
 * procedure's outcome. The same on the reference app (emulated stack) and on the real NMIA (compose stack); both
 * scenarios pin it.
 */
export const GIVEN_RUNBOOK_ORDER_OUTCOMES = {
  'order/full-backup': 'failed',
  'order/sql-backup': 'failed',
  'order/schema-backup': 'failed',
  'order/automated-backup': 'failed',
  'order/restore-custom': 'failed',
  'order/restore-sql': 'failed',
  'order/restore-test-db': 'passed',
  'order/volume-backup': 'failed',
  'order/volume-restore': 'failed',
  'order/config-export': 'failed',
  'order/dr-recovery': 'failed',
  'order/dr-recovery-key-lost': 'failed',
} as const;

/** The adversarial runs' checks, as `<rung>: <check>` (runbook/kit: killed-dump-run, full-disk-run, adversarial-restore, still-writing-restore). */
export const ADVERSARIAL = {
  killedDump: 'intent: adversarial: a pg_dump killed part-way leaves no file that looks like a backup',
  fullDisk: 'intent: adversarial: a backup written onto a full disk leaves no file that looks like a backup',
  failingStatement: 'restorability: adversarial: a dump with one failing statement makes the restore fail visibly',
  truncatedDump: 'restorability: adversarial: a truncated dump makes the restore fail visibly',
  stillWriting:
    'restorability: adversarial: a restore while the application is still writing leaves no write into the half-restored database',
} as const;

/** Small enough to keep `npm test` fast, large enough that every table has rows. */
export const TEST_SCALE = 300;

/** Runs a real drill in-process, with its reports in a temp dir that the caller removes with `cleanup`. */
export async function drill(options: Partial<DrillOptions> = {}): Promise<DrillResult & { cleanup: () => Promise<void> }> {
  const reportRoot = await mkdtemp(join(tmpdir(), 'nmia-drill-reports-'));
  const result = await new DrillRunner({
    runbookPath: GIVEN_RUNBOOK,
    allowDrift: false,
    seed: DEFAULT_SEED,
    scale: TEST_SCALE,
    isolation: 'order',
    only: [],
    skip: [],
    reportRoot,
    stack: 'emulated',
    rtoTargetMs: DEFAULT_RTO_TARGET_MS,
    rpoTargetMs: DEFAULT_RPO_TARGET_MS,
    attestations: [],
    ...options,
    procedures: options.procedures ?? PROCEDURES,
  }).run();
  return { ...result, cleanup: () => rm(reportRoot, { recursive: true, force: true }) };
}

/** A copy of a runbook with one edit applied (and its lock beside it), for seeding runbook defects. */
export async function editedRunbook(source: string, from: string, to: string): Promise<{ path: string; cleanup: () => Promise<void> }> {
  const dir = await mkdtemp(join(tmpdir(), 'nmia-drill-runbook-'));
  const text = await readFile(source, 'utf8');
  if (!text.includes(from)) throw new Error(`edit target not found in ${source}: ${from}`);
  const path = join(dir, 'backup-restore.md');
  await writeFile(path, text.replace(from, to));
  await copyFile(lockPathFor(source), lockPathFor(path));
  return { path, cleanup: () => rm(dir, { recursive: true, force: true }) };
}

export function procedure(journal: Journal, id: string, mode: 'order' | 'alone' = 'order'): ProcedureRecord {
  const found = journal.procedures.find((record) => record.id === id && record.mode === mode);
  if (!found) throw new Error(`no ${mode} record for ${id} in the journal`);
  return found;
}

export function failedChecks(record: ProcedureRecord): string[] {
  return record.rungs.filter((rung) => rung.outcome === 'failed').map((rung) => `${rung.rung}: ${rung.check} — ${rung.summary}`);
}

/** The registry with one procedure replaced, e.g. by a wrapper that injects a fault. */
export function withProcedure(id: string, replace: (original: Procedure) => Procedure): Procedure[] {
  return PROCEDURES.map((candidate) => (candidate.id === id ? replace(candidate) : candidate));
}
