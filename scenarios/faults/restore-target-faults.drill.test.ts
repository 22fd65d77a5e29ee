import { afterEach, describe, expect, it } from 'vitest';
import { drill, editedRunbook, GIVEN_RUNBOOK, procedure, withProcedure } from '../support/drill-harness.ts';
import { failedCommand, failedRung, noteObservation, occupyApiPort } from './fault-helpers.ts';

/** Faults around the restore: a target database that is not empty, an application that does not come back. */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe('faults: the target is not what the restore expects', () => {
  it('restoring into a database that is not empty (no dropdb/createdb, no disaster): pg_restore errors on every existing object', async () => {
    const copy = await editedRunbook(
      GIVEN_RUNBOOK,
      'docker compose exec db dropdb -U nmia nmia\ndocker compose exec db createdb -U nmia nmia\n',
      '',
    );
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
    // The summary quotes the first error, not the count pg_restore prints last; the excerpt keeps both.
    expect(failedRung(record, 'restorability')).toMatch(
      /pg_restore .* exited 1: pg_restore: error: could not execute query: ERROR: {2}.* already exists$/s,
    );
    expect(failedCommand(record)?.stderrTail).toMatch(/pg_restore: warning: errors ignored on restore: \d+$/);
    // The edit itself is recorded: the drill ran a runbook that differs from the pinned one.
    expect(result.journal.findings[0]).toMatchObject({
      severity: 'medium',
      title: expect.stringMatching(/^runbook drift \(hash-mismatch\): Database Restore › Restore from Custom Format Dump/),
    });
  });

  it('the api does not come back after the restore (its port taken while it was stopped): restore-custom’s own application rung errs with the cause, and no finding blames the runbook', async () => {
    let occupied: { release: () => Promise<void> } | undefined;
    cleanups.push(async () => occupied?.release());
    // Only the fault is injected; the check that catches it is restore-custom's own (no wrapper rung).
    const procedures = withProcedure('restore-custom', (original) => ({
      ...original,
      checkpoints: (context) => [
        { beforeCommand: 'docker compose start api worker collector', run: async () => void (occupied = await occupyApiPort(context)) },
      ],
    }));
    const result = await drill({ only: ['restore-custom'], procedures });
    cleanups.push(result.cleanup);
    const record = procedure(result.journal, 'restore-custom');
    noteObservation(expect.getState().currentTestName, record, result.journal);
    // The machine, not the runbook: the database came back, the application rung is an error with the cause and fix.
    expect(record.outcome).toBe('error');
    expect(record.rungs.filter((rung) => rung.outcome === 'failed')).toEqual([]);
    const application = record.rungs.find((rung) => rung.rung === 'application')!;
    expect(application.outcome).toBe('error');
    expect(application.summary).toMatch(
      /\/api\/v1\/bootstrap\/status did not answer 200 \(stopped waiting after [\d.]+s: api Exited \(1\).*\); api: Exited \(1\): a port the stack needs is taken by another process on this machine \(fix: stop what listens on it/,
    );
    expect(JSON.stringify(application.evidence)).toMatch(/EADDRINUSE/);
    // worker and collector came back; the rung names only the api.
    expect(application.summary).not.toMatch(/worker|collector/);
    // A service that exited is not waited for until the bound (60 s): the check stops as soon as it sees it.
    expect(
      record.harnessActions.find((action) => action.purpose.startsWith('check: wait (bounded) for the restarted application')),
    ).toMatchObject({ exitCode: 1, durationMs: expect.any(Number) });
    expect(
      record.harnessActions.find((action) => action.purpose.startsWith('check: wait (bounded) for the restarted application'))!.durationMs,
    ).toBeLessThan(30_000);
    expect(record.findings).toEqual([]);
  });

  it('the restore never starts the api again (its start line edited to leave it out): restore-custom’s application rung fails, a finding of the runbook', async () => {
    const copy = await editedRunbook(
      GIVEN_RUNBOOK,
      'docker compose start api worker collector\n',
      'docker compose start worker collector\n',
    );
    cleanups.push(copy.cleanup);
    const result = await drill({ runbookPath: copy.path, allowDrift: true, only: ['restore-custom'] });
    cleanups.push(result.cleanup);
    const record = procedure(result.journal, 'restore-custom');
    noteObservation(expect.getState().currentTestName, record, result.journal);
    expect(record.outcome).toBe('failed');
    expect(record.rungs.filter((rung) => rung.outcome === 'failed').map((rung) => rung.rung)).toEqual(['application']);
    // The stopped api is watched too: the wait ends as soon as it is seen stopped, not at the 60 s bound.
    expect(failedRung(record, 'application')).toMatch(/did not answer 200 \(stopped waiting after [\d.]+s: api Exited.*\); api: Exited/);
    expect(
      record.harnessActions.find((action) => action.purpose.startsWith('check: wait (bounded) for the restarted application'))!.durationMs,
    ).toBeLessThan(30_000);
    expect(result.journal.findings.filter((finding) => record.findings.includes(finding.id))).toContainEqual(
      expect.objectContaining({ kind: 'runbook', title: expect.stringMatching(/the application is back: .*: failed/) }),
    );
  });
});
