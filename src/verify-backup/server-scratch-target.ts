import { spawnSync } from 'node:child_process';
import type pg from 'pg';
import { DrillError, EnvironmentError } from '../errors/drill-error.ts';
import { cleanupRegistry, type CleanupHandle } from '../lifecycle/cleanup-registry.ts';
import type { PgBinaries } from '../postgres/pg-binaries.ts';
import { connectPg } from '../postgres/pg-connect.ts';
import { markStatement, ownershipMarker, refuseDatabase, sqlIdentifier, sqlLiteral } from '../safety/ownership-marker.ts';
import { assertClientsFitServer } from '../drill/client-version-guard.ts';
import type { RestoreTarget } from './restore-target.ts';
import type { TargetUrl } from './target-url.ts';

/**
 * verify-backup against an existing server (`--target-url`): the drill restores only into scratch
 * databases it names (`nmia_drill_<id>`, `nmia_drill_<id>_ref`), creates and marks itself, and drops
 * at the end — also on Ctrl-C. Any other database, the URL's own included, is refused; no role or
 * other cluster-wide object is created.
 */
export class ServerScratchTarget implements RestoreTarget {
  readonly kind = 'server' as const;
  readonly mayCreateRoles = false;
  readonly restoredDb: string;
  readonly referenceDb: string;
  private readonly created: string[] = [];
  /** Names whose CREATE this drill issued (each absent just before) but not yet marked: a Ctrl-C may land in between. */
  private readonly unmarked = new Set<string>();
  private creating: Promise<void> | undefined;
  private cleanup: CleanupHandle | undefined;

  private constructor(
    private readonly url: TargetUrl,
    private readonly drillId: string,
    private readonly binaries: PgBinaries,
  ) {
    this.restoredDb = `nmia_drill_${drillId}`;
    this.referenceDb = `nmia_drill_${drillId}_ref`;
  }

  get reason(): string {
    return `verify-backup --target-url: scratch databases ${this.restoredDb} and ${this.referenceDb} on the existing server ${this.url.describe()}, created, marked (${ownershipMarker(this.drillId)}) and dropped by the drill`;
  }

  /** Connects, and refuses a server the machine's client binaries are too old for (exit 3). */
  static async open(url: TargetUrl, drillId: string, binaries: PgBinaries): Promise<ServerScratchTarget> {
    const target = new ServerScratchTarget(url, drillId, binaries);
    let version: string;
    try {
      version = await target.serverVersion();
    } catch (error) {
      throw new EnvironmentError(`cannot connect to the --target-url server ${url.describe()}: ${(error as Error).message}`, {
        fix: 'check the URL, that the server accepts this user from this host, and the password (PGPASSWORD or ~/.pgpass)',
        cause: error,
      });
    }
    assertClientsFitServer(binaries, version);
    return target;
  }

  databaseUrl(database: string): string {
    return this.url.clientConfig(database).connectionString;
  }

  async serverVersion(): Promise<string> {
    return (await this.query<{ v: string }>(`SELECT current_setting('server_version') AS v`))[0]!.v;
  }

  async query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string): Promise<T[]> {
    const client = await connectPg({ ...this.url.clientConfig(this.url.database), connectionTimeoutMillis: 10_000 });
    try {
      return (await client.query<T>(sql)).rows;
    } finally {
      await client.end();
    }
  }

  async createRoles(): Promise<void> {
    throw new DrillError(
      'nmia-drill: refusing to create roles on the --target-url server: roles are cluster-wide, and a drill changes nothing it does not own',
      {
        fix: 'create the roles the dump refers to on that server yourself, or verify without --target-url (a throwaway cluster)',
      },
    );
  }

  async createDatabase(name: string): Promise<void> {
    this.assertScratch(name, 'create');
    const [row] = await this.query<{ comment: string | null }>(
      `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = ${sqlLiteral(name)}`,
    );
    if (row) {
      if (row.comment !== ownershipMarker(this.drillId)) {
        throw new DrillError(
          refuseDatabase('restore into', name, this.drillId, "it already exists and does not carry this drill's ownership marker"),
          {
            fix: 'drop or rename it yourself if it is a leftover of an earlier drill; otherwise run again (every drill picks a new id)',
          },
        );
      }
      await this.dropOwned(name);
    }
    this.cleanup ??= cleanupRegistry.register(
      `scratch databases on ${this.url.describe()}`,
      () => this.dropAll(),
      () => this.dropAllSync(),
    );
    // Listed first, so a Ctrl-C during CREATE still finds it (it is dropped only once it carries the marker).
    this.created.push(name);
    this.unmarked.add(name);
    this.creating = (async () => {
      await this.query(`CREATE DATABASE ${sqlIdentifier(name)} TEMPLATE template0`);
      await this.query(markStatement(name, this.drillId));
      this.unmarked.delete(name);
    })();
    await this.creating;
  }

  async connect(database: string): Promise<pg.Client> {
    this.assertScratch(database, 'connect to');
    return connectPg({ ...this.url.clientConfig(database), connectionTimeoutMillis: 10_000 });
  }

  env(database: string): Record<string, string> {
    this.assertScratch(database, 'restore into');
    return this.url.env(database);
  }

  async stop(): Promise<void> {
    await this.cleanup?.run();
  }

  /** The only databases this target ever writes to; everything else is refused before any SQL runs. */
  private assertScratch(database: string, action: string): void {
    if (database === this.restoredDb || database === this.referenceDb) return;
    throw new DrillError(
      refuseDatabase(
        action,
        database,
        this.drillId,
        `it is not one of the scratch databases this drill names and creates (${this.restoredDb}, ${this.referenceDb})`,
      ),
      {
        fix: 'verify-backup --target-url restores only into its own scratch databases; nothing else on that server is touched',
      },
    );
  }

  private async dropAll(): Promise<void> {
    // A Ctrl-C during CREATE DATABASE: the server finishes it after we ask, so wait for it before looking.
    await this.creating?.catch(() => undefined);
    const failures: string[] = [];
    for (const name of this.created.splice(0)) {
      try {
        await this.dropOwned(name, this.unmarked.has(name));
      } catch (error) {
        failures.push(`${name}: ${(error as Error).message}`);
      }
    }
    if (failures.length > 0) throw new Error(`scratch databases left on ${this.url.describe()}: ${failures.join('; ')}`);
  }

  /**
   * Drops a scratch database only while it carries this drill's marker: checked in the same session, right
   * before. `createdUnmarked`: this drill's CREATE ran for a name that was absent, and the marking did not
   * follow (interrupted); then a database with no comment at all is the one it created.
   */
  private async dropOwned(name: string, createdUnmarked = false): Promise<void> {
    const client = await connectPg({ ...this.url.clientConfig(this.url.database), connectionTimeoutMillis: 10_000 });
    try {
      const { rows } = await client.query<{ comment: string | null }>(
        `SELECT shobj_description(oid, 'pg_database') AS comment FROM pg_database WHERE datname = $1`,
        [name],
      );
      if (rows.length === 0) return;
      const comment = rows[0]!.comment;
      if (comment !== ownershipMarker(this.drillId) && !(createdUnmarked && comment === null))
        throw new Error(refuseDatabase('drop', name, this.drillId));
      await client.query('SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = $1 AND pid <> pg_backend_pid()', [name]);
      await client.query(`DROP DATABASE ${sqlIdentifier(name)} WITH (FORCE)`);
    } finally {
      await client.end();
    }
  }

  /** At process exit nothing can be awaited: psql checks the marker and drops in one script. */
  private dropAllSync(): void {
    for (const name of this.created.splice(0)) {
      const script = [
        `SELECT coalesce((SELECT shobj_description(oid, 'pg_database') = ${sqlLiteral(ownershipMarker(this.drillId))} FROM pg_database WHERE datname = ${sqlLiteral(name)}), false) AS owned \\gset`,
        '\\if :owned',
        `SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = ${sqlLiteral(name)};`,
        `DROP DATABASE ${sqlIdentifier(name)} WITH (FORCE);`,
        '\\endif',
      ].join('\n');
      spawnSync(this.binaries.path('psql'), ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', this.url.database], {
        input: `${script}\n`,
        env: { ...this.url.env(this.url.database), PATH: process.env.PATH ?? '' },
        stdio: ['pipe', 'ignore', 'ignore'],
        timeout: 20_000,
      });
    }
  }
}
