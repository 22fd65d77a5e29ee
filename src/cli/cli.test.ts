import { mkdtemp, readdir, readFile, rm, writeFile, copyFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const cli = (args: string[]) => execa('node', [join(REPO, 'bin/nmia-drill.js'), ...args], { cwd: REPO, reject: false, stdin: 'ignore' });

describe('nmia-drill CLI (spawned for real)', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'nmia-drill-cli-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('lists the procedures with their ids and sections', async () => {
    const result = await cli(['list']);
    expect(result.exitCode).toBe(0);
    expect(result.stdout).toMatch(/^full-backup\s+Database Backup › Full Backup \(Recommended\) \(line 33\)$/m);
    expect(result.stdout).toMatch(/^dr-recovery\s+Disaster Recovery Checklist › Recovery Steps/m);
    expect(result.stdout.trim().split('\n')).toHaveLength(12);
    expect((await cli(['--list'])).stdout).toBe(result.stdout);
  });

  it('rejects an unknown procedure id with one line naming the valid ids, exit 2, writing nothing', async () => {
    const reports = join(scratch, 'reports-unknown');
    const result = await cli(['--only', 'full-backup,bogus', '--report-dir', reports]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^error: unknown procedure "bogus"\n {2}fix: use one of: full-backup, sql-backup, .*dr-recovery/m);
    await expect(readdir(reports)).rejects.toThrow();
  });

  it('rejects bad option values and unknown options with exit 2', async () => {
    expect((await cli(['--scale', 'lots'])).exitCode).toBe(2);
    expect((await cli(['--isolation', 'sideways'])).exitCode).toBe(2);
    const unknown = await cli(['--no-such-option']);
    expect(unknown.exitCode).toBe(2);
    expect(unknown.stderr).toMatch(/unknown option '--no-such-option'/);
  });

  it('takes options before the command, as git and docker do', async () => {
    const config = join(scratch, 'drill.json');
    await writeFile(config, JSON.stringify({ seed: 7 }));
    const before = await cli(['--config', config, 'plan', '--only', 'full-backup', '--json']);
    expect(before.stderr).toBe('');
    expect(before.exitCode).toBe(0);
    const after = await cli(['plan', '--config', config, '--only', 'full-backup', '--json']);
    expect(before.stdout).toBe(after.stdout);
    // An option the command does not have is named, not taken for an argument of the default command.
    const wrong = await cli(['--scale', '10', 'verify-evidence', scratch]);
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr).toMatch(/unknown option '--scale'/);
  });

  it('refuses a missing runbook with a cause and a fix, exit 2', async () => {
    const result = await cli(['--runbook', join(scratch, 'nope.md'), '--report-dir', join(scratch, 'r')]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/nope\.md/);
    expect(result.stderr).toMatch(/fix:/);
  });

  it('refuses a reports directory it cannot write with one line and a fix, exit 2, before starting anything', async () => {
    await writeFile(join(scratch, 'not-a-dir'), 'x');
    const result = await cli(['--only', 'full-backup', '--report-dir', join(scratch, 'not-a-dir', 'reports')]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(
      /^error: the reports directory .*not-a-dir\/reports cannot be written \(ENOTDIR\); nothing was started\n {2}fix: pass --report-dir a directory you can write/,
    );
    expect(result.stderr).not.toMatch(/internal error|starting the db service/);
  });

  it('refuses a runbook with no shell blocks, exit 2', async () => {
    await writeFile(join(scratch, 'prose.md'), '# Backups\n\nRun the backup script every night.\n');
    const result = await cli(['--runbook', join(scratch, 'prose.md'), '--report-dir', join(scratch, 'r')]);
    expect(result.exitCode).toBe(2);
    expect(result.stderr).toMatch(/^error: runbook .*prose\.md has no fenced code blocks, so there is nothing to drill$/m);
  });

  it('exits 1 on a drifted copy of the runbook and names the drifted section, before starting anything', async () => {
    const copy = join(scratch, 'drifted.md');
    const text = await readFile(join(REPO, 'runbook/backup-restore.md'), 'utf8');
    await writeFile(copy, text.replace('--file=/tmp/nmia_backup.dump', '--file=/tmp/nmia_backup.dmp'));
    const reports = join(scratch, 'reports-drift');
    const result = await cli(['--runbook', copy, '--report-dir', reports]);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toMatch(/runbook drift \(hash-mismatch\): Database Backup › Full Backup \(Recommended\) block 0/);
    const [dir] = await readdir(reports);
    const journal = JSON.parse(await readFile(join(reports, dir!, 'journal.json'), 'utf8')) as {
      runbook: { lockState: string };
      procedures: Array<{ outcome: string }>;
    };
    expect(journal.runbook.lockState).toBe('drift');
    expect(journal.procedures.every((record) => record.outcome === 'not-run')).toBe(true);
  });

  it('pins a reviewed copy into a lock beside it, after which the copy has no drift', async () => {
    const dir = join(scratch, 'pinned');
    await execa('mkdir', ['-p', dir]);
    const copy = join(dir, 'backup-restore.md');
    await copyFile(join(REPO, 'runbook/backup-restore.md'), copy);
    await writeFile(copy, (await readFile(copy, 'utf8')).replace('--file=/tmp/nmia_backup.dump', '--file=/tmp/nmia_backup2.dump'));
    const pin = await cli(['pin', '--runbook', copy]);
    expect(pin.exitCode).toBe(0);
    expect(pin.stdout).toMatch(/pinned 1 change\(s\)/);
    expect(await readdir(dir)).toContain('backup-restore.lock.json');
    const again = await cli(['pin', '--runbook', copy]);
    expect(again.stdout).toMatch(/^no drift/);
  });
});
