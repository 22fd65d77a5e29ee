import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillEnvironment } from '../drill/drill-environment.ts';
import type { DrillState } from '../drill/drill-state.ts';
import type { Procedure } from '../drill/procedure.ts';
import { ProcedureRunner } from '../drill/procedure-runner.ts';
import type { Finding, Outcome, Rung } from './journal.ts';
import { outcomeOfRungs, ProcedureRecorder } from './procedure-recorder.ts';
import { Redactor } from './redactor.ts';

const rung = (outcome: Outcome, check = `a ${outcome} check`): Rung => ({ rung: 'content', check, outcome, summary: `${check} summary` });

/** Rung sets and the verdict the one rule gives them: failed > error > passed; nothing passed is an error. */
const CASES: Array<{ rungs: Outcome[]; outcome: Outcome }> = [
  { rungs: ['passed', 'passed'], outcome: 'passed' },
  { rungs: ['passed', 'failed'], outcome: 'failed' },
  // The case the drill and verify-backup used to disagree on: a check that could not be made is no pass.
  { rungs: ['passed', 'error'], outcome: 'error' },
  { rungs: ['error', 'failed', 'passed'], outcome: 'failed' },
  { rungs: ['passed', 'skipped'], outcome: 'passed' },
  { rungs: ['skipped', 'not-run'], outcome: 'error' },
  { rungs: [], outcome: 'error' },
];

describe('outcomeOfRungs: the one outcome rule', () => {
  for (const { rungs, outcome } of CASES) {
    it(`[${rungs.join(', ')}] → ${outcome}`, () => {
      expect(outcomeOfRungs(rungs.map((value) => rung(value))).outcome).toBe(outcome);
    });
  }

  it('gives an error the first error rung as its reason, and "nothing passed" when no check ran', () => {
    expect(outcomeOfRungs([rung('passed'), rung('error', 'amcheck')])).toEqual({ outcome: 'error', reason: 'amcheck summary' });
    expect(outcomeOfRungs([rung('skipped')]).reason).toBe('no check ran: nothing to call passed');
  });
});

describe('the same rungs give the same outcome in the drill and in verify-backup', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nmia-recorder-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** The drill's path: a procedure that runs no block and whose verify records the rungs, through the real ProcedureRunner. */
  async function throughTheDrill(outcomes: Outcome[]): Promise<{ outcome: Outcome; rungs: Rung[] }> {
    const drill = {
      drillId: 'rec1',
      runbook: { path: '/r.md', sha256: 'x', sections: [], blocks: [] },
      redactor: new Redactor(),
      findings: [] as Finding[],
      reportDir: dir,
    } as unknown as DrillState;
    const procedure: Procedure = {
      id: 'recorded',
      title: 'Recorded',
      kind: 'backup',
      section: 'Recorded',
      blocks: [],
      async verify(context) {
        for (const outcome of outcomes) context.rung(rung(outcome));
      },
    };
    const environment = {
      stack: { workspace: { projectDir: dir, backupsDir: dir } },
      state: { artifacts: new Map() },
    } as unknown as DrillEnvironment;
    const record = await new ProcedureRunner(drill, undefined).run(procedure, environment, 'order');
    return { outcome: record.outcome, rungs: record.rungs };
  }

  /** verify-backup's path: its recorder (BackupVerification records every rung through one) settling the same rungs. */
  function throughVerifyBackup(rungs: Rung[]): Outcome {
    const recorder = new ProcedureRecorder(
      { id: 'verify-backup', title: 'Verify the backup file', section: 'verify-backup › file', mode: 'alone' },
      { findings: [], redactor: new Redactor() },
    );
    for (const recorded of rungs) recorder.rung(recorded);
    return recorder.settle();
  }

  for (const { rungs } of CASES) {
    it(`[${rungs.join(', ')}]`, async () => {
      const drilled = await throughTheDrill(rungs);
      // The drill first records its own "every command exits 0" rung; verify-backup is given exactly the rungs the drill ended with.
      expect(drilled.rungs.map((recorded) => recorded.outcome)).toEqual(['passed', ...rungs]);
      expect(throughVerifyBackup(drilled.rungs)).toBe(drilled.outcome);
      expect(drilled.outcome).toBe(outcomeOfRungs(drilled.rungs).outcome);
    });
  }

  it('an error rung beside passes is an error in both (the drill once called it passed)', async () => {
    const drilled = await throughTheDrill(['passed', 'error']);
    expect(drilled.outcome).toBe('error');
    expect(throughVerifyBackup(drilled.rungs)).toBe('error');
  });
});
