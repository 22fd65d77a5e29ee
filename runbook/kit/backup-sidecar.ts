import { stat } from 'node:fs/promises';
import { basename } from 'node:path';
import { writeManifestSidecar } from '../../src/verify-backup/manifest-sidecar.ts';
import type { Manifest } from '../../src/verify/manifest.ts';
import { sha256File } from '../../src/verify/artifact-check.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';

/**
 * Writes `<dump>.manifest.json` next to a backup the drill made or kept (the backup window's manifests),
 * so `nmia-drill verify-backup <dump>` later checks that file against what the database held, not just
 * against itself. Recorded as an artifact of the procedure; the database is not touched.
 */
export async function writeBackupSidecar(
  context: ProcedureContext,
  dumpPath: string,
  window: { before: Manifest; after: Manifest },
): Promise<string> {
  const path = await writeManifestSidecar(dumpPath, window);
  const [info, sha256] = await Promise.all([stat(path), sha256File(path)]);
  context.evidence.artifact({
    name: `manifest sidecar of ${basename(dumpPath)}`,
    path: context.relativeToProject(path),
    bytes: info.size,
    sha256,
    format: 'manifest sidecar (json)',
    readable: true,
    detail: `${Object.keys(window.before.tables).length} tables, ${Object.keys(window.before.sequences).length} sequences and the schema of the backup window; verify-backup compares a restore of ${basename(dumpPath)} with it`,
    producedBy: context.procedure.id,
  });
  return path;
}
