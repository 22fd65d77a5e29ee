import { DockerShim } from './docker-shim.ts';
import { INIT_FLAG, runContainerInit } from './container-init.ts';
import { ENTRYPOINT_FLAG, runPostgresEntrypoint } from './postgres-entrypoint.ts';

// Entry point of the emulated stack's `docker` command; NMIA_DRILL_ENGINE names the engine's state root.
// With ENTRYPOINT_FLAG it is instead the main process of an emulated postgres container, with
// INIT_FLAG the init process of an emulated app container.
if (process.argv[2] === ENTRYPOINT_FLAG) {
  runPostgresEntrypoint(process.argv[3] ?? '').then(
    (code) => process.exit(code),
    (error: unknown) => {
      process.stderr.write(`nmia-drill postgres entrypoint: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(1);
    },
  );
} else if (process.argv[2] === INIT_FLAG) {
  // --nmia-drill-init <exit file> -- <command…>: the init process of an emulated app container.
  runContainerInit(process.argv[3] ?? '/dev/null', process.argv.slice(5));
} else {
  runShim();
}

function runShim(): void {
  const stateRoot = process.env.NMIA_DRILL_ENGINE;
  if (!stateRoot) {
    process.stderr.write('nmia-drill docker shim: NMIA_DRILL_ENGINE is not set; this command only works inside a drill workspace.\n');
    process.exit(125);
  }
  const shim = new DockerShim(stateRoot, {
    cwd: process.cwd(),
    env: process.env,
    stdout: (text) => process.stdout.write(text),
    stderr: (text) => process.stderr.write(text),
  });
  shim.main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`nmia-drill docker shim: internal error: ${(error as Error).stack ?? String(error)}\n`);
      process.exit(125);
    },
  );
}
