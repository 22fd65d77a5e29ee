import { afterEach, describe, expect, it } from 'vitest';
import { connectPg } from '../src/postgres/pg-connect.ts';
import type { ProcedureContext } from '../src/drill/procedure-context.ts';
import type { Procedure } from '../src/drill/procedure.ts';
import { CORRECTED_RUNBOOK, drill, procedure, withProcedure } from './support/drill-harness.ts';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Rows the writer wrote, once it stopped where the dump is complete (undefined: it never stopped there). */
let writtenDuringTheDump: number | undefined;

/** An application writing audit rows as fast as it can, from just before pg_dump until the dump is complete. */
function writerDuringTheDump(original: Procedure): Procedure {
  let stop: (() => Promise<number>) | undefined;
  const start = async (context: ProcedureContext) => {
    const client = await connectPg(context.stack.dbClientConfig('nmia'));
    let running = true;
    let written = 0;
    const insert = () =>
      client
        .query(
          `INSERT INTO audit_logs (id, action, resource_type, resource_id, details, created_at)
           VALUES (gen_random_uuid(), 'update', 'identity', 'live-writes', '{"by": "live-writes test"}', now())`,
        )
        .then(() => void written++);
    // Some rows before pg_dump takes its snapshot, then a stream of them while it runs.
    for (let i = 0; i < 20; i++) await insert();
    const loop = (async () => {
      while (running) await insert();
    })();
    stop = async () => {
      running = false;
      await loop;
      await client.end();
      return written;
    };
  };
  return {
    ...original,
    // The audit history the application had before this backup: the window's lower bound.
    async beforeBlocks(context) {
      await original.beforeBlocks?.(context);
      await context.harnessSql(
        'history: 50 audit rows written before the backup',
        `INSERT INTO audit_logs (id, action, resource_type, resource_id, created_at)
         SELECT gen_random_uuid(), 'create', 'identity', g::text, now() FROM generate_series(1, 50) g`,
      );
    },
    checkpoints: (context) => [
      { beforeCommand: 'pg_dump', run: () => start(context) },
      // The corrected runbook writes the encrypted dump under a temporary name: the dump is done once it is renamed.
      { beforeCommand: 'mv "$BACKUP.partial"', run: async () => void (writtenDuringTheDump = await stop?.()) },
    ],
  };
}

describe('a backup taken while the application keeps writing', () => {
  it('stays exact where nothing changed and holds the written tables to the backup window, saying so', async () => {
    writtenDuringTheDump = undefined;
    const result = await drill({
      runbookPath: CORRECTED_RUNBOOK,
      only: ['full-backup', 'restore-custom'],
      procedures: withProcedure('full-backup', writerDuringTheDump),
    });
    cleanups.push(result.cleanup);
    const { journal } = result;
    expect(journal.outcome).toBe('passed');
    // The writer ran through the dump and stopped before the restore (its session would be terminated there).
    expect(writtenDuringTheDump).toBeGreaterThanOrEqual(20);
    const before = journal.manifests['order/full-backup: just before the blocks'] as { tables: Record<string, { rows: number }> };
    const after = journal.manifests['order/full-backup: just after the blocks'] as { tables: Record<string, { rows: number }> };
    // The window really saw writes: audit_logs grew between the two manifests around the backup.
    expect(after.tables['public.audit_logs']!.rows).toBeGreaterThanOrEqual(before.tables['public.audit_logs']!.rows + 20);
    const content = procedure(journal, 'restore-custom').rungs.find((rung) => rung.rung === 'content')!;
    expect(content.outcome).toBe('passed');
    expect(content.evidence?.liveTables).toEqual(['public.audit_logs']);
    expect(content.summary).toMatch(/\d+ tables exact; written by the running application, checked within bounds: .*public\.audit_logs/);
    // Everything the writer did not touch is still compared exactly.
    expect(Number(/^(\d+) tables exact/.exec(content.summary)?.[1])).toBeGreaterThan(5);
  });

  // Counts are the only bound on a live table: a loss is caught once fewer rows remain than the window's lower end.
  it('fails when the restore lost rows the backup window holds (the audit log emptied after the restore)', async () => {
    const procedures = withProcedure('full-backup', writerDuringTheDump).map((candidate) =>
      candidate.id !== 'restore-custom'
        ? candidate
        : {
            ...candidate,
            async verify(context: ProcedureContext) {
              await context.harnessSql('fault: the restore lost the audit log', 'DELETE FROM audit_logs');
              await candidate.verify(context);
            },
          },
    );
    const result = await drill({ runbookPath: CORRECTED_RUNBOOK, only: ['full-backup', 'restore-custom'], procedures });
    cleanups.push(result.cleanup);
    const content = procedure(result.journal, 'restore-custom').rungs.find((rung) => rung.rung === 'content')!;
    expect(content.outcome, JSON.stringify(content)).toBe('failed');
    expect(content.summary).toMatch(/public\.audit_logs: 0 rows after restore, outside the [1-9]\d*\.\.\d+ rows seen while the backup ran/);
  });
});
