import { readFileSync } from 'node:fs';
import { findPgBinaries } from '../../postgres/pg-binaries.ts';
import { PostgresRuntime } from './postgres-runtime.ts';

/** What the detached entrypoint of an emulated postgres container needs; written by the engine next to the container. */
export interface PostgresEntrypointSpec {
  binDir: string;
  uid?: number;
  gid?: number;
  dataDir: string;
  socketDir: string;
  port: number;
  logFile: string;
  environment: Record<string, string>;
}

export const ENTRYPOINT_FLAG = '--nmia-drill-entrypoint';

/**
 * The emulated postgres container's main process. As with Docker, `compose up -d`/`start` return
 * once it runs, not once PostgreSQL accepts connections: initialisation and start-up happen here,
 * in a process of their own, while the operator's next command may already run.
 */
export async function runPostgresEntrypoint(specFile: string): Promise<number> {
  const spec = JSON.parse(readFileSync(specFile, 'utf8')) as PostgresEntrypointSpec;
  const binaries = findPgBinaries({ env: { ...process.env, PG_BINDIR: spec.binDir } });
  const identity = spec.uid === undefined ? undefined : { uid: spec.uid, gid: spec.gid ?? spec.uid, user: 'postgres' };
  const result = await new PostgresRuntime(binaries, identity).start(spec);
  return result.ok ? 0 : 1;
}
