import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EnvironmentError } from '../../errors/drill-error.ts';
import { dockerClientEnv, lastLine, type DockerCli } from '../../docker/docker-cli.ts';
import { DRILL_LABEL } from '../../safety/ownership-marker.ts';
import { binaryVersion, CLIENT_BINARIES, type PgBinaries } from '../../postgres/pg-binaries.ts';

/** The client tools the harness itself runs (manifests use the pg driver; these read and restore dump files). */
const WRAPPED = [...CLIENT_BINARIES, 'pg_isready'] as const;

export interface DbImageClients {
  binaries: PgBinaries;
  /** `pg_dump (PostgreSQL) 17.12 …`: what the journal states as the substitution. */
  version: string;
  image: string;
  container: string;
}

/** `17.12` → 17. */
export function majorOf(version: string): number {
  return Number.parseInt(version, 10);
}

/**
 * PostgreSQL client binaries of the db service's own image, for the harness's own pg_dump, pg_restore
 * and psql when the host's are of an older major than the server (pg_dump 15 refuses a 17 server).
 * One helper container per drill, on the host's network (it reaches the db's published port on
 * 127.0.0.1 as the host does) with the drill's directories mounted at the same paths, so file
 * arguments mean the same inside; each binary is a two-line `docker exec` wrapper. The container
 * carries the drill label, so the compose stack's cleanup removes it.
 */
export async function startDbImageClients(
  cli: DockerCli,
  options: { image: string; drillId: string; binDir: string; mounts: readonly string[]; docker: string },
): Promise<DbImageClients> {
  const name = `nmia-drill-${options.drillId}-pg-clients`;
  const mounts = [...new Set(options.mounts)].flatMap((dir) => ['-v', `${dir}:${dir}`]);
  const started = await cli.run([
    'run',
    '-d',
    '--name',
    name,
    '--label',
    `${DRILL_LABEL}=${options.drillId}`,
    '--network',
    'host',
    ...mounts,
    '--entrypoint',
    'sleep',
    options.image,
    'infinity',
  ]);
  if (started.exitCode !== 0) {
    throw new EnvironmentError(`could not start the db image ${options.image} for its PostgreSQL clients: ${lastLine(started.stderr)}`, {
      fix: 'rebuild the images with .ci/provision-docker.sh, or install client binaries as new as the server and set PG_BINDIR',
    });
  }
  const found = await cli.run(['exec', name, 'sh', '-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -n 1']);
  const inside = found.stdout.trim();
  if (found.exitCode !== 0 || !inside) {
    throw new EnvironmentError(`the db image ${options.image} has no /usr/lib/postgresql/<major>/bin`, {
      fix: 'give the db service an image with PostgreSQL client binaries, or set PG_BINDIR to clients as new as the server',
    });
  }
  await mkdir(options.binDir, { recursive: true });
  // The engine the harness uses, fixed in the wrapper: callers of pg_dump need not carry DOCKER_HOST.
  const engine = Object.entries(dockerClientEnv(cli.env))
    .map(([key, value]) => `export ${key}=${JSON.stringify(value)}\n`)
    .join('');
  // Inside, the working directory exists only under a mounted directory; elsewhere the clients start in /.
  const workdir = `case "$PWD" in ${[...new Set(options.mounts)].map((dir) => `${JSON.stringify(dir)}|${JSON.stringify(dir)}/*`).join('|')}) w="$PWD" ;; *) w=/ ;; esac\n`;
  // exec's options go before the container name: the loop prepends each -e in front of it.
  for (const binary of WRAPPED) {
    await writeFile(
      join(options.binDir, binary),
      `#!/bin/sh\n# nmia-drill: ${binary} of the db image ${options.image} (see src/stacks/compose/db-image-clients.ts)\n` +
        engine +
        `set -- ${JSON.stringify(name)} ${JSON.stringify(`${inside}/${binary}`)} "$@"\n` +
        workdir +
        `for v in $(env | sed -n 's/^\\(PG[A-Z_]*\\)=.*/\\1/p'); do set -- -e "$v" "$@"; done\n` +
        `exec ${JSON.stringify(options.docker)} exec -i -w "$w" "$@"\n`,
      { mode: 0o755 },
    );
  }
  const binaries: PgBinaries = { binDir: options.binDir, source: 'db image', path: (binary) => join(options.binDir, binary) };
  return { binaries, version: binaryVersion(binaries, 'pg_dump'), image: options.image, container: name };
}
