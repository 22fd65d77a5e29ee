import { randomBytes } from 'node:crypto';
import type { StartedPostgreSqlContainer } from '@testcontainers/postgresql';
import { EnvironmentError } from '../errors/drill-error.ts';
import { cleanupRegistry } from '../lifecycle/cleanup-registry.ts';
import { DockerCli, dockerClientEnv, lastLine } from '../docker/docker-cli.ts';
import { DockerPreflight } from '../docker/docker-preflight.ts';
import { findPgBinaries, type PgBinaries } from './pg-binaries.ts';
import { StartedContainerPostgres } from './started-container-postgres.ts';

/** The PostgreSQL major the project is built for: the machine's client binaries and the stack's image agree on it. */
export const POSTGRES_MAJOR = 15;
export const DEFAULT_POSTGRES_IMAGE = `postgres:${POSTGRES_MAJOR}`;
const PGDATA = '/var/lib/postgresql/data';

export interface ContainerPostgresOptions {
  /** Default: env NMIA_DRILL_POSTGRES_IMAGE, else postgres:15. */
  image?: string;
  superuser?: string;
  /** Default: a random one (scram over TCP, as the official image sets up). */
  password?: string;
  binaries?: PgBinaries;
}

/**
 * A throwaway PostgreSQL in a container, for component tests on the `container` provider. Needs a
 * Docker engine with the image present (here: .ci/provision-docker.sh builds postgres:15).
 */
export class ContainerPostgresProvider {
  readonly image: string;

  constructor(private readonly options: ContainerPostgresOptions = {}) {
    this.image = options.image ?? (process.env.NMIA_DRILL_POSTGRES_IMAGE || DEFAULT_POSTGRES_IMAGE);
  }

  async start(): Promise<StartedContainerPostgres> {
    const binaries = this.options.binaries ?? findPgBinaries({ needServer: false });
    const docker = new DockerCli({ PATH: process.env.PATH ?? '/usr/bin:/bin', ...dockerClientEnv() }, '/');
    const preflight = new DockerPreflight(docker);
    await preflight.engine();
    await preflight.images([this.image]);
    // Loaded on use: testcontainers costs every CLI start about a second, and most never need it.
    const { PostgreSqlContainer } = await import('@testcontainers/postgresql');
    const label = `nmia-drill-pg-${process.pid}-${randomBytes(4).toString('hex')}`;
    let started: StartedPostgreSqlContainer | undefined;
    const cleanup = cleanupRegistry.register(
      `postgres container ${label}`,
      async () => {
        if (started) {
          await started.stop({ remove: true, removeVolumes: true, timeout: 10_000 });
          return;
        }
        const ids = idsLabelled(docker, label);
        if (ids.length > 0) await docker.run(['rm', '-f', '-v', ...ids]);
      },
      () => {
        const ids = idsLabelled(docker, label);
        if (ids.length > 0) docker.runSync(['rm', '-f', '-v', ...ids], { timeoutMs: 20_000 });
      },
    );
    try {
      started = await new PostgreSqlContainer(this.image)
        .withUsername(this.options.superuser ?? 'nmia')
        .withPassword(this.options.password ?? randomBytes(18).toString('base64url'))
        .withDatabase('postgres')
        // Data on tmpfs: nothing to leak on disk, and no anonymous volume for the image's VOLUME.
        .withTmpFs({ [PGDATA]: 'rw' })
        .withLabels({ 'org.nmia-drill.provider': 'container', 'org.nmia-drill.instance': label })
        .withStartupTimeout(60_000)
        .start();
    } catch (error) {
      await cleanup.run().catch(() => undefined);
      throw new EnvironmentError(`PostgreSQL container ${this.image} did not start: ${lastLine((error as Error).message)}`, {
        fix: 'check the image runs (docker run --rm IMAGE postgres --version) and rebuild it with .ci/provision-docker.sh, or use NMIA_DRILL_PG_PROVIDER=local',
        cause: error,
      });
    }
    return new StartedContainerPostgres(started, binaries, this.image, cleanup);
  }
}

function idsLabelled(docker: DockerCli, label: string): string[] {
  const result = docker.runSync(['ps', '-aq', '--filter', `label=org.nmia-drill.instance=${label}`], { timeoutMs: 15_000 });
  return result.stdout.split('\n').filter(Boolean);
}
