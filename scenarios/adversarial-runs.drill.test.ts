import { afterEach, describe, expect, it } from 'vitest';
import { CORRECTED_RUNBOOK, GIVEN_RUNBOOK, drill, editedRunbook, failedChecks, procedure } from './support/drill-harness.ts';
import { tmpfsSupport } from '../runbook/kit/full-disk.ts';

/**
 * Adversarial runs: each restore section run again, as written, on the failure it exists to survive or make
 * visible. The runbook as given restores a dump with one failing statement "fine" (psql without ON_ERROR_STOP
 * exits 0); the corrected runbook stops at it. Both leave the database put back for the sections after.
 */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const CHECK = 'restorability: adversarial: a dump with one failing statement makes the restore fail visibly';
const KILLED = 'adversarial: a pg_dump killed part-way leaves no file that looks like a backup';
const TRUNCATED = 'restorability: adversarial: a truncated dump makes the restore fail visibly';
const FULL_DISK = 'adversarial: a copy-out onto a full disk leaves no file that looks like a backup';
const tmpfs = tmpfsSupport();

describe('adversarial runs', () => {
  it('the runbook as given: the SQL restore’s ignored errors are a finding of the drill itself', async () => {
    const result = await drill({ runbookPath: GIVEN_RUNBOOK, only: ['restore-sql'], adversarial: true, scale: 50 });
    cleanups.push(result.cleanup);
    const record = procedure(result.journal, 'restore-sql');
    expect(record.outcome).toBe('failed');
    const failed = failedChecks(record);
    expect(failed).toEqual([
      expect.stringMatching(
        /every command exited 0; 1 error line\(s\) in the output .*ERROR: .*the database: public\.\w+: 0 rows after restore/,
      ),
    ]);
    expect(failed[0]!.startsWith(CHECK)).toBe(true);
    const findings = result.journal.findings.filter((finding) => record.findings.includes(finding.id));
    expect(findings).toEqual([
      expect.objectContaining({
        kind: 'runbook',
        title: expect.stringMatching(/^the SQL restore exits 0 after SQL errors/),
        suggestedFix: expect.stringContaining('-v ON_ERROR_STOP=1 --single-transaction'),
      }),
    ]);
    // The section's own run still passed its checks, and the good dump was restored again afterwards.
    expect(record.rungs.find((rung) => rung.rung === 'content')?.outcome).toBe('passed');
    expect(record.harnessActions.find((action) => action.purpose.endsWith('-reset)'))?.exitCode).toBe(0);
    expect(record.blocks).toHaveLength(1);
  });

  it('the corrected runbook passes them: the killed dump leaves no backup, the SQL restore stops at the failing statement, the custom restore at the cut', async () => {
    const result = await drill({
      runbookPath: CORRECTED_RUNBOOK,
      only: ['full-backup', 'restore-custom', 'restore-sql'],
      adversarial: true,
      scale: 50,
    });
    cleanups.push(result.cleanup);
    expect(procedure(result.journal, 'full-backup').rungs.find((rung) => rung.check === KILLED)).toMatchObject({
      outcome: 'passed',
      summary: expect.stringMatching(/^the block stopped with exit \d+ .*; no new backup file$/),
    });
    // The copy-out onto a full disk: docker compose cp leaves what fit, under the temporary name the corrected runbook removes.
    expect(procedure(result.journal, 'full-backup').rungs.find((rung) => rung.check === FULL_DISK)).toMatchObject(
      tmpfs.ok
        ? {
            outcome: 'passed',
            summary: expect.stringMatching(
              /^the block stopped with exit 1 \(write .*no space left on device\); no file named like a backup$/,
            ),
          }
        : { outcome: 'skipped' },
    );
    for (const [id, check, summary] of [
      ['restore-sql', CHECK, /psql .* exited 3: .*ERROR:/],
      ['restore-custom', TRUNCATED, /pg_restore .* exited 1: .*(end of file|could not read)/],
    ] as const) {
      const record = procedure(result.journal, id);
      expect(failedChecks(record), id).toEqual([]);
      expect(record.outcome, id).toBe('passed');
      // The physical rung on the database the runbook restored, with its cost (corruption-check.test.ts shows it failing).
      expect(
        record.rungs.find((rung) => rung.check.startsWith('no corruption')),
        id,
      ).toMatchObject({
        outcome: 'passed',
        summary: expect.stringMatching(/pg_amcheck --heapallindexed .* \(\d+\.\d\d s\)$/),
      });
      expect(record.rungs.find((rung) => `${rung.rung}: ${rung.check}` === check)).toMatchObject({
        outcome: 'passed',
        summary: expect.stringMatching(summary),
      });
    }
  });

  it('each can fail: a full backup and a custom restore that mask their exit codes, an SQL backup copied straight to its name', async () => {
    let source = CORRECTED_RUNBOOK;
    for (const [from, to] of [
      ['  --file=/tmp/nmia_backup.dump\n', '  --file=/tmp/nmia_backup.dump || true\n'],
      ['  /tmp/nmia_restore.dump\n', '  /tmp/nmia_restore.dump || true\n'],
      // The SQL backup copied straight to its backup name, as the runbook as given does.
      [
        'BACKUP=./backups/nmia_backup_$(date +%Y%m%d_%H%M%S).sql\ndocker compose cp db:/tmp/nmia_backup.sql "$BACKUP.partial" || { rm -f "$BACKUP.partial"; false; }\nmv "$BACKUP.partial" "$BACKUP"\n',
        'docker compose cp db:/tmp/nmia_backup.sql ./backups/nmia_backup_$(date +%Y%m%d_%H%M%S).sql\n',
      ],
    ] as const) {
      const copy = await editedRunbook(source, from, to);
      cleanups.push(copy.cleanup);
      source = copy.path;
    }
    const result = await drill({
      runbookPath: source,
      only: ['full-backup', 'sql-backup', 'restore-custom'],
      adversarial: true,
      allowDrift: true,
      scale: 50,
    });
    cleanups.push(result.cleanup);
    const titles = result.journal.findings.map((finding) => finding.title);
    const backup = procedure(result.journal, 'full-backup');
    expect(backup.outcome).toBe('failed');
    expect(failedChecks(backup)).toEqual([
      expect.stringMatching(
        /^intent: adversarial: a pg_dump killed part-way .* — the block exited 0; left nmia_backup_\d{8}_\d{6}\.dump \(\d+ bytes\)$/,
      ),
    ]);
    expect(titles).toContainEqual(expect.stringMatching(/^a pg_dump killed part-way still leaves nmia_backup_/));
    const restore = procedure(result.journal, 'restore-custom');
    expect(restore.outcome, JSON.stringify({ reason: restore.reason, harness: restore.harnessActions, rungs: restore.rungs })).toBe(
      'failed',
    );
    expect(failedChecks(restore)).toEqual([
      expect.stringMatching(
        /^restorability: adversarial: a truncated dump makes the restore fail visibly — every command exited 0; .*the database: /,
      ),
    ]);
    expect(titles).toContain('the custom restore exits 0 on a truncated dump: the application restarts on a partial database');
    if (tmpfs.ok) {
      const sql = procedure(result.journal, 'sql-backup');
      expect(failedChecks(sql)).toEqual([
        expect.stringMatching(
          /^intent: adversarial: a copy-out onto a full disk .* — the block exited 1; left nmia_backup_\d{8}_\d{6}\.sql \(4096 bytes\)$/,
        ),
      ]);
      expect(
        result.journal.findings.find((finding) => /^a copy-out onto a full disk leaves nmia_backup_/.test(finding.title)),
      ).toMatchObject({
        procedure: 'sql-backup',
        suggestedFix: expect.stringContaining('docker compose cp db:/tmp/nmia_backup.sql "$BACKUP.partial"'),
      });
    }
  });
});
