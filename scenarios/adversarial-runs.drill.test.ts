import { afterEach, describe, expect, it } from 'vitest';
import { CORRECTED_RUNBOOK, drill, editedRunbook, failedChecks, procedure } from './support/drill-harness.ts';
import { tmpfsSupport } from '../runbook/kit/full-disk.ts';
import { ENCRYPTED_BACKUP_FIXES } from '../runbook/kit/secrets-check.ts';
import { RESTORE_ASIDE_FIX } from '../runbook/kit/still-writing-restore.ts';

const RESTORE_IN_PLACE_MASKED = [
  `docker compose exec db psql -U nmia -c "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'nmia' AND pid <> pg_backend_pid();"`,
  'docker compose exec db dropdb -U nmia nmia',
  'docker compose exec db createdb -U nmia nmia',
  ...RESTORE_ASIDE_FIX.split('\n')
    .slice(RESTORE_ASIDE_FIX.split('\n').indexOf('set -o pipefail'), RESTORE_ASIDE_FIX.split('\n').indexOf('      --no-privileges') + 1)
    .map((line) => line.replace('-d nmia_restoring', '-d nmia').replace(/--no-privileges$/, '--no-privileges || true')),
].join('\n');

/**
 * Adversarial runs: each section run again, as written, on the failure it exists to survive or make visible.
 * The scenario drills run them as `npm run drill` does: runbook-as-given finds the SQL restore's ignored errors,
 * runbook-corrected passes every one (on both apps). Here, each run fails on a runbook seeded to let it through.
 */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

const tmpfs = tmpfsSupport();

describe('adversarial runs', () => {
  it('each can fail: a full backup without pipefail, a custom restore in place that masks its exit code, an SQL backup written straight to its name', async () => {
    let source = CORRECTED_RUNBOOK;
    for (const [from, to] of [
      // pg_dump's exit code lost in the pipe into gpg (the drill runs blocks with pipefail, as the section asks).
      ['bind passwords\nset -o pipefail\n', 'bind passwords\nset +o pipefail\n'],
      // The custom restore back in place (dropdb, createdb nmia, restore into it), and its exit code masked.
      [RESTORE_ASIDE_FIX, RESTORE_IN_PLACE_MASKED],
      // The SQL backup written straight to its backup name, with no .partial file.
      [
        '  --format=plain \\\n  | gpg --batch --symmetric --cipher-algo AES256 \\\n      --passphrase-file /etc/nmia/backup.passphrase \\\n      --output "$BACKUP.partial" \\\n  || { rm -f "$BACKUP.partial"; false; }\nmv "$BACKUP.partial" "$BACKUP"\n',
        '  --format=plain \\\n  | gpg --batch --symmetric --cipher-algo AES256 \\\n      --passphrase-file /etc/nmia/backup.passphrase \\\n  > "$BACKUP"\n',
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
        /^intent: adversarial: a pg_dump killed part-way .* — the block exited 0; left nmia_backup_\d{8}_\d{6}\.dump\.gpg \(\d+ bytes\)$/,
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
      expect.stringMatching(
        /^restorability: adversarial: a restore while the application is still writing .* — every command exited 0; [1-9]\d* audit entr(y|ies) the writer made while the database was half-restored (is|are) in the restored database$/,
      ),
    ]);
    expect(titles).toContain('the custom restore exits 0 on a truncated dump: the application restarts on a partial database');
    expect(result.journal.findings.find((finding) => finding.title.startsWith('the custom restore lets a client'))?.suggestedFix).toContain(
      RESTORE_ASIDE_FIX,
    );
    if (tmpfs.ok) {
      const sql = procedure(result.journal, 'sql-backup');
      expect(failedChecks(sql)).toEqual([
        expect.stringMatching(
          /^intent: adversarial: a backup written onto a full disk .* — the block exited \d+; left nmia_backup_\d{8}_\d{6}\.sql\.gpg \(\d+ bytes\)$/,
        ),
      ]);
      expect(
        result.journal.findings.find((finding) => /^a backup written onto a full disk leaves nmia_backup_/.test(finding.title)),
      ).toMatchObject({
        procedure: 'sql-backup',
        suggestedFix: expect.stringContaining(ENCRYPTED_BACKUP_FIXES.sql),
      });
    }
  });
});
