import { DockerShim } from './docker-shim.ts';

// Entry point of the emulated stack's `docker` command; NMIA_DRILL_ENGINE names the engine's state root.
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
