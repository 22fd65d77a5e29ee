import { readFileSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseAppSource } from '../app/app-source.ts';
import { announceSkip, dockerAvailability } from '../docker/docker-availability.ts';
import { makeTestDumps, rungLines as rungs, type TestDumps } from '../../test-support/test-dumps.ts';
import { cloneRealNmia, realNmiaSource } from '../../test-support/real-nmia-checkout.ts';
import { runVerifyBackupCommand, verifyBackup } from './verify-backup.ts';

const docker = await dockerAvailability(['nmia-api']);
const source = realNmiaSource();
const suffix = source ? announceSkip('verify-backup --app', docker) : ' [skipped: no real NMIA repository]';
const STRUCTURE =
  /^structure: the restored schema is the expected schema \(the schema of .* at [0-9a-f]{8} \(its create_all, in its api image\)\)/;

let dumps: TestDumps;
const removals: Array<() => Promise<void>> = [];
beforeAll(async () => {
  dumps = await makeTestDumps();
}, 120_000);
afterAll(async () => {
  await dumps?.stop();
  for (const remove of removals) await remove();
});

describe.skipIf(!docker.available || !source)(`verify-backup --app: the backup judged against the app's own schema${suffix}`, () => {
  it("passes an NMIA backup against the real app's create_all, keeps that schema as evidence and names the app and its commit", async () => {
    const { journal, files } = await verifyBackup({ file: dumps.custom, reportRoot: dumps.reports, app: repository(source!) });
    expect(rungs(journal, 'failed')).toEqual([]);
    expect(rungs(journal).find((line) => STRUCTURE.test(line))).toMatch(/ — \d+ catalog objects match$/);
    expect(journal.app).toMatchObject({ kind: 'repository', commit: expect.stringMatching(/^3e1062f3/) });
    const record = journal.procedures[0]!;
    expect(record.harnessActions.map((action) => action.purpose)).toEqual(
      expect.arrayContaining([
        "apply the expected schema: the app's own create_all, in its api image",
        'keep the expected schema as evidence',
      ]),
    );
    const kept = join(files.journal, '..', 'procedures', 'alone-verify-backup', 'expected-schema.sql');
    expect(readFileSync(kept, 'utf8')).toMatch(/CREATE TABLE public\.connector_instances/);
  });

  it("fails the same backup against an app whose models gained a column, naming it (seeded: the app's schema moved on)", async () => {
    const newer = await cloneRealNmia();
    removals.push(newer.remove);
    const models = join(newer.dir, 'api', 'src', 'nmia', 'core', 'models.py');
    const text = readFileSync(models, 'utf8');
    const anchor = '    identity_type = Column(String(50), nullable=False)';
    expect(text).toContain(anchor);
    await writeFile(models, text.replace(anchor, `${anchor}\n    retired_at_note = Column(String(16), nullable=True)`));
    await execa(
      'git',
      ['-c', 'user.name=drill', '-c', 'user.email=drill@example.invalid', 'commit', '-qam', 'identities.retired_at_note'],
      {
        cwd: newer.dir,
      },
    );
    const { journal } = await verifyBackup({ file: dumps.custom, reportRoot: dumps.reports, app: repository(newer.dir) });
    expect(journal.outcome).toBe('failed');
    expect(rungs(journal, 'failed').find((line) => STRUCTURE.test(line))).toMatch(/column public\.identities\.retired_at_note: /);
  });
});

describe('verify-backup --app: usage', () => {
  it('refuses --app together with --expected-schema (exit 2, one line, nothing done)', async () => {
    const err: string[] = [];
    const code = await runVerifyBackupCommand(dumps.custom, {
      reportDir: dumps.reports,
      app: '/nonexistent/nmia',
      expectedSchema: dumps.custom,
      stderr: (text) => err.push(text),
    });
    expect(code).toBe(2);
    expect(err.join('')).toMatch(
      /^error: --app and --expected-schema both name the schema the backup is judged against\n {2}fix: give one/,
    );
  });
});

function repository(location: string) {
  const parsed = parseAppSource(location);
  if (parsed.kind !== 'repository') throw new Error(`${location} is not a repository`);
  return parsed;
}
