import type pg from 'pg';
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
import { DRILL_LABEL } from '../safety/ownership-marker.ts';
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
): Promise<ArchiveCheck> {
  const root = await mkdtemp(join(tmpdir(), 'nmia-drill-volume-check-'));
  chmodSync(root, 0o755);
  const identity = serverIdentity();
  const cluster = new PgCluster(join(root, 'data'), binaries, identity);
  return manifestOfServer(
    async () => {
      await cluster.ensureOwnedDir(cluster.dataDir);
      await execa('tar', ['-xzf', archive, '-C', cluster.dataDir]);
      if (identity) await execa('chown', ['-R', `${identity.uid}:${identity.gid}`, cluster.dataDir]);
      chmodSync(cluster.dataDir, 0o700);
      await execa('rm', ['-f', join(cluster.dataDir, 'postmaster.pid')]);
      const socketDir = join(root, 'socket');
      await cluster.ensureOwnedDir(join(root, 'log'));
      const port = await freePort();
      await cluster.start({ port, socketDir, logFile: join(root, 'log', 'server.log') });
      return { host: socketDir, port, user, database };
    },
    async () => {
      await cluster.stop('immediate').catch(() => undefined);
      await rm(root, { recursive: true, force: true });
    },
  );
}

type ArchiveCheck = { ok: true; manifest: Manifest } | { ok: false; reason: string };

/** Starts a server on an extracted archive (`start` gives where to reach it), takes its manifest, always cleans up. */
async function manifestOfServer(start: () => Promise<pg.ClientConfig>, cleanup: () => Promise<void>): Promise<ArchiveCheck> {
  try {
    const client = await connectPg(await start());
    try {
      return { ok: true, manifest: await takeManifest(client) };
    } finally {
      await client.end();
    }
  } catch (error) {
    return { ok: false, reason: (error as Error).message.split('\n')[0] ?? 'unknown error' };
  } finally {
    await cleanup();
  }
}

export interface ImageServerOptions {
  /** The db service's image: its server is the archive's major, newer than the host's. */
  image: string;
  drillId: string;
  /** Where the archive is extracted (a host directory the engine can bind-mount). */
  workDir: string;
  /** `docker <args>` on the stack's engine. */
  docker: (args: string[]) => Promise<{ exitCode: number; stdout: string; stderr: string }>;
  /** The data directory's own role and password (its pg_hba asks for one over TCP). */
  user: string;
  password: string;
  database?: string;
  readyTimeoutMs?: number;
}

/**
 * manifestOfDataArchive with the db image's own server: a container of that image started on the extracted
 * directory (its entrypoint starts an existing data directory as it is), reached on a loopback port. The
 * container carries the drill label, so a drill that dies before removing it still has it cleaned up.
 */
export async function manifestOfDataArchiveInImage(archive: string, options: ImageServerOptions): Promise<ArchiveCheck> {
  const root = await mkdtemp(join(options.workDir, 'volume-check-'));
  const dataDir = join(root, 'data');
  const name = `nmia-drill-${options.drillId}-volume-check`;
  const docker = async (args: string[]) => {
    const result = await options.docker(args);
    if (result.exitCode !== 0)
      throw new Error(`docker ${args[0]} (exit ${result.exitCode}): ${result.stderr.trim().split('\n').at(-1) ?? ''}`);
    return result.stdout.trim();
  };
  return manifestOfServer(
    async () => {
      await execa('mkdir', ['-p', dataDir]);
      await execa('tar', ['-xzf', archive, '-C', dataDir]);
      await rm(join(dataDir, 'postmaster.pid'), { force: true });
      await options.docker(['rm', '-f', name]);
      await docker(
        ['run', '-d', '--name', name, '--label', `${DRILL_LABEL}=${options.drillId}`, '-p', '127.0.0.1::5432'].concat([
          '-v',
          `${dataDir}:/var/lib/postgresql/data`,
          options.image,
        ]),
      );
      const database = options.database ?? 'nmia';
      const deadline = Date.now() + (options.readyTimeoutMs ?? 60_000);
      for (;;) {
        if (
          (await options.docker(['exec', name, 'pg_isready', '-q', '-h', '127.0.0.1', '-U', options.user, '-d', database])).exitCode === 0
        )
          break;
        // A server that cannot start on the directory exits at once: its log says why, no need to wait out the bound.
        const running = (await options.docker(['inspect', '-f', '{{.State.Running}}', name])).stdout.trim() === 'true';
        if (!running || Date.now() > deadline) {
          const logs = await options.docker(['logs', '--tail', '3', name]);
          throw new Error(
            `the ${options.image} server did not accept connections on the extracted archive${running ? ' in time' : ' (it exited)'}: ${`${logs.stdout}${logs.stderr}`.trim().split('\n').join(' | ')}`,
          );
        }
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
      const published = /:(\d+)\s*$/.exec(await docker(['port', name, '5432/tcp']))?.[1];
      return {
        host: '127.0.0.1',
        port: Number(published),
        user: options.user,
        password: options.password,
        database,
      };
    },
    async () => {
      await options.docker(['rm', '-f', '-v', name]).catch(() => undefined);
      // The image's server owns the files now: its uid may not be ours, so the image removes them.
      await rm(root, { recursive: true, force: true }).catch(() =>
        options
          .docker(['run', '--rm', '--entrypoint', 'rm', '-v', `${root}:/check`, options.image, '-rf', '/check/data'])
          .then(() => rm(root, { recursive: true, force: true })),
      );
    },
  );
}
