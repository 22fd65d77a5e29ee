import { existsSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { readShimState, writeShimState } from '../src/stacks/emulated/shim-state.ts';
import { CORRECTED_RUNBOOK, drill, editedRunbook, procedure, withProcedure } from './support/drill-harness.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/**
 * The runbook's own destructive commands are checked for ownership before they run: a block whose
 * dropdb is aimed at a database the drill did not create is refused, the database survives, and the
 * procedure fails with the refusal as its finding.
 */
describe('safety interlocks: the drill destroys only what it created', () => {
  it('refuses the runbook’s dropdb of a database the drill did not create (emulated stack)', async () => {
    // The test-restore section's cleanup, pointed at a database that stands for production data.
    const runbook = await editedRunbook(
      CORRECTED_RUNBOOK,
      'docker compose exec db dropdb -U nmia nmia_restore_test',
      'docker compose exec db dropdb -U nmia prod_nmia',
    );
    cleanups.push(runbook.cleanup);
    let survivor: unknown;
    const procedures = withProcedure('restore-test-db', (original) => ({
      ...original,
      async prepare(context) {
        await original.prepare?.(context);
        await context.harnessSql('a database the drill did not create', 'CREATE DATABASE prod_nmia', 'postgres');
        await context.harnessSql('with data in it', 'CREATE TABLE precious (id int); INSERT INTO precious VALUES (42)', 'prod_nmia');
      },
      async diagnose(context, failed) {
        survivor = (await context.harnessSql('is it still there?', 'SELECT id FROM precious', 'prod_nmia')).rows;
        return original.diagnose?.(context, failed);
      },
    }));
    const result = await drill({ runbookPath: runbook.path, allowDrift: true, only: ['restore-test-db'], procedures });
    cleanups.push(result.cleanup);
    const record = procedure(result.journal, 'restore-test-db');
    expect(record.outcome).toBe('failed');
    expect(result.journal.outcome).toBe('failed');
    const refusal = `nmia-drill: refusing to drop database "prod_nmia": it does not carry this drill's ownership marker (nmia-drill:${result.journal.drillId}); a drill destroys only what it created. Nothing was changed.`;
    expect(record.blocks[0]!.failedCommand).toMatchObject({
      text: 'docker compose exec db dropdb -U nmia prod_nmia',
      exitCode: 1,
      stderrTail: refusal,
    });
    expect(record.rungs).toContainEqual(
      expect.objectContaining({
        rung: 'restorability',
        outcome: 'failed',
        summary: `docker compose exec db dropdb -U nmia prod_nmia exited 1: ${refusal}`,
      }),
    );
    const findings = result.journal.findings.filter((finding) => record.findings.includes(finding.id));
    expect(findings).toContainEqual(
      expect.objectContaining({ severity: 'high', title: refusal.replace('nmia-drill: ', 'safety interlock: ') }),
    );
    expect(survivor).toEqual([{ id: 42 }]);
    // The database the block created itself was marked, so the block's own createdb/pg_restore went through.
    expect(record.blocks[0]!.commands.filter((command) => command.exitCode === 0).map((command) => command.text)).toEqual(
      expect.arrayContaining(['docker compose exec db createdb -U nmia nmia_restore_test']),
    );
  }, 600_000);

  it('refuses the runbook’s docker volume rm of a volume the drill did not create (emulated stack)', async () => {
    const runbook = await editedRunbook(CORRECTED_RUNBOOK, 'docker volume rm nmia_pgdata', 'docker volume rm prod_pgdata');
    cleanups.push(runbook.cleanup);
    let marker = '';
    let survived = false;
    const procedures = withProcedure('volume-restore', (original) => ({
      ...original,
      async prepare(context) {
        await original.prepare?.(context);
        // A volume that was on the engine before the drill: no drill label.
        await context.harnessAction(
          'a volume the drill did not create',
          'engine state: volume prod_pgdata without the drill label',
          async () => {
            const state = readShimState(join(context.stack.workspace.harnessDir, 'engine'));
            const dir = join(state.root, 'volumes', 'prod_pgdata', '_data');
            await mkdir(dir, { recursive: true });
            marker = join(dir, 'PG_VERSION');
            await writeFile(marker, '15\n');
            state.volumes.prod_pgdata = { name: 'prod_pgdata', dir, createdAt: new Date().toISOString(), labels: {} };
            writeShimState(state);
          },
        );
      },
      async diagnose(context, failed) {
        survived = existsSync(marker);
        return original.diagnose?.(context, failed);
      },
    }));
    const result = await drill({ runbookPath: runbook.path, allowDrift: true, only: ['volume-restore'], procedures });
    cleanups.push(result.cleanup);
    const record = procedure(result.journal, 'volume-restore');
    expect(record.outcome).toBe('failed');
    const refusal = `nmia-drill: refusing to remove volume "prod_pgdata": this drill did not create it (no label org.nmia-drill.drill=${result.journal.drillId}); a drill destroys only what it created. Nothing was removed.`;
    expect(record.blocks[0]!.failedCommand).toMatchObject({ text: 'docker volume rm prod_pgdata', exitCode: 1, stderrTail: refusal });
    expect(result.journal.findings.filter((finding) => record.findings.includes(finding.id)).map((finding) => finding.title)).toContain(
      refusal.replace('nmia-drill: ', 'safety interlock: '),
    );
    // Looked at right after the refusal, before the drill's cleanup removed its engine: the volume's data is untouched.
    expect(survived).toBe(true);
  }, 600_000);
});
