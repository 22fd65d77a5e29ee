/**
 * An RTO lever, measured: how much `pg_restore -j N` would cut the restore of this very dump.
 *
 * The dump is restored twice into scratch databases on the same server, once with `-j 1` and once
 * with `-j N`, with the same options the runbook uses. The result is a hint for the journal; it is a
 * recommendation only and never changes the runbook under drill. Costs about 1.6–2× one restore, so
 * callers should make it opt-in on large drills.
 *
 * pg_restore -j needs a custom- or directory-format archive (it seeks to each table's data); a plain
 * SQL dump is refused with a clear error rather than measured.
 */
import { randomBytes } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { execa } from 'execa';
import pg from 'pg';
import { DrillError, UsageError } from '../errors/drill-error.ts';
import { connectPg } from '../postgres/pg-connect.ts';

export interface ParallelRestoreHintOptions {
  pgRestorePath: string;
  /** A custom-format dump file or a directory-format dump directory. */
  dump: string;
  /** libpq environment reaching the server to restore into: PGHOST, PGPORT, PGUSER, PGPASSWORD. */
  env: Record<string, string>;
  /** Parallel jobs to compare with one job; default: the machine's cores (at least 2). */
  jobs?: number;
  /** pg_restore options of the restore under drill; default the runbook's `--no-owner --no-privileges`. */
  restoreArgs?: string[];
  /** Where CREATE/DROP DATABASE run; default `postgres`. */
  maintenanceDatabase?: string;
}

export interface ParallelRestoreHint {
  serialMs: number;
  parallelMs: number;
  jobs: number;
  /** (serial − parallel) / serial, in percent, one decimal; negative when parallel was slower. */
  savingPercent: number;
  hint: string;
}

/** Below this, a difference between two single runs is noise rather than a lever. */
const MEASURABLE_PERCENT = 5;
const SCRATCH_PREFIX = 'nmia_restore_hint_';

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

export function parallelRestoreHintText(serialMs: number, parallelMs: number, jobs: number): { savingPercent: number; hint: string } {
  const savingPercent = serialMs > 0 ? Math.round(((serialMs - parallelMs) / serialMs) * 1000) / 10 : 0;
  const measured = `pg_restore -j 1: ${seconds(serialMs)}, -j ${jobs}: ${seconds(parallelMs)}, measured on this dump`;
  const advisory = 'a recommendation only; the runbook under drill is unchanged';
  let hint: string;
  if (savingPercent >= MEASURABLE_PERCENT)
    hint = `parallel restore (pg_restore -j ${jobs}) would cut restore time by ${savingPercent}% (${measured}); ${advisory}`;
  else if (savingPercent > -MEASURABLE_PERCENT)
    hint = `parallel restore (pg_restore -j ${jobs}) would not cut restore time measurably here (${measured}); keep -j 1`;
  else hint = `parallel restore (pg_restore -j ${jobs}) was ${-savingPercent}% slower here (${measured}); keep -j 1`;
  return { savingPercent, hint };
}

function clientConfig(env: Record<string, string>, database: string): pg.ClientConfig {
  return {
    ...(env.PGHOST ? { host: env.PGHOST } : {}),
    ...(env.PGPORT ? { port: Number(env.PGPORT) } : {}),
    ...(env.PGUSER ? { user: env.PGUSER } : {}),
    ...(env.PGPASSWORD ? { password: env.PGPASSWORD } : {}),
    database,
  };
}

/** Reads a dump file once, so neither timed run pays for a cold page cache the other does not. */
async function warmUp(dump: string): Promise<void> {
  const info = await stat(dump).catch(() => undefined);
  if (!info?.isFile()) return;
  await pipeline(createReadStream(dump), new Writable({ write: (_chunk, _encoding, done) => done() }));
}

async function timedRestore(options: ParallelRestoreHintOptions, database: string, jobs: number, restoreArgs: string[]): Promise<number> {
  const args = ['-j', String(jobs), ...restoreArgs, '-d', database, options.dump];
  const started = performance.now();
  const result = await execa(options.pgRestorePath, args, {
    env: { ...options.env, PGDATABASE: database, LC_ALL: 'C' },
    reject: false,
    stdin: 'ignore',
  });
  const elapsed = performance.now() - started;
  if (result.exitCode !== 0) {
    const tail =
      String(result.stderr ?? '')
        .trim()
        .split('\n')
        .slice(-3)
        .join(' | ') || result.shortMessage;
    throw new DrillError(`parallel restore hint: pg_restore ${args.join(' ')} failed (exit ${result.exitCode ?? 'signal'}): ${tail}`, {
      fix: 'measure on a readable custom- or directory-format dump (pg_restore -j cannot read plain SQL or a pipe), restorable with the given options',
      cause: result,
    });
  }
  return Math.round(elapsed);
}

/**
 * Restores the dump with -j 1 and with -j N into two scratch databases it creates and always
 * drops, and returns both times with the hint text for the journal.
 */
export async function measureParallelRestoreHint(options: ParallelRestoreHintOptions): Promise<ParallelRestoreHint> {
  const jobs = options.jobs ?? Math.max(2, availableParallelism());
  if (!Number.isInteger(jobs) || jobs < 2) {
    throw new UsageError(`parallel restore hint: jobs must be an integer ≥ 2, got ${String(jobs)}`, {
      fix: 'pass jobs: os.availableParallelism() (or leave it out) to compare -j 1 with -j N',
    });
  }
  const info = await stat(options.dump).catch(() => undefined);
  if (!info)
    throw new UsageError(`parallel restore hint: no dump at ${options.dump}`, {
      fix: 'pass the path of the custom-format dump the backup produced',
    });
  const restoreArgs = options.restoreArgs ?? ['--no-owner', '--no-privileges'];
  const maintenance = options.maintenanceDatabase ?? 'postgres';
  const tag = randomBytes(4).toString('hex');
  const serialDb = `${SCRATCH_PREFIX}${tag}_j1`;
  const parallelDb = `${SCRATCH_PREFIX}${tag}_j${jobs}`;
  const created: string[] = [];
  const admin = await connectPg(clientConfig(options.env, maintenance));
  try {
    for (const name of [serialDb, parallelDb]) {
      await admin.query(`CREATE DATABASE ${pg.escapeIdentifier(name)}`);
      created.push(name);
    }
    await warmUp(options.dump);
    const serialMs = await timedRestore(options, serialDb, 1, restoreArgs);
    // The first copy is not needed any more; dropping it keeps the second run's cache pressure alike.
    await admin.query(`DROP DATABASE ${pg.escapeIdentifier(serialDb)} WITH (FORCE)`);
    created.splice(created.indexOf(serialDb), 1);
    const parallelMs = await timedRestore(options, parallelDb, jobs, restoreArgs);
    return { serialMs, parallelMs, jobs, ...parallelRestoreHintText(serialMs, parallelMs, jobs) };
  } finally {
    // Only the databases this call created, by their exact names.
    for (const name of created)
      await admin.query(`DROP DATABASE IF EXISTS ${pg.escapeIdentifier(name)} WITH (FORCE)`).catch(() => undefined);
    await admin.end().catch(() => undefined);
  }
}
