import { chmod, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { delimiter, join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Journal } from '../src/evidence/journal.ts';
import { REPO_ROOT } from '../src/repo-root.ts';
import { CORRECTED_RUNBOOK } from './support/drill-harness.ts';

/**
 * `npm run drill` of the corrected runbook on a machine where the harness's own parts are there but will not
 * start: Chromium exits at once, and slapd (the fixture LDAP directory) cannot bind. Both pass the prerequisite
 * check (the files exist), so this is the run-time path; a tool missing altogether stops before any work
 * (src/prerequisites/prerequisites-cli.test.ts). The runbook is not at fault: no finding, `error` outcomes that
 * name the cause and the fix, exit 3. Only dr-recovery, the one procedure that uses those parts.
 */
describe('the corrected runbook with Chromium and the fixture LDAP directory unavailable (spawned CLI)', () => {
  let dir: string;
  let result: { exitCode: number | undefined; stdout: string; stderr: string };
  let journal: Journal;

  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nmia-harness-unavailable-'));
    const chromium = join(dir, 'chromium');
    await writeFile(chromium, '#!/bin/sh\necho "Missing X server or $DISPLAY" >&2\nexit 1\n');
    // slapd first on PATH: the fixture directory finds it as the prerequisite check does.
    await writeFile(join(dir, 'slapd'), '#!/bin/sh\necho "daemon: bind(7) failed errno=98 (Address already in use)" >&2\nexit 1\n');
    await chmod(chromium, 0o755);
    await chmod(join(dir, 'slapd'), 0o755);
    const run = await execa(
      process.execPath,
      [
        join(REPO_ROOT, 'bin/nmia-drill.js'),
        ...['--runbook', CORRECTED_RUNBOOK, '--only', 'dr-recovery', '--isolation', 'order', '--stack', 'emulated'],
        ...['--report-dir', join(dir, 'reports'), '--json'],
      ],
      {
        cwd: REPO_ROOT,
        env: { PATH: `${dir}${delimiter}${process.env.PATH}`, NMIA_DRILL_CHROMIUM: chromium, NMIA_DRILL_INSTALL: 'never', NO_COLOR: '1' },
        reject: false,
        stdin: 'ignore',
        timeout: 300_000,
      },
    );
    result = { exitCode: run.exitCode, stdout: run.stdout, stderr: run.stderr };
    const { journal: path } = JSON.parse(run.stdout) as { journal: string };
    journal = JSON.parse(await readFile(path, 'utf8')) as Journal;
  }, 320_000);
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('exits 3 (the environment) with no finding the missing parts could have caused', () => {
    expect(result.exitCode, result.stderr.slice(-2000)).toBe(3);
    // The one finding left is the app's compose file fixing SECRET_KEY: read from the api container, true without a
    // browser or a directory. Nothing about the UI, the scan or the runbook.
    expect(journal.findings.map((finding) => `${finding.kind}: ${finding.title}`)).toEqual([
      expect.stringMatching(/^application: step 2's \.env never reaches the app: docker-compose\.yml sets SECRET_KEY/),
    ]);
    expect(result.stderr).not.toMatch(/^Runbook defects/m);
    expect(journal.procedures.map((record) => [record.id, record.outcome])).toEqual([['dr-recovery', 'error']]);
  });

  it('records the UI and connector-scan items as error, each naming its cause and fix; no check failed', () => {
    const rungs = journal.procedures[0]!.rungs;
    expect(rungs.filter((rung) => rung.outcome === 'failed')).toEqual([]);
    const item = (probe: string) => rungs.find((rung) => rung.evidence?.probe === probe);
    expect(item('ui-loads')).toMatchObject({ outcome: 'error' });
    expect(item('ui-loads')!.summary).toMatch(/Chromium .* is unavailable: .*chromium did not start.*\(fix: apt-get install .*chromium/);
    expect(item('connector-scan')).toMatchObject({ outcome: 'error' });
    expect(item('connector-scan')!.summary).toMatch(
      /the fixture LDAP directory \(slapd\) is unavailable: slapd would not start: .*Address already in use.*\(fix: .*apt-get install/,
    );
    // RTO cannot be called met or missed while items are unchecked.
    expect(rungs.find((rung) => rung.check.startsWith('RTO'))).toMatchObject({ outcome: 'error' });
    // Everything the recovery itself is responsible for still passed.
    expect(item('api-docs')).toMatchObject({ outcome: 'passed' });
    expect(rungs.find((rung) => rung.rung === 'content')).toMatchObject({ outcome: 'passed' });
  });
});
