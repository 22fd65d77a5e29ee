import { availableParallelism } from 'node:os';
import type { StartedLocalPostgres } from '../src/postgres/started-local-postgres.ts';
import { measureParallelRestoreHint, parallelRestoreHintText, type ParallelRestoreHint } from '../src/verify/parallel-restore-hint.ts';
import { loadAverage } from './machine-facts.ts';
import { median } from './stats.ts';

export interface RestoreLeversResult {
  jobs: number;
  rounds: ParallelRestoreHint[];
  serialMs: number;
  parallelMs: number;
  /** The hint the journal would carry, from the medians. */
  hint: ParallelRestoreHint;
  loadBefore: number;
  loadAfter: number;
}

/** N for -j N: the cores, at least 2 (what `--parallel-restore-hint` without a value uses). */
export function leverJobs(): number {
  return Math.max(2, availableParallelism());
}

/** pg_restore -j 1 against -j N (N = cores, at least 2) on one custom-format dump, through the journal hint's own code. */
export async function benchRestoreLevers(
  server: StartedLocalPostgres,
  options: { dump: string; rounds: number },
): Promise<RestoreLeversResult> {
  const loadBefore = loadAverage();
  const jobs = leverJobs();
  const rounds: ParallelRestoreHint[] = [];
  for (let round = 0; round < options.rounds; round++) {
    rounds.push(
      await measureParallelRestoreHint({ pgRestorePath: server.binaries.path('pg_restore'), dump: options.dump, env: server.env(), jobs }),
    );
  }
  const serialMs = median(rounds.map((round) => round.serialMs));
  const parallelMs = median(rounds.map((round) => round.parallelMs));
  const hint = { serialMs, parallelMs, jobs, ...parallelRestoreHintText(serialMs, parallelMs, jobs) };
  return { jobs, rounds, serialMs, parallelMs, hint, loadBefore, loadAfter: loadAverage() };
}
