import { createHash } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { chmod, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { cleanupRegistry } from '../../lifecycle/cleanup-registry.ts';
import { freePort } from '../../postgres/free-port.ts';
import type { PgBinaries } from '../../postgres/pg-binaries.ts';
import { PgCluster } from '../../postgres/pg-cluster.ts';
import type { ServerIdentity } from '../../postgres/server-identity.ts';

/** An initialised data directory and the environment it was made for (a hash: the password stays out of the state file). */
export interface ClusterTemplateRef {
  dir: string;
  key: string;
}

/** What the official image's first start makes of POSTGRES_USER/PASSWORD/DB, as one key. */
export function templateKey(environment: Record<string, string>): string {
  const user = environment.POSTGRES_USER || 'postgres';
  return createHash('sha256')
    .update([user, environment.POSTGRES_PASSWORD ?? '', environment.POSTGRES_DB || user].join('\0'))
    .digest('hex');
}

const templates = new Map<string, Promise<ClusterTemplateRef | undefined>>();

/**
 * A data directory as the official image's first start leaves it (initdb, then POSTGRES_DB created), made once
 * per process and copied into every fresh volume of the emulated db: a drill starts an environment per procedure
 * alone, and initdb costs about a second of CPU each time. Removed by the cleanup registry; a removed one is made
 * again. Undefined when it cannot be made: the entrypoint then runs initdb itself, as before.
 */
export function clusterTemplate(
  binaries: PgBinaries,
  identity: ServerIdentity | undefined,
  environment: Record<string, string>,
): Promise<ClusterTemplateRef | undefined> {
  const key = templateKey(environment);
  const id = `${binaries.binDir}\0${identity?.uid ?? ''}\0${key}`;
  const known = templates.get(id);
  if (known) {
    return known.then((ref) => {
      // One that could not be made is not tried again in this process; one removed since is made again.
      if (!ref || existsSync(join(ref.dir, 'PG_VERSION'))) return ref;
      templates.delete(id);
      return clusterTemplate(binaries, identity, environment);
    });
  }
  const made = makeTemplate(binaries, identity, environment, key).catch(() => undefined);
  templates.set(id, made);
  return made;
}

async function makeTemplate(
  binaries: PgBinaries,
  identity: ServerIdentity | undefined,
  environment: Record<string, string>,
  key: string,
): Promise<ClusterTemplateRef | undefined> {
  const password = environment.POSTGRES_PASSWORD;
  if (!password) return undefined;
  const root = await mkdtemp(join(tmpdir(), 'nmia-drill-pgtemplate-'));
  const cleanup = cleanupRegistry.register(
    `postgres data template ${root}`,
    () => rm(root, { recursive: true, force: true }),
    () => rmSync(root, { recursive: true, force: true }),
  );
  try {
    // The server's own user must reach the data directory inside.
    await chmod(root, 0o755);
    const dir = join(root, 'data');
    const cluster = new PgCluster(dir, binaries, identity);
    const user = environment.POSTGRES_USER || 'postgres';
    await cluster.init({ superuser: user, password });
    const socketDir = join(root, 'socket');
    const port = await freePort();
    // The log goes where the server's own user may write: its socket directory, made and owned for it by start().
    await cluster.start({ port, socketDir, logFile: join(socketDir, 'server.log') });
    try {
      const database = environment.POSTGRES_DB || user;
      if (database !== 'postgres') await execa(binaries.path('createdb'), ['-h', socketDir, '-p', String(port), '-U', user, database]);
    } finally {
      await cluster.stop('fast');
    }
    await rm(socketDir, { recursive: true, force: true });
    return { dir, key };
  } catch (error) {
    await cleanup.run();
    throw error;
  }
}
