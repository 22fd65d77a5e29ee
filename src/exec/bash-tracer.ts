/**
 * Sourced through BASH_ENV before a block runs. A DEBUG trap writes, before every simple command,
 * the previous command's exit status, a timestamp and the command text to a private fd, and puts a
 * record separator on stderr so the stderr of each command can be told apart.
 * Installed last, so the trap never records its own setup.
 */
export const BASH_TRACER = `exec {__nmia_trace_fd}>>"$NMIA_DRILL_TRACE"
trap 'printf "%s\\t%s\\t%s\\n" "$?" "$EPOCHREALTIME" "\${BASH_COMMAND//$'"'"'\\n'"'"'/ }" >&$__nmia_trace_fd; printf "\\036\\n"; printf "\\036\\n" >&2' DEBUG
`;

export const OUTPUT_SEPARATOR = '\u001e\n';

export interface TraceLine {
  previousExitCode: number;
  startedAtMs: number;
  command: string;
}

export function parseTrace(trace: string): TraceLine[] {
  return trace
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [status = '0', time = '0', ...rest] = line.split('\t');
      return { previousExitCode: Number(status), startedAtMs: Number(time) * 1000, command: rest.join('\t') };
    });
}
