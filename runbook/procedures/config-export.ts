import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'csv-parse/sync';
import { canaryList } from '../kit/secrets-check.ts';
import type { Procedure } from '../../src/drill/procedure.ts';
import { diagnoseMissingBackupsDir } from '../kit/missing-directory.ts';
import { diagnoseMissingRelation } from '../kit/missing-relation-diagnosis.ts';

/** The columns the section's SELECT names, in order. */
export const EXPORTED_COLUMNS = ['id', 'name', 'connector_type_code', 'enclave_id', 'cron_expression', 'is_enabled', 'created_at'];

/** Configuration Backup. Intent: a CSV with exactly the listed columns, one row per connector, and no secret in it. */
export const configExport: Procedure = {
  id: 'config-export',
  title: 'Export connector configurations to CSV',
  kind: 'export',
  section: 'Configuration Backup',
  blocks: [0],
  // The block names its table; against an app without it, the correction comes from the app's own catalog.
  // Else: the redirect into ./backups, which a fresh checkout does not have.
  diagnose: async (context, failed) => (await diagnoseMissingRelation(context, failed)) ?? diagnoseMissingBackupsDir(failed),

  async verify(context) {
    const path = join(context.backupsDir, 'connectors_export.csv');
    const evidence = await context.checkArtifact('connectors-export', path, 'csv');
    if (!evidence.readable) return;
    const text = await readFile(path, 'utf8');
    const rows = parse(text, { relax_column_count: true }) as string[][];
    const [header = [], ...records] = rows;
    if (JSON.stringify(header) === JSON.stringify(EXPORTED_COLUMNS))
      context.pass('intent', 'the CSV has exactly the columns the runbook lists', header.join(', '));
    else
      context.fail(
        'intent',
        'the CSV has exactly the columns the runbook lists',
        `got ${header.join(', ')}; expected ${EXPORTED_COLUMNS.join(', ')}`,
      );

    const ids = await context.withDb(async (client) =>
      (await client.query<{ id: string }>('SELECT id::text AS id FROM connector_instances ORDER BY id')).rows.map((row) => row.id),
    );
    const exported = records.map((record) => record[0] ?? '').sort();
    if (JSON.stringify(exported) === JSON.stringify([...ids].sort()))
      context.pass('intent', 'one row per connector', `${records.length} rows for ${ids.length} connectors`);
    else
      context.fail('intent', 'one row per connector', `${records.length} rows for ${ids.length} connectors`, {
        exported: exported.slice(0, 10),
        expected: ids.slice(0, 10),
      });

    const canaries = canaryList(context.drill.canaries);
    const leaked = canaries.filter((canary) => text.includes(canary.value));
    const secretWords = /bind_password|"config"|\bconfig\b/i.test(header.join(','));
    if (leaked.length === 0 && !secretWords)
      context.pass('intent', 'no connector secret in the export', `searched for ${canaries.length} canary secrets: none found`);
    else
      context.fail(
        'intent',
        'no connector secret in the export',
        `${leaked.length} canary secret(s) found in the CSV${secretWords ? '; a config column is exported' : ''}`,
      );
  },
};
