import { existsSync } from 'node:fs';
import { readFile, truncate, stat, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { harnessDump } from '../runbook/kit/disasters.ts';
import { JournalSchema } from '../src/evidence/journal.ts';
import { CORRECTED_RUNBOOK, drill, editedRunbook, failedChecks, GIVEN_RUNBOOK, procedure, withProcedure } from './support/drill-harness.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe('foundation: full backup, then restore from the custom-format dump, from the runbook text', () => {
  it('passes both procedures with matching manifests and writes the journal and summary', async () => {
    const result = await drill({ runbookPath: CORRECTED_RUNBOOK, only: ['full-backup', 'restore-custom'] });
    cleanups.push(result.cleanup);
    const { journal } = result;
    expect(journal.outcome).toBe('passed');
    const backup = procedure(journal, 'full-backup');
    const restore = procedure(journal, 'restore-custom');
    expect([backup.outcome, restore.outcome]).toEqual(['passed', 'passed']);
    expect(backup.artifacts[0]).toMatchObject({ name: 'custom-dump', format: 'custom', readable: true });
    expect(restore.rungs.filter((rung) => rung.outcome === 'passed').map((rung) => rung.rung)).toEqual(
      expect.arrayContaining(['restorability', 'structure', 'content']),
    );
    // The dated name in the runbook is a binding to the file the backup produced, and it is recorded.
    // The backup is encrypted (as the corrected runbook writes it): the section's own `.gpg` suffix stays, and the
    // passphrase file it names is the one the drill holds in custody.
    expect(restore.blocks[0]?.bindings).toEqual([
      expect.objectContaining({
        placeholder: 'nmia_backup_20250201_020000.dump',
        value: backup.artifacts[0]!.path.replace('./backups/', '').replace(/\.gpg$/, ''),
        occurrences: 1,
      }),
      expect.objectContaining({
        placeholder: '/etc/nmia/backup.passphrase',
        reason: 'the backup encryption key, held in custody by the drill',
      }),
    ]);
    expect(restore.blocks[0]?.commands.map((command) => command.exitCode)).toEqual(restore.blocks[0]?.commands.map(() => 0));
    expect(JournalSchema.safeParse(JSON.parse(await readFile(result.files.journal, 'utf8'))).success).toBe(true);
    expect(await readFile(result.files.summary, 'utf8')).toMatch(/restore-custom/);
  });

  it('fails on one changed character in the full-backup block, naming the section; --allow-drift runs and records it', async () => {
    const copy = await editedRunbook(GIVEN_RUNBOOK, '  -Fc \\\n  --file=/tmp/nmia_backup.dump', '  -Fc \\\n  --file=/tmp/nmia_backup.dmp');
    cleanups.push(copy.cleanup);
    const refused = await drill({ runbookPath: copy.path, only: ['full-backup'] });
    cleanups.push(refused.cleanup);
    expect(refused.journal.outcome).toBe('failed');
    expect(refused.journal.runbook.lockState).toBe('drift');
    expect(refused.journal.findings.map((finding) => finding.title)).toEqual([
      'runbook drift (hash-mismatch): Database Backup › Full Backup (Recommended) block 0',
    ]);
    expect(procedure(refused.journal, 'full-backup').outcome).toBe('not-run');

    const allowed = await drill({ runbookPath: copy.path, only: ['full-backup'], allowDrift: true });
    cleanups.push(allowed.cleanup);
    expect(procedure(allowed.journal, 'full-backup').blocks[0]?.executedText).toContain('/tmp/nmia_backup.dmp');
    expect(allowed.journal.findings[0]).toMatchObject({ severity: 'medium', title: expect.stringContaining('Full Backup (Recommended)') });
    // The block's own cp then fails on the renamed file: the drift ran, and the drill says so.
    expect(allowed.journal.outcome).toBe('failed');
  });

  it('fails verification naming the table when one row changes after the restore', async () => {
    const procedures = withProcedure('restore-custom', (original) => ({
      ...original,
      async verify(context) {
        await context.harnessSql(
          'fault: change one row after the restore',
          "UPDATE identities SET display_name = display_name || '-tampered' WHERE id = (SELECT min(id::text)::uuid FROM identities)",
        );
        await original.verify(context);
      },
    }));
    const result = await drill({ runbookPath: CORRECTED_RUNBOOK, only: ['full-backup', 'restore-custom'], procedures });
    cleanups.push(result.cleanup);
    const restore = procedure(result.journal, 'restore-custom');
    expect(restore.outcome).toBe('failed');
    expect(failedChecks(restore).join('\n')).toMatch(/content: .*identities: content hash differs/);
    expect(result.journal.findings.some((finding) => finding.procedure === 'restore-custom')).toBe(true);
  });

  it('never passes a truncated dump: the backup check and the restore both fail', async () => {
    const procedures = withProcedure('full-backup', (original) => ({
      ...original,
      async verify(context) {
        // The backup as the corrected runbook writes it, encrypted: cut short, it no longer decrypts whole.
        const dumps = (await readdir(context.backupsDir)).filter((name) => name.endsWith('.dump.gpg'));
        const path = join(context.backupsDir, dumps[0]!);
        await truncate(path, Math.floor((await stat(path)).size / 2));
        await original.verify(context);
      },
    })).map((candidate) =>
      candidate.id === 'restore-custom'
        ? {
            ...candidate,
            async prepare(context: Parameters<NonNullable<typeof candidate.prepare>>[0]) {
              await harnessDump(context, 'custom');
              const path = context.artifact('custom-dump')!.path;
              await truncate(path, Math.floor((await stat(path)).size / 2));
            },
          }
        : candidate,
    );
    const result = await drill({ runbookPath: CORRECTED_RUNBOOK, only: ['full-backup', 'restore-custom'], procedures });
    cleanups.push(result.cleanup);
    const backup = procedure(result.journal, 'full-backup');
    expect(backup.outcome).toBe('failed');
    expect(failedChecks(backup).join('\n'), failedChecks(backup).join('\n')).toMatch(
      /artifact: .*OpenPGP-encrypted; gpg could not decrypt nmia_backup_\d{8}_\d{6}\.dump\.gpg with the drill's backup key: gpg: (problem reading source|WARNING: encrypted message has been manipulated)/,
    );
    const restore = procedure(result.journal, 'restore-custom');
    expect(restore.outcome).toBe('failed');
    expect(failedChecks(restore).join('\n')).toMatch(/restorability: .*pg_restore/);
    expect(result.journal.outcome).toBe('failed');
    expect(existsSync(result.files.journal)).toBe(true);
  });
});
