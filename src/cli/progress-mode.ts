/** How a drill shows its progress on stderr. */
export type ProgressMode = 'live' | 'plain' | 'none';

/**
 * A live, redrawn task list only where a person watches a real terminal. CI logs, NO_COLOR users,
 * dumb terminals and pipes get plain timestamped lines (which stay readable in any log), and
 * --quiet gets none.
 */
export function chooseProgressMode(input: { quiet: boolean; isTTY: boolean | undefined; env: NodeJS.ProcessEnv }): ProgressMode {
  const { env } = input;
  if (input.quiet) return 'none';
  if (!input.isTTY) return 'plain';
  // CI=false / CI=0 is someone switching it off, as ci-info reads it.
  if (env.CI !== undefined && env.CI !== '' && env.CI !== 'false' && env.CI !== '0') return 'plain';
  // no-color.org: set and not empty.
  if (env.NO_COLOR !== undefined && env.NO_COLOR !== '') return 'plain';
  if (!env.TERM || env.TERM === 'dumb') return 'plain';
  return 'live';
}
