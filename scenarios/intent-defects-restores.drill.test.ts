import { readFile, writeFile } from 'node:fs/promises';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { harnessDump } from '../runbook/kit/disasters.ts';
import { CORRECTED_RUNBOOK, GIVEN_RUNBOOK, drill, editedRunbook, failedChecks, procedure, withProcedure } from './support/drill-harness.ts';

/** Restore, export and recovery intent checks, shown to fail on seeded defects. */
// Seeded defects, not the app's timing: the reference worker polls every second instead of the real 15 s
// (the journal says so). The healthy recovery and parity run the real interval (runbook-corrected, runbook-as-given).
beforeAll(() => {
  vi.stubEnv('NMIA_WORKER_POLL_MS', '1000');
});
afterAll(() => {
  vi.unstubAllEnvs();
});
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

describe('restore and recovery intent checks fail on seeded defects', () => {
  it('restore-sql: a dump with an SQL error part-way is caught although psql exits 0', async () => {
    const procedures = withProcedure('restore-sql', (original) => ({
      ...original,
      async prepare(context) {
        await harnessDump(context, 'plain');
        const path = context.artifact('plain-dump')!.path;
        const text = await readFile(path, 'utf8');
        const at = text.indexOf('\n\\.\n') + 4;
        await writeFile(path, `${text.slice(0, at)}\nSELECT no_such_function_nmia_drill();\n${text.slice(at)}`);
      },
    }));
    const result = await drill({ runbookPath: GIVEN_RUNBOOK, only: ['restore-sql'], procedures });
    cleanups.push(result.cleanup);
    const record = procedure(result.journal, 'restore-sql');
    const psql = record.blocks[0]!.commands.find((command) => command.text.includes('psql -U nmia -d nmia -f'));
    expect(psql?.exitCode).toBe(0);
    expect(record.outcome).toBe('failed');
    expect(failedChecks(record).join('\n')).toMatch(
      /restorability: .*exit codes were 0 but the output has 1 error line\(s\): .*no_such_function_nmia_drill/,
    );
    expect(result.journal.findings.map((finding) => finding.title)).toContain('commands exit 0 while printing errors');
  });

  it('restore-test-db: a section that never drops its test database fails the cleanup check; a damaged index in it fails pg_amcheck', async () => {
    const copy = await editedRunbook(
      CORRECTED_RUNBOOK,
      '# Clean up when done\ndocker compose exec db dropdb -U nmia nmia_restore_test\n',
      '',
    );
    cleanups.push(copy.cleanup);
    // Damage after the test database's manifest, right before its pages are checked: an expression index over a
    // function declared IMMUTABLE that then changes, so no heap tuple has its index entry (as a collation change leaves).
    const procedures = withProcedure('restore-test-db', (original) => ({
      ...original,
      async verify(context) {
        const check = context.checkRestoredPages.bind(context);
        context.checkRestoredPages = async (database) => {
          await context.withDb(
            (client) =>
              client.query(`CREATE FUNCTION drill_k(text) RETURNS text IMMUTABLE LANGUAGE sql AS 'SELECT $1';
                 CREATE INDEX drill_damaged ON identities (drill_k(display_name));
                 CREATE OR REPLACE FUNCTION drill_k(text) RETURNS text IMMUTABLE LANGUAGE sql AS 'SELECT reverse($1)';`),
            database,
          );
          return check(database);
        };
        await original.verify(context);
      },
    }));
    const result = await drill({ runbookPath: copy.path, only: ['restore-test-db'], allowDrift: true, procedures });
    cleanups.push(result.cleanup);
    const record = procedure(result.journal, 'restore-test-db');
    expect(record.outcome).toBe('failed');
    expect(failedChecks(record)).toEqual([
      expect.stringMatching(
        /^content: no corruption: every heap and btree index checks out \(pg_amcheck --heapallindexed\) — .*btree index "nmia_restore_test\.public\.drill_damaged"/,
      ),
      expect.stringMatching(/^intent: cleanup drops only the test database — databases now: .*nmia_restore_test/),
    ]);
  });

  it('config-export: exporting the config column fails the column and the secret checks', async () => {
    // From the corrected runbook: the given one names a table the real app lacks and stops before any CSV check.
    const copy = await editedRunbook(CORRECTED_RUNBOOK, '"SELECT c.id, c.name, p1.code', '"SELECT c.id, c.name, c.config, p1.code');
    cleanups.push(copy.cleanup);
    const result = await drill({ runbookPath: copy.path, only: ['config-export'], allowDrift: true });
    cleanups.push(result.cleanup);
    const record = procedure(result.journal, 'config-export');
    const failed = failedChecks(record).join('\n');
    expect(failed).toMatch(/the CSV has exactly the columns the runbook lists — got id, name, config,/);
    expect(failed).toMatch(/no connector secret in the export — \d+ canary secret\(s\) found/);
    // The evidence says a secret leaked without repeating it.
    expect(JSON.stringify(result.journal)).not.toMatch(/CANARY-bindpw/);
  });

  it('dr-recovery: a recovery that loses one table’s rows after its restore fails the content check, naming the table', async () => {
    // (A schema-only restore no longer gets this far: pg_restore stops reading the decrypting pipe, and the pipe fails.)
    const copy = await editedRunbook(
      CORRECTED_RUNBOOK,
      '       -U nmia -d nmia --no-owner --no-privileges\n',
      '       -U nmia -d nmia --no-owner --no-privileges\n   docker compose exec -T db psql -U nmia -d nmia -c "TRUNCATE audit_logs"\n',
    );
    cleanups.push(copy.cleanup);
    const result = await drill({ runbookPath: copy.path, only: ['dr-recovery'], allowDrift: true });
    cleanups.push(result.cleanup);
    const record = procedure(result.journal, 'dr-recovery');
    expect(record.outcome).toBe('failed');
    expect(failedChecks(record).join('\n'), failedChecks(record).join('\n')).toMatch(
      /content: .*public\.audit_logs: 0 rows after restore, \d+ backed up/,
    );
  });
});
