import { existsSync } from 'node:fs';
import { HarnessUnavailableError } from '../../errors/harness-unavailable-error.ts';
import { checkCorruption } from '../../verify-backup/corruption-check.ts';
import type { ProcedureRecorder } from '../../evidence/procedure-recorder.ts';
import { compareWithBackupWindow } from '../../verify/backup-window.ts';
import { diffManifests } from '../../verify/manifest-diff.ts';
import type { Manifest } from '../../verify/manifest.ts';
import type { DatabaseAccess } from './database-access.ts';

/**
 * Rungs 3 and 4: the restored database against the state the backup captured. With a backup window
 * (manifests before and after the backup) tables written during it are held to bounds, and said so.
 */
export class RestoredDatabaseCheck {
  constructor(
    private readonly database: DatabaseAccess,
    private readonly recorder: ProcedureRecorder,
  ) {}

  async verify(
    database: string,
    expected: { before: Manifest; after?: Manifest },
    /** `physical: false`: no pg_amcheck (a scratch copy the harness restored to prove a backup, not a database the runbook restored). */
    options: { privilegesDroppedByDesign?: boolean; restored?: Manifest; physical?: boolean } = {},
  ): Promise<boolean> {
    const restored = options.restored ?? (await this.database.manifest(`restored ${database}`, database));
    const differences = diffManifests(expected.before, restored);
    const schemaDifferences = (category: 'structure' | 'privilege') =>
      differences.filter(
        (difference) => difference.kind.startsWith('schema-object') && 'category' in difference && difference.category === category,
      );
    const structural = schemaDifferences('structure');
    const privileges = schemaDifferences('privilege');
    const messages = (found: ReadonlyArray<{ message: string }>, max: number) =>
      found
        .slice(0, max)
        .map((item) => item.message)
        .join('; ');
    let ok = true;
    const structureCheck = 'schema fingerprint matches the backed-up database';
    if (structural.length === 0) {
      this.recorder.pass('structure', structureCheck, `${Object.keys(restored.schema.objects).length} catalog objects compared`, {
        fingerprint: restored.schema.fingerprint,
      });
    } else {
      ok = false;
      this.recorder.fail('structure', structureCheck, messages(structural, 5), { differences: structural });
    }
    if (privileges.length > 0) {
      if (options.privilegesDroppedByDesign) {
        this.recorder.rung({
          rung: 'structure',
          check: 'privileges (GRANTs) survive the restore',
          outcome: 'skipped',
          summary: `${privileges.length} privilege entries not restored: the runbook restores with --no-privileges by design`,
          evidence: { differences: privileges },
        });
      } else {
        ok = false;
        this.recorder.fail('structure', 'privileges (GRANTs) survive the restore', messages(privileges, 5), { differences: privileges });
      }
    }
    const window = compareWithBackupWindow(expected.before, expected.after ?? expected.before, restored);
    const contentDifferences = differences.filter((difference) => !difference.kind.startsWith('schema-object'));
    const contentCheck = 'row counts, content hashes and sequences match the backup';
    if (window.problems.length === 0) {
      const live =
        window.liveTables.length > 0 ? `; written by the running application, checked within bounds: ${window.liveTables.join(', ')}` : '';
      this.recorder.pass('content', contentCheck, `${window.exactTables.length} tables exact${live}`, { liveTables: window.liveTables });
    } else {
      ok = false;
      this.recorder.fail('content', contentCheck, messages(window.problems, 6), {
        problems: window.problems,
        differences: contentDifferences,
      });
    }
    if (options.physical === false) return ok;
    return (await this.checkPhysical(database)) && ok;
  }

  /**
   * pg_amcheck --heapallindexed on the restored database, after its manifest (the check installs the amcheck
   * extension, dropped again when the database did not have it). Its cost is kept in the rung and the timings.
   */
  async checkPhysical(database: string): Promise<boolean> {
    const binaries = this.database.binaries;
    if (!existsSync(binaries.path('pg_amcheck')))
      throw new HarnessUnavailableError(
        `pg_amcheck (in ${binaries.binDir})`,
        'the physical check of every restored database needs it',
        'install the full PostgreSQL server package (Debian: postgresql-<major>) or point PG_BINDIR at a bin directory that has it',
      );
    const installed = await this.database.withDb(
      async (client) => (await client.query("SELECT 1 FROM pg_extension WHERE extname = 'amcheck'")).rowCount! > 0,
      database,
    );
    const started = Date.now();
    const verdict = await checkCorruption(binaries, this.database.clientEnv(database), database);
    const durationMs = Date.now() - started;
    if (!installed) await this.database.withDb((client) => client.query('DROP EXTENSION IF EXISTS amcheck'), database);
    this.recorder.timing('amcheckMs', (this.recorder.record.timings?.amcheckMs ?? 0) + durationMs);
    this.recorder.rung({
      rung: 'content',
      check: 'no corruption: every heap and btree index checks out (pg_amcheck --heapallindexed)',
      outcome: verdict.outcome,
      summary: `${verdict.summary} (${(durationMs / 1000).toFixed(2)} s)`,
      evidence: { command: verdict.command, exitCode: verdict.exitCode, problems: verdict.problems, durationMs },
    });
    return verdict.outcome === 'passed';
  }
}
