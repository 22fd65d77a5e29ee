import type { z } from 'zod';
import type {
  ArtifactSchema,
  BlockRunSchema,
  Finding,
  FindingKind,
  HarnessActionSchema,
  Outcome,
  ProcedureRecord,
  Rung,
} from './journal.ts';
import type { Redactor } from './redactor.ts';

type BlockRunRecord = z.infer<typeof BlockRunSchema>;
type HarnessActionRecord = z.infer<typeof HarnessActionSchema>;
type ArtifactRecord = z.infer<typeof ArtifactSchema>;

/** What a run's findings go into and what keeps secrets out of them: the drill's or verify-backup's journal. */
export interface RecordingSink {
  /** The run's findings, in order; a new one gets the next `F01`, `F02`, … id. */
  findings: Finding[];
  redactor: Redactor;
  /** Told of every rung as it is recorded (a live view), already redacted. */
  onRung?(rung: Rung): void;
}

/** A finding as a procedure states it; `kind` is `runbook` unless it says otherwise. */
export type NewFinding = Omit<Finding, 'id' | 'procedure' | 'section' | 'kind'> & { section?: string; kind?: FindingKind };

/** The id the next finding of a run gets: F01, F02, … */
export function nextFindingId(findings: readonly Finding[]): string {
  return `F${String(findings.length + 1).padStart(2, '0')}`;
}

/**
 * The one way a finding enters a run's list (the recorder, drift, order dependence all come here): it gets
 * the next id and its kind (`runbook` unless given). Tests hold every fix that passes through here to be concrete.
 */
export function appendFinding(findings: Finding[], finding: Omit<Finding, 'id' | 'kind'> & { kind?: FindingKind }): Finding {
  const complete: Finding = { id: nextFindingId(findings), ...finding, kind: finding.kind ?? 'runbook' };
  findings.push(complete);
  return complete;
}

type RecordSkeleton = { id: string; title: string; section: string; line?: number | undefined; mode: 'order' | 'alone' };

/** An empty record, not run yet; `state` (a start time, or why it never ran) follows the outcome. */
function emptyRecord(skeleton: RecordSkeleton, state: { startedAt: string } | { reason: string }): ProcedureRecord {
  return {
    id: skeleton.id,
    title: skeleton.title,
    section: skeleton.section,
    ...(skeleton.line === undefined ? {} : { line: skeleton.line }),
    mode: skeleton.mode,
    outcome: 'not-run',
    ...state,
    blocks: [],
    harnessActions: [],
    artifacts: [],
    rungs: [],
    findings: [],
  };
}

/** The record of a procedure that did not run (drift, a section no procedure drills yet): empty, with the reason. */
export function notRunRecord(skeleton: RecordSkeleton, reason: string): ProcedureRecord {
  return emptyRecord(skeleton, { reason });
}

const NOTHING_PASSED = 'no check ran: nothing to call passed';

/**
 * The ONE outcome rule for a procedure's rungs: failed > error > passed; with no rung passed it is error.
 * A failed check is a proven defect and outranks everything. An error is a check that could not be made: the
 * point is unproven, so a pass elsewhere must never hide it (a drill or a backup is "passed" only when every
 * check that ran passed). Skipped and not-run rungs prove nothing either way, so alone they are no pass.
 */
export function outcomeOfRungs(rungs: readonly Pick<Rung, 'outcome' | 'summary'>[]): { outcome: Outcome; reason?: string } {
  if (rungs.some((rung) => rung.outcome === 'failed')) return { outcome: 'failed' };
  const error = rungs.find((rung) => rung.outcome === 'error');
  if (error) return { outcome: 'error', reason: error.summary };
  if (rungs.some((rung) => rung.outcome === 'passed')) return { outcome: 'passed' };
  return { outcome: 'error', reason: NOTHING_PASSED };
}

/**
 * Writes one procedure's record: blocks, harness actions, artifacts, rungs and findings, each redacted,
 * and its outcome by the one rule above. The drill (one per procedure run) and verify-backup (one for the
 * file) both record through this, so the same rungs give the same verdict whichever command ran them.
 */
export class ProcedureRecorder {
  readonly record: ProcedureRecord;

  constructor(
    skeleton: RecordSkeleton,
    private readonly sink: RecordingSink,
    startedAt: Date = new Date(),
  ) {
    this.record = emptyRecord(skeleton, { startedAt: startedAt.toISOString() });
  }

  get mode(): 'order' | 'alone' {
    return this.record.mode;
  }

  /** The runbook blocks run so far (already redacted by the block runner). */
  get blocks(): readonly BlockRunRecord[] {
    return this.record.blocks;
  }

  get harnessActions(): readonly HarnessActionRecord[] {
    return this.record.harnessActions;
  }

  get rungs(): readonly Rung[] {
    return this.record.rungs;
  }

  get findingIds(): readonly string[] {
    return this.record.findings;
  }

  block(run: BlockRunRecord): void {
    this.record.blocks.push(run);
  }

  /** Takes the last block back out of the record, e.g. an experiment's run that is evidence, not the procedure's own block. */
  withdrawLastBlock(): BlockRunRecord | undefined {
    return this.record.blocks.pop();
  }

  /** Something the harness (not the runbook) did; its command and detail are redacted. */
  harnessAction(action: HarnessActionRecord): void {
    const { redactor } = this.sink;
    this.record.harnessActions.push({
      ...action,
      command: redactor.redact(action.command),
      ...(action.detail === undefined ? {} : { detail: redactor.redact(action.detail) }),
    });
  }

  /** Runs one harness step and records it: exit 0, or exit 1 with the error's message before it is rethrown. */
  async timedAction<T>(purpose: string, command: string, action: () => Promise<T>): Promise<T> {
    const started = Date.now();
    try {
      const value = await action();
      this.harnessAction({ purpose, command, exitCode: 0, durationMs: Date.now() - started });
      return value;
    } catch (error) {
      this.harnessAction({ purpose, command, exitCode: 1, durationMs: Date.now() - started, detail: (error as Error).message });
      throw error;
    }
  }

  artifact(artifact: ArtifactRecord): void {
    this.record.artifacts.push(this.sink.redactor.redactDeep(artifact));
  }

  rung(rung: Rung): Rung {
    const recorded = this.sink.redactor.redactDeep(rung);
    this.record.rungs.push(recorded);
    this.sink.onRung?.(recorded);
    return recorded;
  }

  pass(rung: Rung['rung'], check: string, summary: string, evidence?: Record<string, unknown>): Rung {
    return this.rung({ rung, check, outcome: 'passed', summary, ...(evidence ? { evidence } : {}) });
  }

  fail(rung: Rung['rung'], check: string, summary: string, evidence?: Record<string, unknown>): Rung {
    return this.rung({ rung, check, outcome: 'failed', summary, ...(evidence ? { evidence } : {}) });
  }

  /** A finding of this procedure, with the run's next id, redacted, in both the run's list and this record. */
  finding(finding: NewFinding): Finding {
    const complete = appendFinding(
      this.sink.findings,
      this.sink.redactor.redactDeep({ procedure: this.record.id, ...finding, section: finding.section ?? this.record.section }),
    );
    this.record.findings.push(complete.id);
    return complete;
  }

  /** Takes back every finding of this record from the run (a check that ran while the stack was torn down). */
  withdrawFindings(): void {
    const withdrawn = new Set(this.record.findings.splice(0));
    const findings = this.sink.findings;
    for (let index = findings.length - 1; index >= 0; index--) if (withdrawn.has(findings[index]!.id)) findings.splice(index, 1);
  }

  timing(name: string, ms: number): void {
    this.record.timings = { ...this.record.timings, [name]: ms };
  }

  setTimings(timings: Record<string, number>): void {
    this.record.timings = { ...timings };
  }

  /** Settles the outcome from the rungs, by the one rule. */
  settle(): Outcome {
    const { outcome, reason } = outcomeOfRungs(this.record.rungs);
    this.record.outcome = outcome;
    if (reason !== undefined && !this.record.reason) this.record.reason = reason;
    return outcome;
  }

  /** An error that stopped the procedure: the outcome is error, with the cause (redacted). */
  error(cause: string): void {
    this.record.outcome = 'error';
    this.record.reason = this.sink.redactor.redact(cause);
  }

  finish(durationMs: number): ProcedureRecord {
    this.record.durationMs = durationMs;
    return this.record;
  }
}
