import { afterEach, describe, expect, it } from 'vitest';
import { drill, editedRunbook, GIVEN_RUNBOOK, procedure, withProcedure } from '../support/drill-harness.ts';
import { checkAppServicesUp, failedCommand, failedRung, noteObservation, occupyApiPort } from './fault-helpers.ts';

/** Faults around the restore: a target database that is not empty, an application that does not come back. */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe('faults: the target is not what the restore expects', () => {
  it('restoring into a database that is not empty (no dropdb/createdb, no disaster): pg_restore errors on every existing object', async () => {
    const copy = await editedRunbook(GIVEN_RUNBOOK, 'docker compose exec db dropdb -U nmia nmia\ndocker compose exec db createdb -U nmia nmia\n', '');
    cleanups.push(copy.cleanup);
    const procedures = withProcedure('restore-custom', (original) => {
      const { disaster: _skipped, ...rest } = original;
      return rest;
    });
    const result = await drill({ runbookPath: copy.path, allowDrift: true, only: ['restore-custom'], procedures });
    cleanups.push(result.cleanup);
    const record = procedure(result.journal, 'restore-custom');
    noteObservation(expect.getState().currentTestName, record, result.journal);
    expect(record.outcome).toBe('failed');
    expect(failedRung(record, 'restorability')).toMatch(/pg_restore .* exited 1: pg_restore: warning: errors ignored on restore: \d+/s);
    expect(failedCommand(record)?.stderrTail).toMatch(/already exists/);
    // The edit itself is recorded: the drill ran a runbook that differs from the pinned one.
    expect(result.journal.findings[0]).toMatchObject({ severity: 'medium', title: expect.stringMatching(/^runbook drift \(hash-mismatch\): Database Restore › Restore from Custom Format Dump/) });
  });

  it('the api does not come back after the restore (its port taken while it was stopped): the application check fails', async () => {
    let occupied: { release: () => Promise<void> } | undefined;
    cleanups.push(async () => occupied?.release());
    const procedures = withProcedure('restore-custom', (original) => ({
      ...original,
      checkpoints: (context) => [{ beforeCommand: 'docker compose start api worker collector', run: async () => void (occupied = await occupyApiPort(context)) }],
      async verify(context) {
        await original.verify(context);
        // restore-custom does not look at the application; this is the check the fault needs.
        await checkAppServicesUp(context);
        await occupied?.release();
      },
    }));
    const result = await drill({ only: ['restore-custom'], procedures });
    cleanups.push(result.cleanup);
    const record = procedure(result.journal, 'restore-custom');
    noteObservation(expect.getState().currentTestName, record, result.journal);
    expect(record.outcome).toBe('failed');
    // The database itself came back: only the application check fails, and it says which service and why.
    expect(record.rungs.filter((rung) => rung.outcome === 'failed').map((rung) => rung.rung)).toEqual(['application']);
    expect(failedRung(record, 'application')).toMatch(/\/health did not answer 200 within 5s .*; nmia-api-1 .* Exited \(1\)/);
    expect(JSON.stringify(record.rungs.find((rung) => rung.rung === 'application')?.evidence)).toMatch(/EADDRINUSE/);
  });
});
