/** Lines in a command's output that mean something went wrong even when the exit code says 0. */
const ERROR_LINE = /(^|\s)(ERROR|FATAL|PANIC):|\berror:|\bcould not\b|nmia-drill: refusing/;

export function errorLines(stderr: string): string[] {
  return stderr.split('\n').filter((line) => ERROR_LINE.test(line));
}

/**
 * The line that says why a command failed: the first error line of its stderr (pg_dump prints its
 * `error: … FATAL: …` line before its `detail: Query was: …` line), else the last line.
 */
export function failureLine(stderr: string): string {
  return errorLines(stderr)[0] ?? stderr.trimEnd().split('\n').at(-1) ?? '';
}

/**
 * The last `lines` lines of a command's stderr; when the first error line scrolled out of them (pg_restore
 * prints one block per failed object, then a count), it is kept in front, followed by `…`.
 */
export function stderrExcerpt(stderr: string, lines: number): string {
  const all = stderr.trimEnd().split('\n');
  const first = all.findIndex((line) => ERROR_LINE.test(line));
  if (first < 0 || first >= all.length - lines) return all.slice(-lines).join('\n');
  return [all[first]!, '…', ...all.slice(-(lines - 2))].join('\n');
}

/** The last `count` lines of a command's output, joined by `separator` (a newline, or ' | ' to keep it on one line). */
export function lastLines(text: string, count: number, separator = '\n'): string {
  return text.trim().split('\n').slice(-count).join(separator);
}
