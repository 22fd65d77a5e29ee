/**
 * A manifest sidecar: `<dump>.manifest.json` next to a backup, describing what the backed-up database
 * held (counts, content hashes, sequences, schema) and which file it describes (sha256). verify-backup
 * compares a restore of the file with it; without a sidecar it can only check the dump against itself.
 */
import { readFile, stat, writeFile } from 'node:fs/promises';
import { basename } from 'node:path';
import { z } from 'zod';
import { sha256File } from '../verify/artifact-check.ts';
import { compareWithBackupWindow } from '../verify/backup-window.ts';
import { diffManifests, type ManifestDifference } from '../verify/manifest-diff.ts';
import type { Manifest } from '../verify/manifest.ts';
import { majorVersion } from './version-check.ts';

export const SIDECAR_VERSION = 1;
export const SIDECAR_SUFFIX = '.manifest.json';

export interface ManifestSidecar {
  sidecarVersion: typeof SIDECAR_VERSION;
  /** The dump's file name (not its path: the pair is moved around together). */
  file: string;
  bytes: number;
  sha256: string;
  writtenAt: string;
  /** The backed-up state; for a backup taken under writes, the state just before it. */
  manifest: Manifest;
  /** For a backup taken under writes: the state just after it (its snapshot lies in between). */
  after?: Manifest;
}

// Only the shape the comparison relies on; the manifest's own fields are trusted as written by takeManifest.
const ManifestShape = z.looseObject({
  manifestVersion: z.literal(1),
  serverVersion: z.string(),
  tables: z.record(z.string(), z.object({ rows: z.number(), hash: z.string() })),
  sequences: z.record(z.string(), z.looseObject({ lastValue: z.string().nullable(), isCalled: z.boolean() })),
  schema: z.object({ fingerprint: z.string(), objects: z.record(z.string(), z.string()) }),
});

const SidecarShape = z.object({
  sidecarVersion: z.literal(SIDECAR_VERSION),
  file: z.string(),
  bytes: z.number(),
  sha256: z.string(),
  writtenAt: z.string(),
  manifest: ManifestShape,
  after: ManifestShape.optional(),
});

export function sidecarPathFor(file: string): string {
  return `${file}${SIDECAR_SUFFIX}`;
}

/**
 * Writes `<file>.manifest.json` for a backup the caller just made. Pass the manifest of the backed-up
 * database, or the window ({ before, after }) when the application wrote while the backup ran.
 * Returns the sidecar's path.
 */
export async function writeManifestSidecar(file: string, manifest: Manifest | { before: Manifest; after: Manifest }): Promise<string> {
  const [info, sha256] = await Promise.all([stat(file), sha256File(file)]);
  const window = 'before' in manifest ? manifest : undefined;
  const sidecar: ManifestSidecar = {
    sidecarVersion: SIDECAR_VERSION,
    file: basename(file),
    bytes: info.size,
    sha256,
    writtenAt: new Date().toISOString(),
    manifest: window ? window.before : (manifest as Manifest),
    ...(window ? { after: window.after } : {}),
  };
  const path = sidecarPathFor(file);
  await writeFile(path, `${JSON.stringify(sidecar, null, 2)}\n`);
  return path;
}

export type SidecarRead = { ok: true; sidecar: ManifestSidecar } | { ok: false; reason: string };

/** Reads and shape-checks a sidecar; a broken one is a verdict (ok: false with the reason), not an exception. */
export async function readManifestSidecar(path: string): Promise<SidecarRead> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    return { ok: false, reason: `cannot read ${path}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}` };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    return { ok: false, reason: `${basename(path)} is not JSON: ${(error as Error).message}` };
  }
  const parsed = SidecarShape.safeParse(json);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    return {
      ok: false,
      reason: `${basename(path)} is not a manifest sidecar (version ${SIDECAR_VERSION}): ${issue ? `${issue.path.join('.')}: ${issue.message}` : 'bad shape'}`,
    };
  }
  return { ok: true, sidecar: parsed.data as unknown as ManifestSidecar };
}

export interface SidecarComparison {
  /** Table and sequence differences (against the window's bounds when the sidecar has one). */
  content: Array<{ message: string }>;
  /** Schema differences; empty and unchecked when the majors differ. */
  schema: ManifestDifference[];
  /** Hashes and catalog text compare only within one PostgreSQL major version. */
  sameMajor: boolean;
  /** What was compared, for the rung summary. */
  scope: string;
}

/** The restored database against the sidecar written at backup time. */
export function compareWithSidecar(sidecar: ManifestSidecar, restored: Manifest): SidecarComparison {
  const expected = sidecar.manifest;
  const sameMajor = majorVersion(expected.serverVersion) === majorVersion(restored.serverVersion);
  const differences = diffManifests(expected, restored);
  let content: Array<{ message: string }>;
  let scope: string;
  if (sidecar.after) {
    const window = compareWithBackupWindow(expected, sidecar.after, restored);
    content = window.problems;
    scope = `${window.exactTables.length} tables exact, ${window.liveTables.length} written during the backup held to its window`;
  } else {
    content = differences.filter((difference) => !('category' in difference));
    scope = `${Object.keys(expected.tables).length} tables, ${Object.keys(expected.sequences).length} sequences`;
  }
  if (!sameMajor) {
    content = content.filter((difference) => !/content hash/.test(difference.message));
    scope += `; sidecar from PostgreSQL ${expected.serverVersion}, restored on ${restored.serverVersion}: row counts only`;
  }
  return { content, schema: sameMajor ? differences.filter((difference) => 'category' in difference) : [], sameMajor, scope };
}
