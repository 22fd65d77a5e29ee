import { z } from 'zod';
import type { Journal } from './journal.ts';

/**
 * The shape of `journal.timing.rto` and `journal.timing.rpo` that the reports read. `timing` is an open
 * record in the journal, so this is the contract between whoever measures and every renderer:
 * a number is a measurement in milliseconds with no target.
 */
export const TimingMeasureSchema = z.union([
  z.number().nonnegative(),
  z.object({
    /** Absent when the drill could not measure it (the reports then say so). */
    measuredMs: z.number().nonnegative().optional(),
    targetMs: z.number().positive().optional(),
    /** From when to when it was measured, e.g. "disaster → all checks green". */
    detail: z.string().optional(),
  }),
]);

export interface TimingMeasure {
  name: 'rto' | 'rpo';
  measuredMs?: number;
  targetMs?: number;
  detail?: string;
  /** Set when timing has the key but not in a shape the reports understand. */
  unreadable?: string;
}

export type MeasureVerdict = 'met' | 'missed' | 'no-target' | 'not-measured';

function readOne(timing: Journal['timing'], name: 'rto' | 'rpo'): TimingMeasure | undefined {
  if (!(name in timing)) return undefined;
  const parsed = TimingMeasureSchema.safeParse(timing[name]);
  if (!parsed.success) return { name, unreadable: `timing.${name} is not {measuredMs?, targetMs?, detail?} or a number of ms` };
  if (typeof parsed.data === 'number') return { name, measuredMs: parsed.data };
  return { name, ...parsed.data };
}

/** RTO and RPO as recorded in `journal.timing`; a key the drill did not record stays undefined. */
export function timingMeasures(journal: Pick<Journal, 'timing'>): { rto?: TimingMeasure; rpo?: TimingMeasure } {
  const rto = readOne(journal.timing, 'rto');
  const rpo = readOne(journal.timing, 'rpo');
  return { ...(rto ? { rto } : {}), ...(rpo ? { rpo } : {}) };
}

export function verdictOf(measure: TimingMeasure | undefined): MeasureVerdict {
  if (measure?.measuredMs === undefined) return 'not-measured';
  if (measure.targetMs === undefined) return 'no-target';
  return measure.measuredMs <= measure.targetMs ? 'met' : 'missed';
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const seconds = Math.round(ms / 1000);
  if (seconds < 3600) return seconds % 60 === 0 ? `${seconds / 60} min` : `${Math.floor(seconds / 60)} min ${seconds % 60} s`;
  const minutes = Math.round(ms / 60_000);
  return minutes % 60 === 0 ? `${minutes / 60} h` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}

/** `journal.timing.parallelRestore`: the RTO lever measured on the drill's own dump. */
export const ParallelRestoreTimingSchema = z.object({
  serialMs: z.number(),
  parallelMs: z.number(),
  jobs: z.number().int(),
  savingPercent: z.number(),
  hint: z.string(),
  dump: z.string(),
});
export type ParallelRestoreTiming = z.infer<typeof ParallelRestoreTimingSchema>;

/** The recorded hint, when a drill measured one. */
export function parallelRestoreTiming(
  timing: Record<string, unknown>,
): ParallelRestoreTiming | { error: string; dump: string } | undefined {
  const value = timing.parallelRestore;
  if (value === undefined) return undefined;
  const parsed = ParallelRestoreTimingSchema.safeParse(value);
  if (parsed.success) return parsed.data;
  const { error, dump } = value as { error?: unknown; dump?: unknown };
  return { error: typeof error === 'string' ? error : 'unreadable timing.parallelRestore', dump: typeof dump === 'string' ? dump : '?' };
}

/**
 * Targets are always recorded: when no procedure measured RTO or RPO, the journal still gets the target and
 * the reason it was not measured, so a reader never meets an empty `timing`.
 */
export function recordUnmeasured(
  journal: Pick<Journal, 'timing' | 'procedures' | 'runbook'>,
  targets: { rtoMs: number; rpoMs: number },
): void {
  const recoveries = journal.procedures.filter((procedure) => /^dr-recovery/.test(procedure.id));
  const ran = recoveries.filter((procedure) => procedure.outcome !== 'not-run' && procedure.outcome !== 'skipped');
  const reason =
    journal.runbook.lockState === 'drift' && !journal.runbook.allowDrift
      ? 'not measured: the runbook drifted, so no procedure ran'
      : recoveries.length === 0
        ? 'not measured: no recovery procedure (dr-recovery) was selected in this drill'
        : ran.length === 0
          ? `not measured: the recovery did not run (${recoveries.map((procedure) => `${procedure.mode}/${procedure.id}: ${procedure.reason ?? procedure.outcome}`).join('; ')})`
          : `not measured: the recovery ${ran.map((procedure) => `${procedure.mode}/${procedure.id} ${procedure.outcome}`).join(', ')} before the point where it is measured`;
  for (const [name, targetMs] of [
    ['rto', targets.rtoMs],
    ['rpo', targets.rpoMs],
  ] as const) {
    if (!(name in journal.timing)) journal.timing[name] = { targetMs, detail: reason };
  }
}
