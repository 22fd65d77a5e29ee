import type { BlockRun } from '../../src/exec/block-runner.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';

/**
 * Runs `start()` (a block that dumps) while the harness holds an ACCESS EXCLUSIVE lock on identities, and
 * terminates pg_dump's session once it waits on that lock: connected, output file open, work begun.
 */
export async function runWithPgDumpKilled(
  context: ProcedureContext,
  start: () => Promise<BlockRun>,
): Promise<{ run: BlockRun; killed: boolean }> {
  return context.withDb(async (locker) => {
    await locker.query('BEGIN');
    await locker.query('LOCK TABLE identities IN ACCESS EXCLUSIVE MODE');
    const running = start();
    let killed = false;
    const deadline = Date.now() + 30_000;
    try {
      while (!killed && Date.now() < deadline) {
        const waiting = await context.withDb((client) =>
          client.query<{ pid: number }>("SELECT pid FROM pg_stat_activity WHERE application_name = 'pg_dump' AND wait_event_type = 'Lock'"),
        );
        for (const { pid } of waiting.rows) {
          await context.harnessSql(
            'fault: terminate pg_dump part-way (after it connected and began its work)',
            `SELECT pg_terminate_backend(${pid})`,
          );
          killed = true;
        }
        if (!killed) await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await locker.query('ROLLBACK');
    }
    return { run: await running, killed };
  });
}
