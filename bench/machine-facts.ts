import { execFileSync } from 'node:child_process';
import { cpus, loadavg, availableParallelism, totalmem } from 'node:os';
import { binaryVersion, findPgBinaries } from '../src/postgres/pg-binaries.ts';

export interface MachineFacts {
  cores: number;
  cpuModel: string;
  memoryGiB: number;
  postgres: string;
  node: string;
  commit: string;
}

export function machineFacts(): MachineFacts {
  let commit = 'unknown';
  try {
    commit = execFileSync('git', ['rev-parse', '--short', 'HEAD'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    // Not a git checkout: the commit is only context.
  }
  return {
    cores: availableParallelism(),
    cpuModel: cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(totalmem() / 2 ** 30),
    postgres: binaryVersion(findPgBinaries(), 'postgres'),
    node: process.version,
    commit,
  };
}

/** The 1-minute load average: other work on the machine disturbs every timing here. */
export function loadAverage(): number {
  return Math.round((loadavg()[0] ?? 0) * 100) / 100;
}
