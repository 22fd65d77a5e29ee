import type { ParallelRestoreTiming } from '../../src/evidence/timing-measures.ts';
import { measureParallelRestoreHint } from '../../src/verify/parallel-restore-hint.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';

/**
 * Opt-in (`--parallel-restore-hint`): restores the dump the restore procedure just used twice more,
 * with -j 1 and -j N, into scratch databases on the db service, and records how much parallel restore
 * would cut. A recommendation for the journal; the runbook under drill is never changed. A measurement
 * that cannot be taken is recorded as such and fails nothing: it is advice, not a check.
 */
export async function recordParallelRestoreHint(context: ProcedureContext, dumpPath: string, jobs: number): Promise<void> {
  const config = context.stack.dbClientConfig('postgres');
  const env: Record<string, string> = {
    PGHOST: String(config.host),
    PGPORT: String(config.port),
    PGUSER: String(config.user),
    ...(config.password ? { PGPASSWORD: String(config.password) } : {}),
  };
  const shown = context.relativeToProject(dumpPath);
  try {
    const hint = await context.harnessAction(
      `RTO lever: pg_restore -j 1 vs -j ${jobs} on ${shown} (opt-in)`,
      `pg_restore -j 1|${jobs} --no-owner --no-privileges -d <scratch> ${shown}`,
      async () =>
        measureParallelRestoreHint({
          pgRestorePath: context.stack.binaries.path('pg_restore'),
          dump: await context.readablePath(dumpPath),
          env,
          jobs,
        }),
    );
    context.drill.journal.timing.parallelRestore = { ...hint, dump: shown } satisfies ParallelRestoreTiming;
  } catch (error) {
    context.drill.journal.timing.parallelRestore = { error: context.drill.redactor.redact((error as Error).message), dump: shown };
  }
}
