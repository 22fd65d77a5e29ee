import { basename } from 'node:path';
import { lastLines } from '../../src/exec/error-lines.ts';
import type { ArtifactEvidence } from '../../src/verify/artifact-check.ts';
import { checkSecretsProtected } from './secrets-check.ts';
import { listFiles, newFiles } from './backup-files.ts';
import { writeBackupSidecar } from './backup-sidecar.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';

/** Remembers the backups directory before the blocks, so the file a block wrote can be found after. */
export function rememberBackups(context: ProcedureContext, dir = context.backupsDir): void {
  context.scratch.backupsBefore = listFiles(dir);
}

/**
 * Rung 1 for a backup section: exactly one new dated file, readable in its format. Registers it (with the
 * backup window) as `artifactName` for the sections that restore it.
 */
export async function checkNewBackup(
  context: ProcedureContext,
  /**
   * `sidecar`: a full dump (never a schema-only one) gets `<file>.manifest.json` describing the backup window.
   * `secretsFix`: the section's corrected, encrypting text, the fix when the secrets scan finds a canary in the file.
   */
  options: {
    pattern: RegExp;
    artifactName: string;
    format: 'custom' | 'plain';
    secretsFix: string;
    dir?: string;
    sidecar?: boolean;
  },
): Promise<{ path: string; evidence: ArtifactEvidence } | undefined> {
  const created = newFiles(options.dir ?? context.backupsDir, context.scratch.backupsBefore as Set<string>, options.pattern);
  if (created.length !== 1) {
    context.fail('artifact', `the block leaves one new ${options.pattern.source} file`, `found ${created.length}`, {
      files: created.map((file) => basename(file)),
    });
    return undefined;
  }
  const path = created[0]!;
  // The artifact is read while the window's closing manifest is still being taken.
  const evidence = await context.checkArtifact(options.artifactName, path, options.format);
  if (evidence.readable) await checkSecretsProtected(context, path, options.format, options.secretsFix);
  const window = await context.backupWindow();
  if (evidence.readable && window) {
    // A dump the drill keeps gets its manifest sidecar, so verify-backup can later check it against its source.
    if (options.sidecar) await writeBackupSidecar(context, path, window);
    context.produce({ name: options.artifactName, path, sha256: evidence.sha256, window });
  }
  return { path, evidence };
}

/** Restores a dump into a scratch database the harness owns, with errors made fatal; returns its name. */
export async function restoreIntoScratch(
  context: ProcedureContext,
  dumpPath: string,
  format: 'custom' | 'plain',
  purpose: string,
): Promise<{ database: string; ok: boolean; stderr: string }> {
  const database = await context.createScratchDatabase(purpose);
  // An encrypted backup is restored from its plaintext, decrypted with the drill's key.
  const readable = await context.readablePath(dumpPath);
  const purposeText = `check: restore ${basename(dumpPath)} into a scratch database`;
  if (format === 'custom') {
    const args = ['--no-owner', '--exit-on-error', '-d', database, readable];
    const result = await context.harnessAction(purposeText, `pg_restore ${args.join(' ')}`, () =>
      context.pgClient('pg_restore', args, database),
    );
    return { database, ok: result.exitCode === 0, stderr: result.stderr };
  }
  const replay = await context.harnessAction(
    purposeText,
    `psql -X -q -v ON_ERROR_STOP=1 -d ${database} < ${readable} (large dumps: each table's COPY in a pool of sessions, between pre- and post-data)`,
    () => context.replayPlainDump(readable, database),
  );
  if (replay.exitCode === 0 || replay.mode === 'serial') return { database, ok: replay.exitCode === 0, stderr: replay.stderr };
  // A failure of the split replay is never the verdict: the dump is replayed again as one session, into a fresh database.
  await context.dropScratchDatabase(database);
  return restoreSerially(context, dumpPath, readable, purpose);
}

async function restoreSerially(
  context: ProcedureContext,
  dumpPath: string,
  readable: string,
  purpose: string,
): Promise<{ database: string; ok: boolean; stderr: string }> {
  const database = await context.createScratchDatabase(purpose);
  const result = await context.harnessAction(
    `check: restore ${basename(dumpPath)} into a scratch database, in one session`,
    `psql -X -q -v ON_ERROR_STOP=1 -d ${database} -f ${readable}`,
    () => context.replayPlainDump(readable, database, { oneSession: true }),
  );
  return { database, ok: result.exitCode === 0, stderr: result.stderr };
}

/**
 * The completeness proof of a backup procedure, on its own: its artifact restored into a scratch database
 * the drill owns and held to the backup window's manifests (every table's rows and hash, sequences, schema).
 * A dump that silently leaves out a table's data fails here, in its own procedure, naming the table.
 */
export async function proveBackupComplete(
  context: ProcedureContext,
  dumpPath: string,
  format: 'custom' | 'plain',
  purpose: string,
): Promise<boolean> {
  const window = await context.backupWindow();
  if (!window) throw new Error(`${context.procedure.id}: a completeness proof needs the backup window (captureWindow)`);
  const started = Date.now();
  const scratch = await restoreIntoScratch(context, dumpPath, format, purpose);
  try {
    const check = 'the backup restores on its own into a scratch database';
    if (!scratch.ok) {
      context.fail('restorability', check, lastLines(scratch.stderr, 2, ' | '));
      return false;
    }
    context.pass('restorability', check, `${basename(dumpPath)} restored into ${scratch.database} with errors made fatal`);
    // No pg_amcheck here: the manifest's hashes already cover every row, and a fresh copy's pages say nothing
    // about the backup; the physical check runs on the databases the runbook's restores leave behind.
    return await context.verifyRestoredDatabase(scratch.database, window, { physical: false });
  } finally {
    // Its cost beside the backup blocks' own time (the bench's ratio; the HTML report shows both).
    context.evidence.timing('completenessProofMs', Date.now() - started);
    context.evidence.timing(
      'backupBlocksMs',
      context.evidence.blocks.reduce((sum, block) => sum + block.durationMs, 0),
    );
    await context.dropScratchDatabase(scratch.database);
  }
}
