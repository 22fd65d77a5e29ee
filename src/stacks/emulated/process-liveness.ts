import { readdirSync, readFileSync } from 'node:fs';

/** True when pid is a live process; a zombie (exited, not yet reaped by its new parent) counts as dead. */
export function isAlive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
  } catch {
    return false;
  }
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3) !== 'Z';
  } catch {
    return true;
  }
}

/** SIGTERM, then SIGKILL after a grace period, as `docker stop` does. Signals the process group when it leads one. */
export async function terminate(pid: number, graceMs = 10_000): Promise<void> {
  const signal = (name: NodeJS.Signals) => {
    try {
      process.kill(-pid, name);
    } catch {
      try {
        process.kill(pid, name);
      } catch {
        // Already gone.
      }
    }
  };
  signal('SIGTERM');
  const deadline = Date.now() + graceMs;
  while (isAlive(pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
  if (isAlive(pid)) signal('SIGKILL');
}

/**
 * Last sweep of a teardown: SIGKILL every process whose command line names `path` (the stack's engine
 * directory: service inits, bundled services, a postmaster's data directory). It catches a service a
 * Ctrl-C raced with, started after the teardown read the engine state. Returns the pids it killed.
 */
export function killProcessesReferencing(path: string): number[] {
  const killed: number[] = [];
  for (const name of readdirSync('/proc')) {
    const pid = Number(name);
    if (!Number.isInteger(pid) || pid === process.pid) continue;
    let commandLine: string;
    try {
      commandLine = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
    } catch {
      continue;
    }
    if (!commandLine.includes(path)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed.push(pid);
    } catch {
      // Gone meanwhile, or not ours to signal.
    }
  }
  return killed;
}
