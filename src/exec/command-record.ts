/** One simple command of a block as bash ran it. Text is redacted before it is stored. */
export interface CommandRecord {
  index: number;
  /** The command as written in the block (after bindings), e.g. `docker compose exec db pg_dump …`. */
  text: string;
  exitCode: number | null;
  startedAt: string;
  durationMs: number;
  stderrTail: string;
  stdoutTail: string;
}
