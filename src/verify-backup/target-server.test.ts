import { readdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { findPgBinaries, type PgBinaries } from '../postgres/pg-binaries.ts';
import { LocalPostgresProvider } from '../postgres/local-postgres-provider.ts';
import type { StartedLocalPostgres } from '../postgres/started-local-postgres.ts';
import { BackupVerification } from './backup-verification.ts';
import { ServerScratchTarget } from './server-scratch-target.ts';
import { TargetUrl } from './target-url.ts';
import { makeTestDumps, rungLines, type TestDumps } from '../../test-support/test-dumps.ts';
import { runVerifyBackupCommand } from './verify-backup-command.ts';

const PASSWORD = 'canary-target-pw-5c1e';

let dumps: TestDumps;
/** The "existing server": not created by any drill, holding databases that must survive. */
let server: StartedLocalPostgres;
let url: string;

async function databases(): Promise<string[]> {
  return (await server.query<{ datname: string }>('SELECT datname FROM pg_database ORDER BY datname')).map((row) => row.datname);
}

async function filesUnder(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true, withFileTypes: true });
  return entries.filter((entry) => entry.isFile()).map((entry) => join(entry.parentPath, entry.name));
}

beforeAll(async () => {
  dumps = await makeTestDumps({ altered: true });
  server = await new LocalPostgresProvider({ superuser: 'nmia', password: PASSWORD }).start();
  for (const name of ['nmia', 'prod_nmia']) {
    await server.createDatabase(name);
    await server.query('CREATE TABLE precious (id int); INSERT INTO precious VALUES (42)', [], name);
  }
  url = `postgresql://nmia:${PASSWORD}@127.0.0.1:${server.port}/nmia`;
}, 180_000);

afterAll(async () => {
  await server?.stop();
  await dumps?.stop();
});

describe('verify-backup --target-url: scratch databases on an existing server', () => {
  it('restores into nmia_drill_<id>, passes the ladder, drops its scratch databases and leaves every other database as it was', async () => {
    const before = await databases();
    const { journal, files } = await new BackupVerification({
      file: dumps.custom,
      reportRoot: dumps.reports,
      target: TargetUrl.parse(url),
      drillId: 'tgt1',
    }).run();
    expect(rungLines(journal, 'failed')).toEqual([]);
    expect(journal.outcome).toBe('passed');
    expect(journal.stack).toMatchObject({
      kind: 'server',
      reason: expect.stringContaining('scratch databases nmia_drill_tgt1 and nmia_drill_tgt1_ref on the existing server nmia@127.0.0.1'),
    });
    expect(journal.procedures[0]!.harnessActions.map((action) => action.command)).toEqual(
      expect.arrayContaining(['CREATE DATABASE nmia_drill_tgt1', 'CREATE DATABASE nmia_drill_tgt1_ref']),
    );
    expect(await databases()).toEqual(before);
    for (const name of ['nmia', 'prod_nmia']) expect(await server.query('SELECT id FROM precious', [], name)).toEqual([{ id: 42 }]);
    // The URL's password is a secret: nowhere in the evidence.
    const reportDir = join(files.journal, '..');
    for (const file of await filesUnder(reportDir)) expect(await readFile(file, 'utf8'), file).not.toContain(PASSWORD);
  }, 180_000);

  it('refuses to restore into a scratch name that exists without its marker, and leaves that database alone', async () => {
    await server.createDatabase('nmia_drill_tgt2');
    await server.query('CREATE TABLE precious (id int); INSERT INTO precious VALUES (7)', [], 'nmia_drill_tgt2');
    const verification = new BackupVerification({
      file: dumps.custom,
      reportRoot: dumps.reports,
      target: TargetUrl.parse(url),
      drillId: 'tgt2',
    });
    const { journal } = await verification.run();
    expect(journal.outcome).toBe('error');
    expect(journal.procedures[0]!.reason).toMatch(
      /^nmia-drill: refusing to restore into database "nmia_drill_tgt2": it already exists and does not carry this drill's ownership marker \(nmia-drill:tgt2\); a drill destroys only what it created\. Nothing was changed\. \(fix: /,
    );
    expect(await server.query('SELECT id FROM precious', [], 'nmia_drill_tgt2')).toEqual([{ id: 7 }]);
    // The reference scratch database it had already made is gone.
    expect(await databases()).not.toContain('nmia_drill_tgt2_ref');
    await server.dropDatabase('nmia_drill_tgt2');
  }, 120_000);

  it('never writes to the URL’s own database nor any other: each is refused with one line', async () => {
    const target = await ServerScratchTarget.open(TargetUrl.parse(url), 'tgt3', findPgBinaries());
    for (const name of ['nmia', 'prod_nmia', 'postgres']) {
      expect(() => target.env(name)).toThrow(
        `nmia-drill: refusing to restore into database "${name}": it is not one of the scratch databases this drill names and creates (nmia_drill_tgt3, nmia_drill_tgt3_ref) (nmia-drill:tgt3); a drill destroys only what it created. Nothing was changed.`,
      );
      await expect(target.createDatabase(name)).rejects.toThrow(`refusing to create database "${name}"`);
      await expect(target.connect(name)).rejects.toThrow(`refusing to connect to database "${name}"`);
    }
    await expect(target.createRoles()).rejects.toThrow(/refusing to create roles on the --target-url server/);
    await target.createDatabase('nmia_drill_tgt3');
    expect(
      (
        await server.query<{ c: string }>(
          `SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = 'nmia_drill_tgt3'`,
        )
      )[0]?.c,
    ).toBe('nmia-drill:tgt3');
    await target.stop();
    expect(await databases()).not.toContain('nmia_drill_tgt3');
  }, 60_000);

  it('creates no role on the server: a dump that needs one it lacks is an error that says so', async () => {
    const { journal } = await new BackupVerification({
      file: dumps.altered!,
      reportRoot: dumps.reports,
      target: TargetUrl.parse(url),
      drillId: 'tgt4',
    }).run();
    expect(journal.outcome).toBe('error');
    expect(rungLines(journal, 'error')).toEqual([
      expect.stringMatching(
        /^restorability: the roles the dump refers to exist on the server — the dump refers to role\(s\) the server lacks: nmia_reporting; a drill creates no roles on a server it does not own/,
      ),
    ]);
    expect(await server.query(`SELECT 1 FROM pg_roles WHERE rolname = 'nmia_reporting'`)).toEqual([]);
    expect((await databases()).filter((name) => name.startsWith('nmia_drill_'))).toEqual([]);
  }, 120_000);

  it('fails with exit 3 and one line when the client binaries are older than the server', async () => {
    const real = findPgBinaries();
    const fake = join(dumps.dir, 'old-pg_dump');
    await writeFile(fake, '#!/bin/sh\necho "pg_dump (PostgreSQL) 9.6.24"\n', { mode: 0o755 });
    const binaries: PgBinaries = { ...real, path: (binary) => (binary === 'pg_dump' ? fake : real.path(binary)) };
    const verification = new BackupVerification({
      file: dumps.custom,
      reportRoot: dumps.reports,
      target: TargetUrl.parse(url),
      drillId: 'tgt5',
      binaries,
    });
    const { journal } = await verification.run();
    expect(verification.failure?.exitCode).toBe(3);
    expect(journal.procedures[0]!.reason).toMatch(
      /^pg_dump 9\.6\.24 \(.*old-pg_dump\) is older than the PostgreSQL \d+\.\d+[^)]*\)? server: it aborts with "server version mismatch" \(fix: install PostgreSQL \d+ client binaries and point PG_BINDIR/,
    );
    expect((await databases()).filter((name) => name.startsWith('nmia_drill_'))).toEqual([]);
  }, 60_000);

  it('a URL that is not a postgres URL is a usage error (exit 2)', async () => {
    const lines: string[] = [];
    expect(
      await runVerifyBackupCommand(dumps.custom, {
        targetUrl: 'mysql://x@y/z',
        reportDir: dumps.reports,
        stderr: (text) => lines.push(text),
      }),
    ).toBe(2);
    expect(lines.join('')).toMatch(/^error: --target-url must be a postgresql:\/\/ URL, not mysql:\/\/\n {2}fix: e\.g\. --target-url/);
  });

  it('Ctrl-C during the run (real CLI): the scratch databases are dropped, exit 130', async () => {
    const cli = execa(
      'node',
      [
        fileURLToPath(new URL('../../bin/nmia-drill.js', import.meta.url)),
        'verify-backup',
        dumps.custom,
        '--target-url',
        url,
        '--report-dir',
        dumps.reports,
      ],
      { reject: false, stdin: 'ignore' },
    );
    const deadline = Date.now() + 60_000;
    let seen: string[] = [];
    while (seen.length === 0 && Date.now() < deadline && cli.exitCode === null) {
      seen = (await databases()).filter((name) => name.startsWith('nmia_drill_'));
      if (seen.length === 0) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    if (seen.length === 0) {
      cli.kill('SIGKILL');
      const early = await cli;
      expect.fail(`the CLI never created a scratch database: exit ${early.exitCode}: ${early.stderr}`);
    }
    cli.kill('SIGINT');
    const result = await cli;
    expect(result.exitCode).toBe(130);
    expect(result.stderr).toContain('SIGINT: stopping verify-backup and cleaning up');
    expect((await databases()).filter((name) => name.startsWith('nmia_drill_'))).toEqual([]);
    for (const name of ['nmia', 'prod_nmia']) expect(await server.query('SELECT id FROM precious', [], name)).toEqual([{ id: 42 }]);
  }, 120_000);
});
