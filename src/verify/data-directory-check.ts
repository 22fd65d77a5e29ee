import { mkdtemp, rm } from 'node:fs/promises';
import { chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { connectPg } from '../postgres/pg-connect.ts';
import { freePort } from '../postgres/free-port.ts';
import type { PgBinaries } from '../postgres/pg-binaries.ts';
import { PgCluster } from '../postgres/pg-cluster.ts';
import { serverIdentity } from '../postgres/server-identity.ts';
import { takeManifest, type Manifest } from './manifest.ts';

/** Files without which an archive is not a PostgreSQL data directory at all. */
export const REQUIRED_DATA_FILES = ['./PG_VERSION', './global/pg_control', './base/'];

export async function listArchive(archive: string): Promise<string[]> {
  const { stdout } = await execa('tar', ['-tzf', archive]);
  return stdout.split('\n').filter(Boolean);
}

export function missingDataFiles(entries: string[]): string[] {
  const names = new Set(entries.map((entry) => (entry.startsWith('./') ? entry : `./${entry}`)));
  return REQUIRED_DATA_FILES.filter((required) => !names.has(required) && !names.has(required.replace(/\/$/, '')));
}

/**
 * Proves a volume archive restores: extracts it into a private directory, starts a throwaway server
 * on it and takes the manifest of `database`. Always removes what it made.
 */
export async function manifestOfDataArchive(
  archive: string,
  binaries: PgBinaries,
  database = 'nmia',
  user = 'nmia',
): Promise<{ ok: true; manifest: Manifest } | { ok: false; reason: string }> {
  const root = await mkdtemp(join(tmpdir(), 'nmia-drill-volume-check-'));
  chmodSync(root, 0o755);
  const identity = serverIdentity();
  const cluster = new PgCluster(join(root, 'data'), binaries, identity);
  try {
    await cluster.ensureOwnedDir(cluster.dataDir);
    await execa('tar', ['-xzf', archive, '-C', cluster.dataDir]);
    if (identity) await execa('chown', ['-R', `${identity.uid}:${identity.gid}`, cluster.dataDir]);
    chmodSync(cluster.dataDir, 0o700);
    await execa('rm', ['-f', join(cluster.dataDir, 'postmaster.pid')]);
    const socketDir = join(root, 'socket');
    await cluster.ensureOwnedDir(join(root, 'log'));
    const port = await freePort();
    await cluster.start({ port, socketDir, logFile: join(root, 'log', 'server.log') });
    const client = await connectPg({ host: socketDir, port, user, database });
    try {
      return { ok: true, manifest: await takeManifest(client) };
    } finally {
      await client.end();
    }
  } catch (error) {
    return { ok: false, reason: (error as Error).message.split('\n')[0] ?? 'unknown error' };
  } finally {
    await cluster.stop('immediate').catch(() => undefined);
    await rm(root, { recursive: true, force: true });
  }
}
