import pg from 'pg';
import { LocalPostgresProvider } from '../postgres/local-postgres-provider.ts';
import type { PgBinaries } from '../postgres/pg-binaries.ts';
import type { StartedLocalPostgres } from '../postgres/started-local-postgres.ts';
import type { RestoreTarget } from './restore-target.ts';

/** verify-backup's default: a cluster of its own from the machine's binaries, removed whole at the end. */
export class ThrowawayClusterTarget implements RestoreTarget {
  readonly kind = 'local' as const;
  readonly reason = 'verify-backup restores into a throwaway local cluster';
  readonly restoredDb = 'nmia';
  readonly referenceDb = 'nmia_reference';
  readonly mayCreateRoles = true;

  private constructor(private readonly cluster: StartedLocalPostgres) {}

  static async start(binaries: PgBinaries): Promise<ThrowawayClusterTarget> {
    return new ThrowawayClusterTarget(await new LocalPostgresProvider({ binaries, superuser: 'nmia' }).start());
  }

  async serverVersion(): Promise<string> {
    return (await this.cluster.query<{ v: string }>(`SELECT current_setting('server_version') AS v`))[0]!.v;
  }

  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string): Promise<T[]> {
    return this.cluster.query<T>(sql);
  }

  async createRoles(roles: readonly string[]): Promise<void> {
    await this.cluster.query(roles.map((role) => `CREATE ROLE ${pgIdentifier(role)} NOLOGIN`).join('; '));
  }

  createDatabase(name: string): Promise<void> {
    return this.cluster.createDatabase(name);
  }

  connect(database: string): Promise<pg.Client> {
    return this.cluster.connect(database);
  }

  /** Its TCP listener on loopback, which trusts local connections (the cluster is the drill's own). */
  databaseUrl(database: string): string {
    return `postgresql://${encodeURIComponent(this.cluster.superuser)}@127.0.0.1:${this.cluster.port}/${encodeURIComponent(database)}`;
  }

  env(database: string): Record<string, string> {
    return this.cluster.env(database);
  }

  stop(): Promise<void> {
    return this.cluster.stop();
  }
}

function pgIdentifier(name: string): string {
  return pg.escapeIdentifier(name);
}
