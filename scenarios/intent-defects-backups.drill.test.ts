import { afterEach, describe, expect, it } from 'vitest';
import { CORRECTED_RUNBOOK, drill, editedRunbook, failedChecks, procedure } from './support/drill-harness.ts';

/** Every backup intent check, shown to fail on a seeded defect in an otherwise correct runbook. */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

async function drillEdited(id: string, edits: Array<[string, string]>) {
  let source = CORRECTED_RUNBOOK;
  let copy: Awaited<ReturnType<typeof editedRunbook>> | undefined;
  for (const [from, to] of edits) {
    copy = await editedRunbook(source, from, to);
    cleanups.push(copy.cleanup);
    source = copy.path;
  }
  const result = await drill({ runbookPath: source, only: [id], allowDrift: true });
  cleanups.push(result.cleanup);
  return procedure(result.journal, id);
}

describe('backup intent checks fail on seeded defects', () => {
  it('sql-backup: a .sql file that is not a plain SQL dump fails the artifact check', async () => {
    const record = await drillEdited('sql-backup', [['--format=plain \\\n  | gpg', '--format=custom \\\n  | gpg']]);
    expect(record.outcome).toBe('failed');
    expect(failedChecks(record).join('\n')).toMatch(/^artifact: plain-dump/m);
  });

  it('schema-backup: a schema dump missing a table fails the structure check, naming it', async () => {
    const record = await drillEdited('schema-backup', [['--schema-only \\', '--schema-only --exclude-table=audit_logs \\']]);
    expect(record.outcome).toBe('failed');
    expect(failedChecks(record).join('\n')).toMatch(/structure: the schema dump rebuilds an identical structure — .*audit_logs/);
  });

  it('automated-backup: wrong retention and a wrong schedule each fail their own check', async () => {
    const record = await drillEdited('automated-backup', [
      ['-mtime +${RETENTION_DAYS}', '-mtime +60'],
      ['0 2 * * * /bin/bash', '0 3 * * * /bin/bash'],
    ]);
    expect(record.outcome).toBe('failed');
    const failed = failedChecks(record).join('\n');
    expect(failed).toMatch(
      /retention deletes backups older than RETENTION_DAYS=30 and keeps newer ones — .*20240102_020000\.dump\.gpg \(31\.5 d\): kept/,
    );
    expect(failed).toMatch(/the cron entry fires daily at 02:00 — "0 3 \* \* \*"/);
    // The other intents still pass: the defects are pinned to their checks.
    expect(record.rungs.find((rung) => rung.check === 'the script’s dump restores' || rung.rung === 'content')?.outcome).toBe('passed');
  });
});
