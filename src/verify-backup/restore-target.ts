import type pg from 'pg';

/** Where verify-backup restores: a throwaway cluster of its own, or scratch databases on an existing server. */
export interface RestoreTarget {
  /** For the journal: what kind of target and why (never a password). */
  readonly kind: 'local' | 'server';
  readonly reason: string;
  /** The database the backup is restored into, and the one the NMIA reference schema is applied to. */
  readonly restoredDb: string;
  readonly referenceDb: string;
  /** A throwaway cluster may get the cluster-wide roles a dump refers to; a server the drill does not own may not. */
  readonly mayCreateRoles: boolean;
  serverVersion(): Promise<string>;
  /** Read-only questions about the server (roles, settings); never changes anything. */
  query<T extends pg.QueryResultRow = pg.QueryResultRow>(sql: string): Promise<T[]>;
  /** Cluster-wide roles a dump refers to (only when mayCreateRoles). */
  createRoles(roles: readonly string[]): Promise<void>;
  /** Creates (and marks) one of the two databases above. */
  createDatabase(name: string): Promise<void>;
  /** A connection to one of the two databases above. */
  connect(database: string): Promise<pg.Client>;
  /** A postgresql:// URL of one of the two databases, as a process on this host reaches it (it may hold a password). */
  databaseUrl(database: string): string;
  /** libpq environment for the client binaries, for one of the two databases above. */
  env(database: string): Record<string, string>;
  /** Drops what the target created, or the whole throwaway cluster. Safe to call twice. */
  stop(): Promise<void>;
}
