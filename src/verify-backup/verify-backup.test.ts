import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { execa } from 'execa';
import { copyFile, mkdir, mkdtemp, open, stat, truncate, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Manifest } from '../verify/manifest.ts';
import { ARCHIVE_VERSION_OFFSET, readArchiveVersion } from './archive-version.ts';
import { compareWithSidecar, type ManifestSidecar } from './manifest-sidecar.ts';
import { makeTestDumps, rungLines as rungs, type TestDumps } from '../../test-support/test-dumps.ts';
import { runVerifyBackupCommand, verifyBackup, writeManifestSidecar } from './verify-backup.ts';

let dumps: TestDumps;
let dir: string;
let reports: string;
let sourceManifest: Manifest;

beforeAll(async () => {
  dumps = await makeTestDumps({ extraSchema: true });
  ({ dir, reports, sourceManifest } = dumps);
}, 120_000);

afterAll(async () => {
  await dumps?.stop();
});

describe('verifyBackup on a real pg_dump file', () => {
  it('passes every rung for a custom dump made outside the harness, with a matching sidecar, and writes the drill’s evidence bundle', async () => {
    const file = join(dir, 'with-sidecar', 'nmia.dump');
    await mkdir(join(dir, 'with-sidecar'), { recursive: true });
    await copyFile(dumps.custom, file);
    await writeManifestSidecar(file, sourceManifest);
    const lines: string[] = [];
    const { journal, files } = await verifyBackup({ file, reportRoot: reports, reporter: (line) => lines.push(line) });
    expect(rungs(journal, 'failed')).toEqual([]);
    expect(journal.outcome).toBe('passed');
    const record = journal.procedures[0]!;
    expect(record).toMatchObject({ id: 'verify-backup', mode: 'alone', outcome: 'passed' });
    expect(record.artifacts[0]).toMatchObject({ format: 'custom', readable: true });
    // Every rung of the ladder ran and passed: nothing skipped, nothing by default.
    expect(record.rungs.map((rung) => rung.outcome)).toEqual(record.rungs.map(() => 'passed'));
    expect(rungs(journal).join('\n')).toMatch(/artifact: the file is the one its manifest sidecar describes/);
    expect(rungs(journal).join('\n')).toMatch(/restorability: pg_restore --exit-on-error exits 0/);
    expect(rungs(journal).join('\n')).toMatch(/structure: the restored schema is the expected schema \(nmia\/schema\/schema\.sql\)/);
    expect(rungs(journal).join('\n')).toMatch(
      /content: core tables hold rows .* — identities 300, connector_instances \d+, users \d+, enclaves \d+/,
    );
    expect(rungs(journal).join('\n')).toMatch(/content: every foreign key holds/);
    expect(rungs(journal).join('\n')).toMatch(/content: no sequence is behind its table/);
    expect(rungs(journal).join('\n')).toMatch(/content: matches the manifest sidecar/);
    expect(rungs(journal).join('\n')).toMatch(/content: no corruption: .*pg_amcheck --heapallindexed/);
    for (const path of [files.journal, files.summary, files.html, files.junit, files.sha256sums]) expect(existsSync(path)).toBe(true);
    expect(readFileSync(files.sha256sums, 'utf8')).toMatch(/journal\.json/);
    expect(lines.some((line) => /PASS\s+restorability/.test(line))).toBe(true);
  });

  it('passes a plain SQL dump replayed with psql -v ON_ERROR_STOP=1; without a sidecar that check is skipped, not passed', async () => {
    const { journal } = await verifyBackup({ file: dumps.plain, reportRoot: reports });
    expect(rungs(journal, 'failed')).toEqual([]);
    expect(journal.outcome).toBe('passed');
    expect(rungs(journal).join('\n')).toMatch(/restorability: psql -v ON_ERROR_STOP=1 exits 0/);
    expect(rungs(journal, 'skipped')).toEqual([
      expect.stringMatching(/matches the manifest sidecar .*no nmia_backup_20250201_020000\.sql\.manifest\.json next to the file/),
    ]);
  });

  it('fails a dump that carries a schema the app does not have (an older drill left nmia_drill in it), naming it', async () => {
    const { journal } = await verifyBackup({ file: dumps.extraSchema!, reportRoot: reports });
    expect(journal.outcome).toBe('failed');
    expect(rungs(journal, 'failed')).toEqual([
      expect.stringMatching(
        /^structure: the restored schema is the expected schema .* table nmia_drill\.sentinels: unexpected; .*schema nmia_drill: unexpected/,
      ),
      expect.stringMatching(/^structure: privileges \(GRANTs\) are those of the expected schema .*grant schema nmia_drill/),
    ]);
  });

  it('CLI: --expected-schema judges the backup against that schema: the real dump fails against one with an extra table and column', async () => {
    const schema = join(dir, 'expected-newer.sql');
    const real = readFileSync(new URL('../../nmia/schema/schema.sql', import.meta.url), 'utf8');
    await writeFile(
      schema,
      `${real}\nCREATE TABLE public.owners (id uuid PRIMARY KEY);\nALTER TABLE public.enclaves ADD COLUMN owner_id uuid;\n`,
    );
    const out: string[] = [];
    const code = await runVerifyBackupCommand(dumps.custom, {
      reportDir: reports,
      expectedSchema: schema,
      json: true,
      quiet: true,
      stdout: (text) => out.push(text),
      stderr: () => undefined,
    });
    expect(code).toBe(1);
    const result = JSON.parse(out.join('')) as { rungs: Array<{ rung: string; check: string; outcome: string; summary: string }> };
    const structure = result.rungs.find((rung) => rung.check.startsWith('the restored schema is the expected schema'));
    expect(structure).toMatchObject({ outcome: 'failed', check: `the restored schema is the expected schema (${schema})` });
    expect(structure!.summary).toMatch(/table public\.owners: missing/);
    expect(structure!.summary).toMatch(/column public\.enclaves\.owner_id: missing/);
    // Control: the same backup against the shipped (default) schema passes that rung.
    const err: string[] = [];
    expect(
      await runVerifyBackupCommand(dumps.custom, { reportDir: reports, expectedSchema: join(dir, 'nope.sql'), stderr: (t) => err.push(t) }),
    ).toBe(2);
    expect(err.join('')).toMatch(/^error: expected schema not found: .*nope\.sql\n {2}fix: pass a schema file/);
  });

  it('CLI: a truncated custom dump exits 1 with the failed rungs in the JSON result', async () => {
    const file = join(dir, 'truncated.dump');
    await copyFile(dumps.custom, file);
    await truncate(file, Math.floor((await stat(file)).size / 2));
    const out: string[] = [];
    const err: string[] = [];
    const code = await runVerifyBackupCommand(file, {
      reportDir: reports,
      json: true,
      quiet: true,
      stdout: (text) => out.push(text),
      stderr: (text) => err.push(text),
    });
    expect(code).toBe(1);
    expect(err).toEqual([]);
    const result = JSON.parse(out.join('')) as { outcome: string; rungs: Array<{ rung: string; outcome: string; summary: string }> };
    expect(result.outcome).toBe('failed');
    expect(result.rungs.find((rung) => rung.rung === 'artifact')).toMatchObject({
      outcome: 'failed',
      summary: expect.stringMatching(/end of file|could not read/),
    });
    expect(result.rungs.find((rung) => rung.rung === 'restorability')).toMatchObject({
      outcome: 'failed',
      summary: expect.stringMatching(/pg_restore .*exit 1/),
    });
    expect(result.rungs.filter((rung) => rung.outcome === 'passed').map((rung) => rung.rung)).not.toContain('restorability');
  });

  it('CLI: a missing file is a usage error (exit 2) with a one-line cause and fix, and starts nothing', async () => {
    const err: string[] = [];
    const code = await runVerifyBackupCommand(join(dir, 'no-such.dump'), { reportDir: reports, stderr: (text) => err.push(text) });
    expect(code).toBe(2);
    expect(err.join('')).toMatch(/^error: backup file not found: .*no-such\.dump\n {2}fix: pass the path of an existing pg_dump file/);
  });

  it('CLI: no usable PostgreSQL is an environment error (exit 3) with the cause and fix', async () => {
    const saved = process.env.PG_BINDIR;
    process.env.PG_BINDIR = join(dir, 'no-bin');
    const err: string[] = [];
    try {
      const code = await runVerifyBackupCommand(dumps.custom, { reportDir: reports, quiet: true, stderr: (text) => err.push(text) });
      expect(code).toBe(3);
    } finally {
      if (saved === undefined) delete process.env.PG_BINDIR;
      else process.env.PG_BINDIR = saved;
    }
    // The prerequisite check names what is missing and how to install it, in one line, before any work.
    expect(err.join('')).toMatch(
      /^error: missing system tools: postgresql-client \(.*\); postgresql \(.*\); install them with: .*apt-get install -y --no-install-recommends postgresql-client postgresql\n {2}fix: .*PG_BINDIR/,
    );
  });

  it('CLI: a dump a newer pg_dump wrote (header archive version one past this pg_restore) is an environment error (exit 3): one-line cause and fix, no verdict', async () => {
    const file = join(dir, 'from-newer-pg-dump.dump');
    await copyFile(dumps.custom, file);
    // This machine's pg_dump writes the newest archive version its pg_restore reads; a newer pg_dump writes the next one,
    // in the header's version bytes (PGDMP, then major, minor, revision). Only those bytes are changed.
    const written = (await readArchiveVersion(file))!;
    expect(written.major).toBe(1);
    const handle = await open(file, 'r+');
    try {
      await handle.write(Buffer.from([written.minor + 1, 0]), 0, 2, ARCHIVE_VERSION_OFFSET + 1);
    } finally {
      await handle.close();
    }
    const next = `${written.major}.${written.minor + 1}`;
    const out: string[] = [];
    const err: string[] = [];
    const code = await runVerifyBackupCommand(file, {
      reportDir: reports,
      json: true,
      quiet: true,
      stdout: (text) => out.push(text),
      stderr: (text) => err.push(text),
    });
    expect(code).toBe(3);
    // pg_restore's own refusal, quoted; the cause and the fix on one line each.
    const text = err.join('');
    expect(text.split('\n').filter(Boolean)).toHaveLength(2);
    expect(text).toMatch(
      new RegExp(
        `^error: from-newer-pg-dump\\.dump is a custom-format archive of version ${next.replace('.', '\\.')}, newer than pg_restore \\d+\\.\\d+ \\(.*/pg_restore\\) reads \\("pg_restore: error: unsupported version \\(${next.replace('.', '\\.')}\\) in file header"\\): .*; the backup itself is unchecked\n {2}fix: install PostgreSQL .*client binaries and point PG_BINDIR at their bin directory`,
      ),
    );
    if (next === '1.15')
      expect(text).toMatch(
        /pg_dump of PostgreSQL 16 or later wrote it.*\n {2}fix: install PostgreSQL 16 \(or newer\) client binaries and point PG_BINDIR at their bin directory \(Debian: \/usr\/lib\/postgresql\/16\/bin\)/s,
      );
    const result = JSON.parse(out.join('')) as { outcome: string; reason: string; rungs: Array<{ rung: string; outcome: string }> };
    // Not a verdict on the backup: the artifact rung could not be checked, nothing after it ran, nothing passed.
    expect(result.outcome).toBe('error');
    expect(result.reason).toMatch(/unsupported version .* \(fix: install PostgreSQL/);
    expect(result.rungs).toEqual([expect.objectContaining({ rung: 'artifact', outcome: 'error' })]);
  });

  it('an empty file fails the artifact rung and runs nothing else', async () => {
    const file = join(dir, 'empty.dump');
    await writeFile(file, '');
    const { journal } = await verifyBackup({ file, reportRoot: reports });
    expect(journal.outcome).toBe('failed');
    expect(rungs(journal)).toEqual([
      expect.stringMatching(/^artifact: .* — 0 bytes, .*empty file/),
      expect.stringMatching(/^restorability: .*not a custom-format or plain SQL dump/),
      expect.stringMatching(/^structure/),
      expect.stringMatching(/^content/),
    ]);
    expect(journal.procedures[0]!.rungs.slice(1).map((rung) => rung.outcome)).toEqual(['not-run', 'not-run', 'not-run']);
  });

  it('an encrypted backup: checked through --passphrase-file, its sidecar matched to the file as written; without the key or with another, one line says so', async () => {
    const encryptedDir = join(dir, 'encrypted');
    await mkdir(encryptedDir, { recursive: true });
    const file = join(encryptedDir, 'nmia.dump.gpg');
    const passphrase = join(encryptedDir, 'backup.passphrase');
    await writeFile(passphrase, 'CANARY-backupkey-test\n', { mode: 0o600 });
    const gnupgHome = await mkdtemp(join(encryptedDir, 'gnupg-'));
    await execa('gpg', ['--batch', '--symmetric', '--passphrase-file', passphrase, '--output', file, dumps.custom], {
      env: { GNUPGHOME: gnupgHome },
    });
    await execa('gpgconf', ['--homedir', gnupgHome, '--kill', 'gpg-agent']);
    await writeManifestSidecar(file, sourceManifest);

    const { journal } = await verifyBackup({ file, reportRoot: reports, passphraseFile: passphrase });
    expect(rungs(journal, 'failed')).toEqual([]);
    expect(journal.outcome).toBe('passed');
    expect(rungs(journal).join('\n')).toMatch(/artifact: the file is the one its manifest sidecar describes \(sha256\)/);
    expect(rungs(journal).join('\n')).toMatch(/restorability: pg_restore --exit-on-error exits 0/);
    expect(JSON.stringify(journal)).not.toContain('CANARY-backupkey-test');
    // The plaintext is gone with the verification.
    expect(readdirSync(tmpdir()).filter((name) => name.startsWith(`nmia-drill-verify-${journal.drillId}-`))).toEqual([]);

    const withoutKey = await verifyBackup({ file, reportRoot: reports });
    expect(withoutKey.journal.outcome).toBe('error');
    expect(withoutKey.journal.error).toBe(
      'nmia.dump.gpg is OpenPGP-encrypted (gpg): it cannot be checked without its passphrase (fix: pass --passphrase-file <file holding the backup passphrase> (the corrected runbook keeps it in /etc/nmia/backup.passphrase))',
    );
    const otherKey = join(encryptedDir, 'other.passphrase');
    await writeFile(otherKey, 'another\n');
    const wrongKey = await verifyBackup({ file, reportRoot: reports, passphraseFile: otherKey });
    expect(wrongKey.journal.outcome).toBe('error');
    expect(wrongKey.journal.error).toMatch(
      /^nmia\.dump\.gpg does not decrypt with .*other\.passphrase: gpg could not decrypt .*\(fix: pass the passphrase file the backup was encrypted with\)$/,
    );
  });

  it('an exception (no usable PostgreSQL) is outcome error with its cause, never passed', async () => {
    const { journal } = await verifyBackup({
      file: dumps.custom,
      reportRoot: reports,
      binaries: { binDir: '/nonexistent', source: 'PG_BINDIR', path: (binary) => `/nonexistent/${binary}` },
    });
    expect(journal.outcome).toBe('error');
    expect(journal.error).toMatch(/^cannot run \/nonexistent\/pg_restore: .* \(fix: install it or pass the right path/);
    expect(journal.error!.split('\n')).toHaveLength(1);
    expect(journal.procedures[0]!.reason).toMatch(/fix: /);
  });
});

describe('compareWithSidecar', () => {
  const sidecarOf = (manifest: Manifest, after?: Manifest): ManifestSidecar => ({
    sidecarVersion: 1,
    file: 'x.dump',
    bytes: 1,
    sha256: 'x',
    writtenAt: 'then',
    manifest,
    ...(after ? { after } : {}),
  });
  const edited = (manifest: Manifest, edit: (copy: Manifest) => void): Manifest => {
    const copy = structuredClone(manifest);
    edit(copy);
    return copy;
  };

  it('with a window: a table written during the backup is held to its bounds, an unchanged one exactly', () => {
    const after = edited(
      sourceManifest,
      (copy) => (copy.tables['public.audit_logs'] = { rows: copy.tables['public.audit_logs']!.rows + 5, hash: 'later' }),
    );
    expect(compareWithSidecar(sidecarOf(sourceManifest, after), sourceManifest).content).toEqual([]);
    const restored = edited(sourceManifest, (copy) => (copy.tables['public.users']!.hash = 'different'));
    expect(compareWithSidecar(sidecarOf(sourceManifest, after), restored).content.map((problem) => problem.message)).toEqual([
      expect.stringMatching(/^public\.users: content hash differs/),
    ]);
    const tooMany = edited(
      sourceManifest,
      (copy) => (copy.tables['public.audit_logs'] = { rows: copy.tables['public.audit_logs']!.rows + 50, hash: 'x' }),
    );
    expect(compareWithSidecar(sidecarOf(sourceManifest, after), tooMany).content.map((problem) => problem.message)).toEqual([
      expect.stringMatching(/^public\.audit_logs: \d+ rows after restore, outside the/),
    ]);
  });

  it('across PostgreSQL majors compares row counts only, and says so', () => {
    const older = edited(sourceManifest, (copy) => {
      copy.serverVersion = '14.11';
      copy.tables['public.users']!.hash = 'hashed-on-14';
    });
    const comparison = compareWithSidecar(sidecarOf(older), sourceManifest);
    expect(comparison).toMatchObject({
      sameMajor: false,
      content: [],
      schema: [],
      scope: expect.stringMatching(/sidecar from PostgreSQL 14\.11, restored on \d+\.\d+.*: row counts only/),
    });
    const fewer = edited(older, (copy) => (copy.tables['public.users']!.rows += 1));
    expect(compareWithSidecar(sidecarOf(fewer), sourceManifest).content.map((problem) => problem.message)).toEqual([
      expect.stringMatching(/^users: \d+ rows, expected \d+ \(1 fewer\)/),
    ]);
  });
});
