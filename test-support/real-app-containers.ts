import { join } from 'node:path';
import pg from 'pg';
import { CREATE_ALL_SCRIPT, createdTables } from '../src/app/app-schema.ts';
import { DockerCli, dockerClientEnv, lastLine } from '../src/docker/docker-cli.ts';
import { REPO_ROOT } from '../src/repo-root.ts';

/**
 * The parts of the real NMIA's compose file that test stacks start as plain containers on a private network
 * (RealAppStack, RealWorkerStack): the db with the compose file's credentials, the schema the app's own models
 * create, and the fixture directory. Nothing here touches compose project `nmia`.
 */

/** As the real docker-compose.yml gives it to api and worker. */
export const DATABASE_URL = 'postgresql://nmia:nmia@db:5432/nmia';
export const SECRET_KEY = 'dev-secret-key-change-in-prod';

/** A docker client on the private engine, with nothing of the caller's environment but PATH and HOME. */
export function testDocker(): DockerCli {
  return new DockerCli({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...dockerClientEnv() }, '/');
}

/** A docker command that must succeed: its trimmed stdout, or an error naming the command and stderr's last line. */
export async function must(docker: DockerCli, args: string[]): Promise<string> {
  const result = await docker.run(args, { timeoutMs: 180_000 });
  if (result.exitCode !== 0)
    throw new Error(`docker ${args.slice(0, 3).join(' ')} … failed (${result.exitCode}): ${lastLine(result.stderr)}`);
  return result.stdout.trim();
}

/** One connection for `use`, closed whatever happens. */
export async function withClient<T>(database: pg.ClientConfig, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client(database);
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

/** Starts PostgreSQL as the compose file's db service (alias `db`) and returns how to reach it from the host. */
export async function startDatabase(
  docker: DockerCli,
  where: { name: string; network: string; label: string[] },
): Promise<pg.ClientConfig> {
  await must(docker, [
    'run',
    '-d',
    '--name',
    where.name,
    ...where.label,
    ...['--network', where.network, '--network-alias', 'db'],
    ...['-e', 'POSTGRES_USER=nmia', '-e', 'POSTGRES_PASSWORD=nmia', '-e', 'POSTGRES_DB=nmia', '-p', '127.0.0.1::5432'],
    'postgres:15',
  ]);
  const port = Number((await must(docker, ['port', where.name, '5432'])).split('\n')[0]?.split(':').at(-1));
  const deadline = Date.now() + 60_000;
  // The image's entrypoint restarts the server once after initdb: wait for a real query, not just the socket.
  while (
    (await docker.run(['exec', where.name, 'psql', '-U', 'nmia', '-d', 'nmia', '-h', '127.0.0.1', '-tAc', 'SELECT 1'])).exitCode !== 0
  ) {
    if (Date.now() > deadline) throw new Error(`${where.name} did not accept queries within 60 s`);
    await sleep(250);
  }
  return { host: '127.0.0.1', port, user: 'nmia', password: 'nmia', database: 'nmia' };
}

/** The schema as the app's own models create it (it has no migrations), in its api image with its own source. */
export async function createAppSchema(docker: DockerCli, where: { network: string; label: string[]; appDir: string }): Promise<void> {
  const output = await must(docker, [
    'run',
    '--rm',
    ...where.label,
    ...['--network', where.network, '-e', `DATABASE_URL=${DATABASE_URL}`, '-e', 'PYTHONPATH=/app/src'],
    ...['-v', `${join(where.appDir, 'api', 'src')}:/app/src:ro`],
    'nmia-api',
    'python',
    '-c',
    CREATE_ALL_SCRIPT,
  ]);
  if (!createdTables(output).includes('connector_instances')) throw new Error(`create_all made no connector_instances: ${output}`);
}

/** `docker run` arguments after the name and labels: the fixture directory, answering as each of `servers`. */
export function directoryContainerArgs(network: string, servers: readonly string[]): string[] {
  return [
    '--init',
    ...['--network', network, ...servers.flatMap((server) => ['--network-alias', server])],
    ...['-v', `${REPO_ROOT}:/repo:ro`, '-w', '/repo', '-e', `DATABASE_URL=${DATABASE_URL}`, '-e', 'PORT=389'],
    'nmia-drill/node:20',
    ...['node', '--import', 'tsx', '/repo/nmia/directory/main.ts'],
  ];
}

/** `docker run` arguments after the name and labels: the real worker as its compose service runs it (the image's CMD). */
export function workerContainerArgs(network: string, appDir: string): string[] {
  return [
    ...['--network', network, '--network-alias', 'worker'],
    ...['-e', `DATABASE_URL=${DATABASE_URL}`, '-e', `SECRET_KEY=${SECRET_KEY}`, '-e', 'PYTHONPATH=/app/src:/api-src'],
    // The worker imports the api's package too, which the compose file mounts at /api-src.
    ...['-v', `${join(appDir, 'worker', 'src')}:/app/src:ro`, '-v', `${join(appDir, 'api', 'src')}:/api-src:ro`],
    'nmia-worker',
  ];
}

/** Waits (60 s at most) until the fixture directory logged that it listens. */
export async function waitForDirectory(logs: () => Promise<string>): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!/listening on ldap:/.test(await logs())) {
    if (Date.now() > deadline) throw new Error(`the directory did not start: ${(await logs()).slice(-800)}`);
    await sleep(250);
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
