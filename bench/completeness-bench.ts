/**
 * 6: the cost of a backup's completeness proof (runbook/kit/backup-checks.ts proveBackupComplete: its own
 * artifact restored into a scratch database and compared with the backup window's manifest, plus pg_amcheck),
 * against the backup blocks' own time. One in-process drill of full-backup and sql-backup per round; the
 * figures are the procedures' own timings (completenessProofMs, backupBlocksMs, amcheckMs) from the journal.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { applySchema } from '../nmia/schema/nmia-schema.ts';
import { seedDatabase } from '../nmia/seed/seed-database.ts';
import { PROCEDURES } from '../runbook/registry.ts';
import { DEFAULT_RPO_TARGET_MS, DEFAULT_RTO_TARGET_MS } from '../src/drill/drill-options.ts';
import { DrillRunner } from '../src/drill/drill-runner.ts';
import { LocalPostgresProvider } from '../src/postgres/local-postgres-provider.ts';
import { replayPlainDump } from '../src/postgres/plain-dump-replay.ts';
import { loadAverage } from './machine-facts.ts';
import type { QuietGate } from './quiet-gate.ts';
import { median } from './stats.ts';

const RUNBOOK = fileURLToPath(new URL('../fixtures/runbooks/backup-restore.corrected.md', import.meta.url));
export const PROVED = ['full-backup', 'sql-backup'] as const;

export interface CompletenessRound {
  procedure: string;
  backupMs: number;
  proofMs: number;
  amcheckMs: number;
  load: string;
}

export interface CompletenessBenchResult {
  scale: number;
  rounds: CompletenessRound[];
  /** The same plain dump replayed in one session and through the proof's replay (medians). */
  plainReplay?: PlainReplayBench;
}

export interface PlainReplayBench {
  jobs: number;
  bytes: number;
  serialMs: number;
  parallelMs: number;
  rounds: number;
}

export async function benchCompleteness(options: {
  scale: number;
  seed: number;
  rounds: number;
  log: (line: string) => void;
  gate: QuietGate;
}): Promise<CompletenessBenchResult> {
  const rounds: CompletenessRound[] = [];
  for (let round = 1; round <= options.rounds; round++) {
    await options.gate.pass(`completeness proof, round ${round}`);
    const reportRoot = await mkdtemp(join(tmpdir(), 'nmia-bench-completeness-'));
    try {
      const load = loadAverage();
      const { journal } = await new DrillRunner({
        runbookPath: RUNBOOK,
        allowDrift: false,
        seed: options.seed,
        scale: options.scale,
        isolation: 'order',
        only: [...PROVED],
        skip: [],
        reportRoot,
        stack: 'emulated',
        rtoTargetMs: DEFAULT_RTO_TARGET_MS,
        rpoTargetMs: DEFAULT_RPO_TARGET_MS,
        attestations: [],
        procedures: PROCEDURES,
      }).run();
      for (const id of PROVED) {
        const record = journal.procedures.find((candidate) => candidate.id === id);
        const timings = record?.timings ?? {};
        if (record?.outcome !== 'passed' || timings.completenessProofMs === undefined)
          throw new Error(`completeness bench: ${id} ${record?.outcome ?? 'missing'} (${record?.reason ?? 'no completeness timing'})`);
        rounds.push({
          procedure: id,
          backupMs: timings.backupBlocksMs ?? 0,
          proofMs: timings.completenessProofMs,
          amcheckMs: timings.amcheckMs ?? 0,
          load: `${load} → ${loadAverage()}`,
        });
        options.log(
          `6: ${id} round ${round}: backup ${(timings.backupBlocksMs! / 1000).toFixed(2)} s, proof ${(timings.completenessProofMs / 1000).toFixed(2)} s`,
        );
      }
    } finally {
      await rm(reportRoot, { recursive: true, force: true });
    }
  }
  await options.gate.pass("plain dump replay: one session vs the proof's");
  const plainReplay = await benchPlainReplay(options);
  options.log(
    `6: plain replay at ${options.scale}: one session ${(plainReplay.serialMs / 1000).toFixed(2)} s, ${plainReplay.jobs} sessions ${(plainReplay.parallelMs / 1000).toFixed(2)} s`,
  );
  return { scale: options.scale, rounds, plainReplay };
}

/**
 * The proof's plain-dump replay beside `psql -f` on the same dump, on one fresh local cluster seeded at the same
 * scale: alternating rounds, each into a new database.
 */
async function benchPlainReplay(options: { scale: number; seed: number; rounds: number }): Promise<PlainReplayBench> {
  const server = await new LocalPostgresProvider().start();
  const dir = await mkdtemp(join(tmpdir(), 'nmia-bench-plain-replay-'));
  try {
    await server.createDatabase('nmia');
    const client = await server.connect('nmia');
    try {
      await applySchema(client);
      await seedDatabase(client, { seed: options.seed, scale: options.scale });
    } finally {
      await client.end();
    }
    const dump = join(dir, 'nmia.sql');
    await execa(server.binaries.path('pg_dump'), ['--format=plain', '-f', dump], { env: server.env('nmia') });
    const psql = server.binaries.path('psql');
    const serial: number[] = [];
    const parallel: number[] = [];
    let jobs = 1;
    for (let round = 0; round < options.rounds; round++) {
      for (const mode of ['serial', 'parallel'] as const) {
        const database = `replay_${mode}_${round}`;
        await server.createDatabase(database);
        const started = performance.now();
        const result = await replayPlainDump(dump, { psql, env: server.env(database), jobs: mode === 'serial' ? 1 : undefined });
        const elapsed = performance.now() - started;
        if (result.exitCode !== 0) throw new Error(`plain replay bench: ${mode} replay failed: ${result.stderr.slice(-300)}`);
        if (mode === 'parallel') jobs = result.jobs;
        (mode === 'serial' ? serial : parallel).push(elapsed);
        await server.query(`DROP DATABASE ${database}`);
      }
    }
    return { jobs, bytes: (await stat(dump)).size, serialMs: median(serial), parallelMs: median(parallel), rounds: options.rounds };
  } finally {
    await server.stop();
    await rm(dir, { recursive: true, force: true });
  }
}
