import { readFileSync } from 'node:fs';
import { copyFile, mkdir, open, readFile, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canariesFor } from '../../nmia/seed/canaries.ts';
import type { Manifest } from '../verify/manifest.ts';
import { makeTestDumps, rungLines as rungs, TEST_SEED as SEED, type TestDumps } from '../../test-support/test-dumps.ts';
import { readManifestSidecar, sidecarPathFor, verifyBackup, writeManifestSidecar } from './verify-backup.ts';

let dumps: TestDumps;
let dir: string;
let reports: string;
let sourceManifest: Manifest;

beforeAll(async () => {
  dumps = await makeTestDumps({ altered: true, defective: true });
  ({ dir, reports, sourceManifest } = dumps);
}, 120_000);

afterAll(async () => {
  await dumps?.stop();
});

describe('verifyBackup never passes a defective backup', () => {
  it('fails a custom dump with bytes flipped in the middle: never passed', async () => {
    const file = join(dir, 'flipped.dump');
    await copyFile(dumps.custom, file);
    const { size } = await stat(file);
    const handle = await open(file, 'r+');
    try {
      const middle = Math.floor(size / 2);
      const bytes = Buffer.alloc(64);
      await handle.read(bytes, 0, 64, middle);
      for (let i = 0; i < bytes.length; i++) bytes[i] = bytes[i]! ^ 0xff;
      await handle.write(bytes, 0, 64, middle);
    } finally {
      await handle.close();
    }
    const { journal } = await verifyBackup({ file, reportRoot: reports });
    expect(journal.outcome).toBe('failed');
    expect(rungs(journal, 'passed').some((rung) => rung.startsWith('restorability'))).toBe(false);
    expect(rungs(journal, 'failed').join('\n')).toMatch(
      /artifact: .*reading the data blocks failed .*(could not uncompress|incorrect data check|invalid|corrupt|could not read)/i,
    );
    expect(journal.findings.length).toBeGreaterThan(0);
  });

  it('fails restorability for a plain dump with an error part-way (a bad COPY row), and keeps the row’s secrets out of the evidence', async () => {
    const text = await readFile(dumps.plain, 'utf8');
    const lines = text.split('\n');
    const copy = lines.findIndex((line) => line.startsWith('COPY public.connector_instances '));
    expect(copy).toBeGreaterThan(0);
    // One extra field on the first connector row: psql stops there, and its CONTEXT line would quote the row.
    lines[copy + 1] = `${lines[copy + 1]}\tjunk`;
    expect(lines[copy + 1]).toMatch(/CANARY-bind/);
    const file = join(dir, 'bad-row.sql');
    await writeFile(file, lines.join('\n'));
    const { journal, files } = await verifyBackup({ file, reportRoot: reports });
    expect(journal.outcome).toBe('failed');
    const artifact = journal.procedures[0]!.rungs.find((rung) => rung.rung === 'artifact');
    expect(artifact?.outcome).toBe('passed');
    expect(rungs(journal, 'failed').join('\n')).toMatch(
      /restorability: psql -v ON_ERROR_STOP=1 .* exit 3: .*ERROR: {2}extra data after last expected column/,
    );
    expect(rungs(journal, 'not-run')).toEqual([expect.stringMatching(/^structure/), expect.stringMatching(/^content/)]);
    const canary = canariesFor(SEED).bindPasswords[0]!;
    const bundle = await execa('grep', ['-rl', '--', canary.slice(0, 20), files.reportDir], { reject: false });
    expect(bundle.stdout).toBe('');
    expect(readFileSync(join(files.reportDir, 'procedures', 'alone-verify-backup', 'restore.stderr'), 'utf8')).toMatch(
      /COPY connector_instances, line 1: \[row data withheld\]/,
    );
  });

  it('fails content when the sidecar disagrees with the restored data (one table’s hash edited), naming the table', async () => {
    const file = join(dir, 'sidecar-mismatch', 'nmia.dump');
    await mkdir(join(dir, 'sidecar-mismatch'), { recursive: true });
    await copyFile(dumps.custom, file);
    const path = await writeManifestSidecar(file, sourceManifest);
    const sidecar = JSON.parse(await readFile(path, 'utf8')) as { manifest: Manifest };
    sidecar.manifest.tables['public.enclaves']!.hash = '0'.repeat(32);
    await writeFile(path, JSON.stringify(sidecar));
    expect((await readManifestSidecar(sidecarPathFor(file))).ok).toBe(true);
    const { journal } = await verifyBackup({ file, reportRoot: reports });
    expect(journal.outcome).toBe('failed');
    expect(rungs(journal, 'failed')).toEqual([
      expect.stringMatching(
        /^content: matches the manifest sidecar .* — 1 difference\(s\) from the sidecar: enclaves: content hash differs/,
      ),
    ]);
  });

  it('fails structure for a dump missing a table and a column of the real schema, naming both; an extra grant is reported apart', async () => {
    const { journal } = await verifyBackup({ file: dumps.altered!, reportRoot: reports });
    expect(journal.outcome).toBe('failed');
    const failed = rungs(journal, 'failed');
    expect(failed[0]).toMatch(
      /^structure: the restored schema is the expected schema \(nmia\/schema\/schema\.sql\) — \d+ schema object\(s\) differ: /,
    );
    expect(failed[0]).toMatch(/column public\.identities\.linked_system: missing/);
    expect(failed[0]).toMatch(/table public\.audit_logs: missing/);
    expect(failed[1]).toMatch(
      // The missing table's owner grant goes with it; the extra grant is named.
      /^structure: privileges \(GRANTs\) are those of the expected schema — 2 privilege entries differ: grant table public\.identities to nmia_reporting: unexpected \(SELECT\)$/,
    );
    // The audit_logs rows are gone with the table, so the content rung that counts on them is not what fails here.
    expect(failed.filter((rung) => rung.startsWith('structure'))).toHaveLength(2);
    expect(journal.procedures[0]!.harnessActions.map((action) => action.command)).toContain('CREATE ROLE "nmia_reporting" NOLOGIN');
    expect(rungs(journal, 'passed')).toContainEqual(
      expect.stringMatching(/^restorability: pg_restore --exit-on-error exits 0 with no error lines/),
    );
    expect(journal.findings[0]).toMatchObject({ severity: 'critical', procedure: 'verify-backup' });
  });

  it('fails each content check on a dump that restores cleanly but carries orphans and an empty core table', async () => {
    const { journal } = await verifyBackup({ file: dumps.defective!, reportRoot: reports });
    expect(journal.outcome).toBe('failed');
    const content = rungs(journal, 'failed').filter((rung) => rung.startsWith('content'));
    expect(content).toEqual([
      expect.stringMatching(
        /^content: core tables hold rows .* — connector_instances is empty \(identities 300, connector_instances 0, users \d+, enclaves \d+\)$/,
      ),
      expect.stringMatching(
        /^content: every foreign key holds .* — .*public\.findings: \d+ orphan row\(s\) for findings_connector_instance_id_fkey.*public\.jobs: \d+ orphan row\(s\) for jobs_connector_instance_id_fkey/,
      ),
    ]);
    expect(rungs(journal, 'passed')).toContainEqual(expect.stringMatching(/^restorability/));
  });
});
