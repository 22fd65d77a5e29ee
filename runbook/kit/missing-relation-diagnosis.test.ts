import { describe, expect, it } from 'vitest';
import { rewriteSelect } from './missing-relation-diagnosis.ts';

// The real NMIA's connector tables (nmia/schema/schema.sql), as the catalog lists them.
const schema = {
  columns: [
    ...['id', 'connector_type_id', 'enclave_id', 'name', 'config', 'cron_expression', 'is_enabled', 'last_run_at', 'created_by'].map(
      (column) => ({ table: 'connector_instances', column }),
    ),
    ...['created_at', 'updated_at'].map((column) => ({ table: 'connector_instances', column })),
    ...['id', 'code', 'name', 'description', 'created_at', 'updated_at'].map((column) => ({ table: 'connector_types', column })),
    ...['id', 'name'].map((column) => ({ table: 'enclaves', column })),
  ],
  keys: [
    { table: 'connector_instances', column: 'connector_type_id', parent: 'connector_types', parentColumn: 'id' },
    { table: 'connector_instances', column: 'enclave_id', parent: 'enclaves', parentColumn: 'id' },
  ],
};

describe('rewriteSelect', () => {
  it("rewrites the runbook's export of connectors for connector_instances, reaching the type code through its foreign key", () => {
    const selected = ['id', 'name', 'connector_type_code', 'enclave_id', 'cron_expression', 'is_enabled', 'created_at'];
    expect(rewriteSelect(selected, 'connectors', schema)).toEqual({
      table: 'connector_instances',
      joins: ['JOIN connector_types p1 ON p1.id = c.connector_type_id'],
      unresolved: [],
      sql: 'SELECT c.id, c.name, p1.code AS connector_type_code, c.enclave_id, c.cron_expression, c.is_enabled, c.created_at FROM connector_instances c JOIN connector_types p1 ON p1.id = c.connector_type_id;',
    });
  });

  it('names the columns no table has, and gives up when no table resembles the missing one', () => {
    expect(rewriteSelect(['id', 'ldap_url'], 'connectors', schema)?.unresolved).toEqual(['ldap_url']);
    expect(rewriteSelect(['id'], 'sentinels', schema)).toBeUndefined();
  });
});
