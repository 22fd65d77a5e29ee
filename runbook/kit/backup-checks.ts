import { basename } from 'node:path';
import type { ArtifactEvidence } from '../../src/verify/artifact-check.ts';
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
  /** `sidecar`: a full dump (never a schema-only one) gets `<file>.manifest.json` describing the backup window. */
  options: { pattern: RegExp; artifactName: string; format: ArtifactEvidence['format']; dir?: string; sidecar?: boolean },
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
  const args =
    format === 'custom'
      ? ['--no-owner', '--exit-on-error', '-d', database, dumpPath]
      : ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', database, '-f', dumpPath];
  const binary = format === 'custom' ? 'pg_restore' : 'psql';
  const result = await context.harnessAction(
    `check: restore ${basename(dumpPath)} into a scratch database`,
    `${binary} ${args.join(' ')}`,
    () => context.pgClient(binary, args, database),
  );
  return { database, ok: result.exitCode === 0, stderr: result.stderr };
}
