/**
 * How a drill marks what it creates, so that every destructive command can first check the thing
 * is the drill's own. Databases carry a comment (`COMMENT ON DATABASE … IS 'nmia-drill:<drillId>'`,
 * kept in the cluster's shared catalog, visible in `\l+`), Docker volumes and containers a label.
 */

/** The label on every Docker resource a drill creates; its value is the drill id. */
export const DRILL_LABEL = 'org.nmia-drill.drill';
export const COMPOSE_PROJECT_LABEL = 'com.docker.compose.project';
/** Where the db image keeps its cluster: a database in a volume mounted here lives in that volume's cluster. */
export const PGDATA_PATH = '/var/lib/postgresql/data';
/** Every refusal line starts with this, so the journal can tell a refusal from any other failure. */
export const REFUSAL_PREFIX = 'nmia-drill: refusing';

export function ownershipMarker(drillId: string): string {
  return `nmia-drill:${drillId}`;
}

/** A SQL string literal (standard_conforming_strings is on in every supported server). */
export function sqlLiteral(value: string): string {
  return `'${value.replace(/'/g, "''")}'`;
}

export function sqlIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** One row `present|<comment>` when the database exists, no row otherwise (psql -At output). */
export function markerQuery(database: string): string {
  return `SELECT 'present|' || coalesce(shobj_description(oid, 'pg_database'), '') FROM pg_database WHERE datname = ${sqlLiteral(database)}`;
}

/** Reads the output of `markerQuery`: undefined when the database does not exist. */
export function parseMarkerRow(stdout: string): { comment: string } | undefined {
  const line = stdout.split('\n').find((candidate) => candidate.startsWith('present|'));
  return line === undefined ? undefined : { comment: line.slice('present|'.length) };
}

export function markStatement(database: string, drillId: string): string {
  return `COMMENT ON DATABASE ${sqlIdentifier(database)} IS ${sqlLiteral(ownershipMarker(drillId))}`;
}

export function refuseDatabase(
  action: string,
  database: string,
  drillId: string,
  why = "it does not carry this drill's ownership marker",
): string {
  return `${REFUSAL_PREFIX} to ${action} database "${database}": ${why} (${ownershipMarker(drillId)}); a drill destroys only what it created. Nothing was changed.`;
}

export function refuseVolume(volume: string, drillId: string): string {
  return `${REFUSAL_PREFIX} to remove volume "${volume}": this drill did not create it (no label ${DRILL_LABEL}=${drillId}); a drill destroys only what it created. Nothing was removed.`;
}

export function refuseContainer(container: string, drillId: string): string {
  return `${REFUSAL_PREFIX} to remove container "${container}": this drill did not create it (no label ${DRILL_LABEL}=${drillId}); a drill destroys only what it created. Nothing was removed.`;
}

export function refuseUnverifiable(what: string, why: string): string {
  return `${REFUSAL_PREFIX} ${what}: ${why}; a drill destroys only what it created, so it runs only destructive commands whose target it can check. Nothing was changed.`;
}

/** The refusal lines in a command's output. */
export function refusalLines(text: string): string[] {
  return text.split('\n').filter((line) => line.includes(REFUSAL_PREFIX));
}
