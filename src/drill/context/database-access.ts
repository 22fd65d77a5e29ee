import { execa } from 'execa';
import type pg from 'pg';
import type { PgBinaries } from '../../postgres/pg-binaries.ts';
import { replayPlainDump, type PlainReplayResult } from '../../postgres/plain-dump-replay.ts';
import { connectPg } from '../../postgres/pg-connect.ts';
import type { StartedStack } from '../../stacks/stack.ts';
import { takeManifest, type Manifest } from '../../verify/manifest.ts';
import { waitForDatabase } from '../drill-environment.ts';

/** The harness's own way into the db service: connections, manifests (kept in the journal), client binaries. */
export class DatabaseAccess {
  private windowClosing: Promise<{ before: Manifest; after: Manifest }> | undefined;

  constructor(
    private readonly stack: StartedStack,
    /** Keeps a manifest in the journal under this procedure's label. */
    private readonly keep: (label: string, manifest: Manifest) => void,
    private readonly step: (text: string) => void,
  ) {}

  /** The harness's own connection; a db service still starting (as after `up -d`) is waited for, within bounds. */
  async withDb<T>(use: (client: pg.Client) => Promise<T>, database = 'nmia'): Promise<T> {
    await waitForDatabase(this.stack, database, 60_000);
    const client = await connectPg({ ...this.stack.dbClientConfig(database), connectionTimeoutMillis: 10_000 });
    try {
      return await use(client);
    } finally {
      await client.end();
    }
  }

  async manifest(label: string, database = 'nmia'): Promise<Manifest> {
    this.step(`manifest of ${database}: ${label}`);
    const manifest = await this.withDb((client) => takeManifest(client), database);
    this.keep(label, manifest);
    return manifest;
  }

  /**
   * Closes a backup window: the "after" manifest is taken from now on while the procedure's checks read
   * the artifact (file work beside database work, on different cores). `backupWindow()` waits for it.
   */
  closeWindow(before: Manifest): void {
    const closing = this.manifest('just after the blocks').then((after) => ({ before, after }));
    // Awaited through backupWindow(); the runner awaits it too, so a failure is never unhandled.
    closing.catch(() => undefined);
    this.windowClosing = closing;
  }

  /** Manifests right before and after the blocks, for procedures that capture a backup window (undefined otherwise). */
  async backupWindow(): Promise<{ before: Manifest; after: Manifest } | undefined> {
    return this.windowClosing;
  }

  /** The harness's client binaries (the machine's PostgreSQL, or the db image's on the compose stack). */
  get binaries(): PgBinaries {
    return this.stack.binaries;
  }

  /** libpq environment for a client binary of the harness against one database of the db service. */
  clientEnv(database = 'nmia'): Record<string, string> {
    const config = this.stack.dbClientConfig(database);
    return {
      PGHOST: String(config.host),
      PGPORT: String(config.port),
      PGUSER: String(config.user),
      PGDATABASE: database,
      ...(config.password ? { PGPASSWORD: String(config.password) } : {}),
    };
  }

  /** Runs a client binary from the machine's PostgreSQL against the db service (harness-side checks). */
  async pgClient(binary: string, args: string[], database = 'nmia'): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const result = await execa(this.stack.binaries.path(binary), args, {
      env: this.clientEnv(database),
      reject: false,
      stdin: 'ignore',
    });
    return { exitCode: result.exitCode ?? 1, stdout: String(result.stdout), stderr: String(result.stderr) };
  }

  /**
   * Replays a plain dump into one database with errors made fatal: a large one with its tables' data loaded several
   * at a time, or always in one session (`oneSession`).
   */
  replayPlainDump(path: string, database: string, options: { oneSession?: boolean } = {}): Promise<PlainReplayResult> {
    return replayPlainDump(path, {
      psql: this.stack.binaries.path('psql'),
      env: this.clientEnv(database),
      parallelFromBytes: PARALLEL_REPLAY_FROM_BYTES,
      ...(options.oneSession ? { jobs: 1 } : {}),
    });
  }
}

/**
 * Below this a plain dump replays in one session. Measured side by side on 2 cores (bench section 6): 158 MiB took
 * 1.10× as long split over 2 sessions, 1.6 GiB 0.95×; more cores gain more, as `pg_restore -j` does.
 */
const PARALLEL_REPLAY_FROM_BYTES = 1024 * 1024 * 1024;
