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

  it('the api does not come back after the restore (its port taken while it was stopped): restore-custom’s own application rung fails', async () => {
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
    expect(record.outcome).toBe('failed');
    // The database itself came back: only the application check fails, and it says which service and why.
    expect(record.rungs.filter((rung) => rung.outcome === 'failed').map((rung) => rung.rung)).toEqual(['application']);
    expect(failedRung(record, 'application')).toMatch(
      /\/api\/v1\/bootstrap\/status did not answer 200 \(stopped waiting after [\d.]+s: api Exited \(1\).*\); api: Exited \(1\)/,
    );
    expect(JSON.stringify(record.rungs.find((rung) => rung.rung === 'application')?.evidence)).toMatch(/EADDRINUSE/);
    // worker and collector came back; the rung names only the api.
    expect(failedRung(record, 'application')).not.toMatch(/worker|collector/);
    // A service that exited is not waited for until the bound (60 s): the check stops as soon as it sees it.
    expect(
      record.harnessActions.find((action) => action.purpose.startsWith('check: wait (bounded) for the restarted application')),
    ).toMatchObject({ exitCode: 1, durationMs: expect.any(Number) });
    expect(
      record.harnessActions.find((action) => action.purpose.startsWith('check: wait (bounded) for the restarted application'))!.durationMs,
    ).toBeLessThan(30_000);
    expect(result.journal.findings.find((finding) => record.findings.includes(finding.id))).toMatchObject({
      severity: 'high',
      title: expect.stringMatching(/the application is back: .*: failed/),
    });
  });
});
