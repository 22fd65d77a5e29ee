/**
 * Rung 2 for a user's backup file: restore it into an empty database with errors made fatal, and
 * judge both the exit code and the output (a psql that exits 0 after errors is still caught).
 */
import { writeFile } from 'node:fs/promises';
import { execa } from 'execa';
import { errorLines } from '../drill/procedure-runner.ts';
import type { PgBinaries } from '../postgres/pg-binaries.ts';
import { lastLines } from '../exec/error-lines.ts';

export interface RestoreResult {
  command: string;
  exitCode: number | null;
  durationMs: number;
  /** Lines of stderr that report an error, with row data withheld. */
  errorLines: string[];
  /** The last lines of stderr, with row data withheld. */
  stderrTail: string;
}

/**
 * pg_restore and psql quote the failing row in their CONTEXT lines ("COPY connectors, line 3: …"),
 * and a production row may hold a credential. Keep where it failed, never what the row held.
 */
export function withholdRowData(text: string): string {
  return text
    .split('\n')
    .map((line) =>
      line
        .replace(/(COPY [^,]+, line \d+)(, column [^:]+)?: .*/, '$1$2: [row data withheld]')
        .replace(/^(\s*(?:DETAIL|CONTEXT):\s+Failing row contains) .*/, '$1 [row data withheld]')
        .replace(/(DETAIL:\s+Key \([^)]*\)=)\(.*\)/, '$1([withheld])'),
    )
    .join('\n');
}

export async function restoreBackup(options: {
  file: string;
  format: 'custom' | 'plain';
  database: string;
  binaries: PgBinaries;
  env: Record<string, string>;
  /** Where the full (sanitised) stderr is kept as evidence. */
  stderrFile: string;
}): Promise<RestoreResult> {
  const { file, format, database, binaries } = options;
  // --no-owner: owners are the source cluster's business (and not in the fingerprint); privileges stay.
  const args =
    format === 'custom'
      ? ['--exit-on-error', '--no-owner', '-d', database, file]
      : ['-X', '-q', '-v', 'ON_ERROR_STOP=1', '-d', database, '-f', file];
  const binary = format === 'custom' ? 'pg_restore' : 'psql';
  const command = `${binary} ${args.join(' ')}`;
  const started = Date.now();
  const result = await execa(binaries.path(binary), args, {
    env: { ...options.env, LC_ALL: 'C' },
    reject: false,
    stdin: 'ignore',
    stdout: 'ignore',
  });
  const stderr = withholdRowData(String(result.stderr ?? ''));
  await writeFile(options.stderrFile, stderr);
  return {
    command,
    exitCode: result.exitCode ?? null,
    durationMs: Date.now() - started,
    errorLines: errorLines(stderr).slice(0, 20),
    stderrTail: lastLines(stderr, 6),
  };
}
