/**
 * 6: the cost of a backup's completeness proof (runbook/kit/backup-checks.ts proveBackupComplete: its own
 * artifact restored into a scratch database and compared with the backup window's manifest, plus pg_amcheck),
 * against the backup blocks' own time. One in-process drill of full-backup and sql-backup per round; the
 * figures are the procedures' own timings (completenessProofMs, backupBlocksMs, amcheckMs) from the journal.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { PROCEDURES } from '../runbook/registry.ts';
import { DEFAULT_RPO_TARGET_MS, DEFAULT_RTO_TARGET_MS } from '../src/drill/drill-options.ts';
import { DrillRunner } from '../src/drill/drill-runner.ts';
import { loadAverage } from './machine-facts.ts';
import type { QuietGate } from './quiet-gate.ts';

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
  return { scale: options.scale, rounds };
}
