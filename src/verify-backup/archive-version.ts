/**
 * A custom-format dump written by a newer pg_dump than the local pg_restore: pg_restore refuses its
 * header ("unsupported version (1.15) in file header") before reading anything. That says nothing about
 * the backup, only about this machine's client, so it is an environment error with the fix, not a verdict.
 *
 * The header (pg_backup_archiver.c, WriteHead/ReadHead): the 5 bytes "PGDMP", then one byte each for the
 * archive version's major, minor and revision (K_VERS_MAJOR/MINOR/REV), then int size, offset size, format.
 */
import { open } from 'node:fs/promises';
import { basename } from 'node:path';
import { EnvironmentError } from '../errors/drill-error.ts';
import { binaryVersion, type PgBinaries } from '../postgres/pg-binaries.ts';

export interface ArchiveVersion {
  major: number;
  minor: number;
  rev: number;
}

/** Offset of the version bytes in a custom-format header: right after the "PGDMP" magic. */
export const ARCHIVE_VERSION_OFFSET = 5;

/** The first PostgreSQL major whose pg_dump writes each archive version (pg_backup_archiver.h, K_VERS_1_x). */
const FIRST_WRITER: Record<string, number> = { '1.14': 12, '1.15': 16, '1.16': 17 };

/** The archive version in a custom-format dump's header, or undefined when the file does not start with PGDMP. */
export async function readArchiveVersion(file: string): Promise<ArchiveVersion | undefined> {
  const handle = await open(file, 'r');
  try {
    const head = Buffer.alloc(ARCHIVE_VERSION_OFFSET + 3);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    if (bytesRead < head.length || head.subarray(0, 5).toString('latin1') !== 'PGDMP') return undefined;
    return { major: head[5]!, minor: head[6]!, rev: head[7]! };
  } finally {
    await handle.close();
  }
}

/**
 * When pg_restore refused the file's header as too new (its own message, in the artifact check's detail),
 * the one-line cause and the fix: install the client of the PostgreSQL that wrote the dump.
 */
export async function newerArchiveError(file: string, artifactDetail: string, binaries: PgBinaries): Promise<EnvironmentError | undefined> {
  const refused = /pg_restore: error: unsupported version \((\d+)\.(\d+)\) in file header/.exec(artifactDetail);
  if (!refused) return undefined;
  const header = await readArchiveVersion(file);
  // Older than anything pg_restore reads (before 1.0) is a damaged file, not a newer client's.
  if (!header || header.major < 1) return undefined;
  const version = `${refused[1]}.${refused[2]}`;
  const writer = FIRST_WRITER[version];
  const client = binaryVersion(binaries, 'pg_restore');
  const local = client.split('.')[0];
  const written = writer ? `pg_dump of PostgreSQL ${writer} or later wrote it` : `a pg_dump newer than PostgreSQL ${local} wrote it`;
  const clients = writer
    ? `PostgreSQL ${writer} (or newer) client binaries`
    : `the client binaries of the PostgreSQL that made the dump (newer than ${local})`;
  return new EnvironmentError(
    `${basename(file)} is a custom-format archive of version ${version}, newer than pg_restore ${client} (${binaries.path('pg_restore')}) reads ("${refused[0]}"): ${written}; the backup itself is unchecked`,
    {
      fix: `install ${clients} and point PG_BINDIR at their bin directory${writer ? ` (Debian: /usr/lib/postgresql/${writer}/bin)` : ''}, then run verify-backup again`,
    },
  );
}
