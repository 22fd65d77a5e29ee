import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { constants } from 'node:os';

export const INIT_FLAG = '--nmia-drill-init';

/**
 * What docker-init (tini) is to a container with `init: true`: runs the service's command as its
 * child and records how it ended, as Docker reports it (the exit code, or 128 + signal). The shim
 * signals the whole process group on stop, so the child gets the signal itself; this process only
 * outlives it to write the code.
 */
export function runContainerInit(exitFile: string, argv: string[]): void {
  const [command, ...args] = argv;
  if (!command) {
    writeFileSync(exitFile, '127\n');
    process.exit(127);
  }
  for (const signal of ['SIGTERM', 'SIGINT', 'SIGHUP', 'SIGQUIT'] as const) process.on(signal, () => undefined);
  const child = spawn(command, args, { stdio: 'inherit' });
  child.on('error', (error) => {
    process.stderr.write(`exec ${command}: ${error.message}\n`);
    writeFileSync(exitFile, '127\n');
    process.exit(127);
  });
  child.on('exit', (code, signal) => {
    const status = code ?? 128 + (signal ? (constants.signals[signal] ?? 9) : 9);
    writeFileSync(exitFile, `${status}\n`);
    process.exit(status);
  });
}
