/**
 * Sourced through BASH_ENV before a block runs. A DEBUG trap writes, before every simple command,
 * the previous command's exit status, a timestamp, the working directory and the command text to a
 * private fd, and puts a record separator on stdout and stderr so each command's output can be told
 * apart. It can also pause before a command (a checkpoint) until the harness has looked.
 * The trap is installed last, so it never records its own setup.
 */
export const BASH_TRACER = `exec {__nmia_trace_fd}>>"$NMIA_DRILL_TRACE"
__nmia_debug() {
  printf '%s\\t%s\\t%s\\t%s\\n' "$1" "$EPOCHREALTIME" "$PWD" "\${BASH_COMMAND//$'\\n'/ }" >&$__nmia_trace_fd
  printf '\\036\\n'
  printf '\\036\\n' >&2
  if [[ -n "\${NMIA_DRILL_CHECKPOINTS:-}" ]]; then
    local __nmia_i=0 __nmia_pattern
    while IFS= read -r __nmia_pattern; do
      if [[ -n "$__nmia_pattern" && "$BASH_COMMAND" == *"$__nmia_pattern"* && ! -e "$NMIA_DRILL_CHECKPOINT_DIR/cp-$__nmia_i.ok" ]]; then
        : > "$NMIA_DRILL_CHECKPOINT_DIR/cp-$__nmia_i.req"
        while [[ ! -e "$NMIA_DRILL_CHECKPOINT_DIR/cp-$__nmia_i.ok" ]]; do sleep 0.05; done
      fi
      __nmia_i=$((__nmia_i + 1))
    done <<< "$NMIA_DRILL_CHECKPOINTS"
  fi
}
trap '__nmia_debug "$?"' DEBUG
`;

/** Appended after the block so the trace also sees the exit status and directory after its last command. */
export const END_OF_BLOCK = ': nmia-drill end of block';

export const OUTPUT_SEPARATOR = '\u001e\n';

export interface TraceLine {
  previousExitCode: number;
  startedAtMs: number;
  cwd: string;
  command: string;
}

export function parseTrace(trace: string): TraceLine[] {
  return trace
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => {
      const [status = '0', time = '0', cwd = '', ...rest] = line.split('\t');
      return { previousExitCode: Number(status), startedAtMs: Number(time) * 1000, cwd, command: rest.join('\t') };
    });
}
