/**
 * pg_amcheck on a restored copy: every table's heap (verify_heapam) and every btree index, with
 * --heapallindexed so each heap tuple must have its index entry. It installs the amcheck extension
 * into the database it checks, so run it after anything that fingerprints the schema.
 */
import { existsSync } from 'node:fs';
import { execa } from 'execa';
import type { PgBinaries } from '../postgres/pg-binaries.ts';
import { lastLines } from '../exec/error-lines.ts';

export interface CorruptionVerdict {
  outcome: 'passed' | 'failed' | 'error';
  /** One line for the rung. */
  summary: string;
  command: string;
  exitCode: number | null;
  /** Reported problems, one per line (relation and message), capped. */
  problems: string[];
}

const MAX_PROBLEMS = 20;

/** pg_amcheck prints a header per relation, then indented ERROR/DETAIL lines; fold them into one line each. */
function problemsOf(stdout: string): string[] {
  const problems: string[] = [];
  let relation = '';
  for (const line of stdout.split('\n')) {
    if (/^\S/.test(line)) relation = line.replace(/:$/, '');
    else if (/^\s+(ERROR|DETAIL):/.test(line)) problems.push(`${relation}: ${line.trim()}`);
  }
  return problems;
}

export async function checkCorruption(binaries: PgBinaries, env: Record<string, string>, database: string): Promise<CorruptionVerdict> {
  const binary = binaries.path('pg_amcheck');
  const args = ['--heapallindexed', '--install-missing', '--no-strict-names', '-d', database];
  const command = `pg_amcheck ${args.join(' ')}`;
  if (!existsSync(binary)) {
    return {
      outcome: 'error',
      summary: `pg_amcheck not found in ${binaries.binDir}: install the full PostgreSQL server package (Debian: postgresql-<major>) or point PG_BINDIR at a bin directory that has it`,
      command,
      exitCode: null,
      problems: [],
    };
  }
  const result = await execa(binary, args, { env: { ...env, LC_ALL: 'C' }, reject: false, stdin: 'ignore' });
  const exitCode = result.exitCode ?? null;
  const problems = problemsOf(String(result.stdout));
  if (exitCode === 0 && problems.length === 0) {
    return { outcome: 'passed', summary: `${command}: every heap and btree index checked, no corruption`, command, exitCode, problems };
  }
  if (problems.length > 0) {
    return {
      outcome: 'failed',
      summary: `${command} exited ${exitCode}: ${problems.length} problem(s); first: ${problems[0]}`,
      command,
      exitCode,
      problems: problems.slice(0, MAX_PROBLEMS),
    };
  }
  // Exit codes other than 0 and 2 (corruption) mean pg_amcheck could not check at all.
  const stderr = lastLines(String(result.stderr), 2, ' | ') || lastLines(String(result.stdout), 2, ' | ');
  return {
    outcome: exitCode === 2 ? 'failed' : 'error',
    summary: `${command} exited ${exitCode}: ${stderr || '(no output)'}`,
    command,
    exitCode,
    problems: [],
  };
}
