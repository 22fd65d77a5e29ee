import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Procedure } from '../src/drill/procedure.ts';
import { sidecarPathFor, type ManifestSidecar } from '../src/verify-backup/manifest-sidecar.ts';
import { rungLines } from '../test-support/test-dumps.ts';
import { verifyBackup } from '../src/verify-backup/verify-backup.ts';
import { PROCEDURES } from '../runbook/registry.ts';
import { canariesFor } from '../nmia/seed/canaries.ts';
import { DEFAULT_SEED } from '../src/drill/drill-options.ts';
import { CORRECTED_RUNBOOK, drill, procedure } from './support/drill-harness.ts';

/**
 * The drill's own backups carry manifest sidecars: the runbook's full backup (kept as evidence) and the
 * harness's dump (restore-sql run without a SQL backup before it). Each file with its sidecar is then
 * checked by verify-backup, as an operator would check a backup taken by a drill.
 */
let kept: string;
/** The drill's backup passphrase (its backups are encrypted as the corrected runbook writes them), as an operator keeps it. */
let passphraseFile: string;
const files: Record<string, string> = {};
let cleanupDrill: (() => Promise<void>) | undefined;

/** After a procedure's own checks, copies its dump and the sidecar next to it out of the drill workspace (removed when the drill ends). */
function keeping(original: Procedure, artifact: string): Procedure {
  return {
    ...original,
    async verify(context) {
      await original.verify(context);
      const dump = context.artifact(artifact)!.path;
      files[original.id] = join(kept, basename(dump));
      await copyFile(dump, files[original.id]!);
      if (existsSync(sidecarPathFor(dump))) await copyFile(sidecarPathFor(dump), sidecarPathFor(files[original.id]!));
    },
  };
}

beforeAll(async () => {
  kept = await mkdtemp(join(tmpdir(), 'nmia-drill-sidecars-'));
  passphraseFile = join(kept, 'backup.passphrase');
  await writeFile(passphraseFile, `${canariesFor(DEFAULT_SEED).backupPassphrase}\n`, { mode: 0o600 });
  const procedures = PROCEDURES.map((candidate) =>
    candidate.id === 'full-backup'
      ? keeping(candidate, 'custom-dump')
      : candidate.id === 'restore-sql'
        ? keeping(candidate, 'plain-dump')
        : candidate,
  );
  const result = await drill({ runbookPath: CORRECTED_RUNBOOK, only: ['full-backup', 'restore-sql'], procedures });
  cleanupDrill = result.cleanup;
  expect(procedure(result.journal, 'full-backup').outcome).toBe('passed');
  expect(procedure(result.journal, 'restore-sql').outcome).toBe('passed');
  // The sidecar is part of the procedure's evidence.
  expect(procedure(result.journal, 'full-backup').artifacts.map((artifact) => artifact.name)).toEqual([
    'custom-dump',
    expect.stringMatching(/^manifest sidecar of nmia_backup_\d{8}_\d{6}\.dump\.gpg$/),
  ]);
  expect(procedure(result.journal, 'restore-sql').artifacts.map((artifact) => artifact.name)).toContainEqual(
    expect.stringMatching(/^manifest sidecar of harness_backup_\d+\.sql(\.gpg)?$/),
  );
}, 300_000);

afterAll(async () => {
  await cleanupDrill?.();
  if (kept) await rm(kept, { recursive: true, force: true });
});

describe('a drill’s backups carry manifest sidecars that verify-backup checks against', () => {
  for (const [id, made] of [
    ['full-backup', 'the runbook’s full backup'],
    ['restore-sql', 'the harness’s SQL dump'],
  ] as const) {
    it(`${made}: verify-backup passes the sidecar checks (file sha256, content, schema)`, async () => {
      const file = files[id]!;
      expect(existsSync(sidecarPathFor(file)), `${basename(file)} has a sidecar`).toBe(true);
      const { journal } = await verifyBackup({ file, reportRoot: join(kept, 'reports'), passphraseFile });
      expect(rungLines(journal, 'failed')).toEqual([]);
      expect(journal.outcome).toBe('passed');
      expect(rungLines(journal, 'passed')).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^artifact: the file is the one its manifest sidecar describes \(sha256\)/),
          expect.stringMatching(
            /^content: matches the manifest sidecar written at backup time .* — counts, content hashes and sequences match: \d+ tables exact/,
          ),
          expect.stringMatching(/^structure: the schema matches the manifest sidecar/),
        ]),
      );
    }, 120_000);
  }

  it('a sidecar edited after the backup (one table’s hash) fails the content rung, naming the table', async () => {
    const file = join(kept, `edited-${basename(files['full-backup']!)}`);
    await copyFile(files['full-backup']!, file);
    const sidecar = JSON.parse(await readFile(sidecarPathFor(files['full-backup']!), 'utf8')) as ManifestSidecar;
    // Both ends of the backup window: edited on one end only, the table would pass as written during the backup.
    for (const manifest of [sidecar.manifest, sidecar.after]) manifest!.tables['public.enclaves']!.hash = '0'.repeat(32);
    await writeFile(sidecarPathFor(file), JSON.stringify(sidecar));
    const { journal } = await verifyBackup({ file, reportRoot: join(kept, 'reports'), passphraseFile });
    expect(journal.outcome).toBe('failed');
    expect(sidecar.after, 'the drill’s sidecar holds the backup window').toBeDefined();
    expect(rungLines(journal, 'failed')).toEqual([
      expect.stringMatching(
        /^content: matches the manifest sidecar .* — 1 difference\(s\) from the sidecar: public\.enclaves: content hash differs/,
      ),
    ]);
  }, 120_000);
});
