/** A block's failure that the machine caused, not the runbook: what happened, and what to do about it. */
export interface EnvironmentCause {
  cause: string;
  fix: string;
}

const CAUSES: ReadonlyArray<{ pattern: RegExp } & EnvironmentCause> = [
  {
    pattern: /address already in use|port is already allocated|EADDRINUSE/i,
    cause: 'a port the stack needs is taken by another process on this machine',
    fix: 'stop what listens on it (ss -ltnp names it), then run the drill again',
  },
  {
    pattern: /Cannot connect to the Docker daemon|Is the docker daemon running\?/i,
    cause: 'the Docker engine stopped answering',
    fix: 'start dockerd (or: set -a; . /run/nmia-drill-docker.env; set +a after .ci/provision-docker.sh), or use --stack emulated',
  },
];

/**
 * Whether a failed command's output shows the machine, not the runbook, at fault (a port taken, the engine
 * gone). Such a failure is an `error` with this cause and fix, never a finding.
 */
export function environmentCause(output: string): EnvironmentCause | undefined {
  const found = CAUSES.find((candidate) => candidate.pattern.test(output));
  return found ? { cause: found.cause, fix: found.fix } : undefined;
}
