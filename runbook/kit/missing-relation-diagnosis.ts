import type pg from 'pg';
import type { FailureDiagnosis } from '../../src/drill/procedure.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';

interface Column {
  table: string;
  column: string;
}

interface ForeignKey {
  table: string;
  column: string;
  parent: string;
  parentColumn: string;
}

/** The app's own tables and foreign keys, from the catalogs of the database under drill. */
async function catalog(client: pg.Client): Promise<{ columns: Column[]; keys: ForeignKey[] }> {
  const columns = await client.query<Column>(
    `SELECT table_name AS table, column_name AS column FROM information_schema.columns
      WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`,
  );
  const keys = await client.query<ForeignKey>(
    `SELECT cc.relname AS table, a.attname AS column, pc.relname AS parent, pa.attname AS "parentColumn"
       FROM pg_constraint c
       JOIN pg_class cc ON cc.oid = c.conrelid JOIN pg_class pc ON pc.oid = c.confrelid
       JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = c.conkey[1]
       JOIN pg_attribute pa ON pa.attrelid = c.confrelid AND pa.attnum = c.confkey[1]
      WHERE c.contype = 'f' AND cardinality(c.conkey) = 1 AND c.connamespace = 'public'::regnamespace`,
  );
  return { columns: columns.rows, keys: keys.rows };
}

/**
 * Rewrites `SELECT <columns> FROM <missing table>` for the schema the app really has: the table whose
 * name contains the missing one's stem and which holds most of the selected columns; a selected column
 * it lacks, `<x>_<col>`, is reached through its foreign key `<x>_id` when the parent has `<col>`.
 * Returns undefined when the catalog offers no such table (then the failure stays undiagnosed).
 */
export function rewriteSelect(
  selected: readonly string[],
  missing: string,
  schema: { columns: readonly Column[]; keys: readonly ForeignKey[] },
): { sql: string; table: string; joins: string[]; unresolved: string[] } | undefined {
  const stem = missing.replace(/s$/, '');
  const tables = [...new Set(schema.columns.map((c) => c.table))].filter((t) => t !== missing && t.includes(stem));
  const columnsOf = (table: string) => new Set(schema.columns.filter((c) => c.table === table).map((c) => c.column));
  const ranked = tables
    .map((table) => ({ table, hits: selected.filter((column) => columnsOf(table).has(column)).length }))
    .sort((a, b) => b.hits - a.hits || a.table.localeCompare(b.table));
  const best = ranked[0];
  if (!best || best.hits === 0) return undefined;
  const own = columnsOf(best.table);
  const joins: string[] = [];
  const unresolved: string[] = [];
  const parts = selected.map((column) => {
    if (own.has(column)) return `c.${column}`;
    for (const key of schema.keys.filter((k) => k.table === best.table && k.column.endsWith('_id'))) {
      const prefix = key.column.slice(0, -'_id'.length);
      const wanted = column.startsWith(`${prefix}_`) ? column.slice(prefix.length + 1) : undefined;
      if (wanted !== undefined && columnsOf(key.parent).has(wanted)) {
        const alias = `p${joins.length + 1}`;
        joins.push(`JOIN ${key.parent} ${alias} ON ${alias}.${key.parentColumn} = c.${key.column}`);
        return `${alias}.${wanted} AS ${column}`;
      }
    }
    unresolved.push(column);
    return undefined;
  });
  const sql = `SELECT ${parts.filter((p) => p !== undefined).join(', ')} FROM ${best.table} c${joins.length > 0 ? ` ${joins.join(' ')}` : ''};`;
  return { sql, table: best.table, joins, unresolved };
}

/**
 * A psql block whose SELECT names a table the app does not have (`relation "x" does not exist`): a
 * runbook defect, with the corrected statement derived from the database's own catalog and tried there.
 */
export async function diagnoseMissingRelation(
  context: ProcedureContext,
  failed: { command: string; stderr: string },
): Promise<FailureDiagnosis | undefined> {
  const missing = /relation "([^"]+)" does not exist/.exec(failed.stderr)?.[1];
  const select = /SELECT\s+(.+?)\s+FROM\s+([A-Za-z_][\w.]*)/is.exec(failed.command);
  if (!missing || !select) return undefined;
  const selected = (select[1] as string).split(',').map((c) => c.trim());
  const rewrite = await context.withDb(async (client) => {
    const found = rewriteSelect(selected, missing.replace(/^public\./, ''), await catalog(client));
    if (!found || found.unresolved.length > 0) return found && { ...found, rows: undefined };
    // Proof that the correction works here, not a guess: it runs against the same database.
    const result = await client.query(found.sql.replace(/;$/, ''));
    return { ...found, rows: result.rowCount ?? 0 };
  });
  if (!rewrite) return undefined;
  const corrected = failed.command.replace(/SELECT\s+.+?\s+FROM\s+[A-Za-z_][\w.]*;?/is, rewrite.sql);
  return {
    severity: 'high',
    title: `the section selects from table "${missing}", which the application's schema does not have (it has ${rewrite.table})`,
    evidence: {
      missingTable: missing,
      appTable: rewrite.table,
      correctedStatement: rewrite.sql,
      ...(rewrite.rows !== undefined ? { correctedStatementRows: rewrite.rows } : { unresolvedColumns: rewrite.unresolved }),
    },
    whyItMatters: `psql stops with 'relation "${missing}" does not exist' and the shell has already created the output file: the operator is left with an empty export and no configuration record.`,
    suggestedFix:
      rewrite.unresolved.length === 0
        ? `Select from ${rewrite.table}${rewrite.joins.length > 0 ? ` (joined to ${rewrite.joins.map((j) => j.split(' ')[1]).join(', ')} for the columns it keeps by reference)` : ''}:\n${corrected}`
        : `Select from ${rewrite.table}; it has no ${rewrite.unresolved.join(', ')}: drop or replace those columns.`,
  };
}
