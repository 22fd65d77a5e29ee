import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { ComposeGuardPorts, type ComposeGuardConfig } from './compose-guard-ports.ts';
import { guardedActions } from './destructive-command.ts';
import { OwnershipGuard } from './ownership-guard.ts';
import { DRILL_LABEL } from './ownership-marker.ts';

// The compose stack's `docker` for runbook blocks: checks ownership before destructive commands,
// then runs the real docker CLI with the same arguments, stdio and exit code.
async function main(argv: string[]): Promise<number> {
  const configFile = process.env.NMIA_DRILL_GUARD;
  if (!configFile) {
    process.stderr.write('nmia-drill docker guard: NMIA_DRILL_GUARD is not set; this command only works inside a drill.\n');
    return 125;
  }
  const config = JSON.parse(readFileSync(configFile, 'utf8')) as ComposeGuardConfig;
  const guard = new OwnershipGuard(config.drillId, new ComposeGuardPorts(config, process.cwd(), process.env));
  const decision = await guard.check(guardedActions(argv));
  if (decision.refusals.length > 0) {
    for (const line of [...decision.notes, ...decision.refusals]) process.stderr.write(`${line}\n`);
    return 1;
  }
  // One-off containers carry the drill's label too, so only the drill's can be removed later.
  const args = argv[0] === 'run' ? ['run', '--label', `${DRILL_LABEL}=${config.drillId}`, ...argv.slice(1)] : argv;
  let exitCode = await new Promise<number>((resolve) => {
    const child = spawn(config.realDocker, args, { stdio: 'inherit' });
    const forward = (signal: NodeJS.Signals) => child.kill(signal);
    process.on('SIGINT', forward);
    process.on('SIGTERM', forward);
    child.on('error', (error) => {
      process.stderr.write(`nmia-drill docker guard: cannot run ${config.realDocker}: ${error.message}\n`);
      resolve(127);
    });
    child.on('close', (code, signal) => resolve(code ?? (signal ? 128 + 15 : 1)));
  });
  for (const after of exitCode === 0 ? decision.afterSuccess : []) {
    const failure = await after();
    if (failure) {
      process.stderr.write(`${failure}\n`);
      exitCode = 1;
    }
  }
  return exitCode;
}

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (error: unknown) => {
    process.stderr.write(`nmia-drill docker guard: internal error: ${(error as Error).stack ?? String(error)}\n`);
    process.exit(125);
  },
);
