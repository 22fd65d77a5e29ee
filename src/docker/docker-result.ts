/** What one docker command did: the command line as run, its exit code, output and duration. */
export interface DockerResult {
  command: string;
  exitCode: number;
  stdout: string;
  stderr: string;
  durationMs: number;
}
