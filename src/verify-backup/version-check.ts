/**
 * pg_dump refuses a server of a newer major version ("aborting because of server version mismatch"),
 * and an older pg_restore cannot read an archive a newer pg_dump wrote. Both surface mid-drill as a
 * failed block; checking first turns them into one line with the fix.
 */
import { binaryVersion, type PgBinaries } from '../postgres/pg-binaries.ts';

export interface VersionMismatch {
  binary: string;
  clientVersion: string;
  serverVersion: string;
  /** One line: what is wrong. */
  cause: string;
  /** One line: what to do. */
  fix: string;
  /** cause and fix together, for a finding or an error message. */
  message: string;
}

/** `15.18`, `17.2 (Debian 17.2-1)`, `150018`, `9.6.24` → the major version (9.6 → 9). */
export function majorVersion(version: string): number {
  const trimmed = version.trim();
  if (/^\d{5,6}$/.test(trimmed)) return Math.floor(Number(trimmed) / 10000);
  const match = /^(\d+)(?:\.(\d+))?/.exec(trimmed);
  if (!match) throw new Error(`not a PostgreSQL version: ${JSON.stringify(version)}`);
  return Number(match[1]);
}

/**
 * Returns a mismatch when a client binary the drill runs against the server (pg_dump first, then
 * pg_restore and psql) is of an older major version than the server; undefined when they fit.
 * A newer client is fine: pg_dump supports older servers.
 */
export function checkClientServerVersions(
  binaries: PgBinaries,
  serverVersion: string,
  clients: readonly string[] = ['pg_dump', 'pg_restore', 'psql'],
): VersionMismatch | undefined {
  const server = majorVersion(serverVersion);
  for (const binary of clients) {
    const clientVersion = binaryVersion(binaries, binary);
    const client = majorVersion(clientVersion);
    if (client >= server) continue;
    const cause = `${binary} ${clientVersion} (${binaries.path(binary)}) is older than the PostgreSQL ${serverVersion} server: ${binary === 'pg_dump' ? 'it aborts with "server version mismatch"' : binary === 'pg_restore' ? 'it cannot read archives a newer pg_dump writes' : 'it may not replay what a newer pg_dump writes'}`;
    const fix = `install PostgreSQL ${server} client binaries and point PG_BINDIR at their bin directory (Debian: /usr/lib/postgresql/${server}/bin)`;
    return { binary, clientVersion, serverVersion, cause, fix, message: `${cause}; fix: ${fix}` };
  }
  return undefined;
}
