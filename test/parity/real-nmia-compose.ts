import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { seedDatabase } from '../../nmia/seed/seed-database.ts';
import { dockerClientEnv } from '../../src/docker/docker-cli.ts';
import { type CleanupHandle, cleanupRegistry } from '../../src/lifecycle/cleanup-registry.ts';
import { realNmiaSource } from '../../test-support/real-nmia-checkout.ts';

/** postgres:16-alpine is not on this machine; nmia-drill/postgres:17 stands in for it (../shared/nmia/README.md). */
export const REAL_NMIA_IMAGES = ['nmia-api', 'nmia-worker', 'nmia-ui', 'nmia-collector', 'nmia-drill/postgres:17'] as const;

// Only what this machine needs: images without a registry, loopback ports chosen by Docker, a resolver that answers
// at once. Environment, commands, volumes, healthcheck and depends_on stay the real file's.
const OVERRIDE = `services:
  db:
    image: nmia-drill/postgres:17
    pull_policy: never
    ports: !override
      - "127.0.0.1::5432"
  api:
    image: nmia-api
    pull_policy: never
    ports: !override
      - "127.0.0.1::8000"
  worker:
    image: nmia-worker
    pull_policy: never
    # This engine has no route to an upstream resolver: a name no one serves (the connectors' AD servers) would wait
    # out the resolver's 10 s per lookup. One second and one try give the same answer, "no such name".
    dns_opt: ["timeout:1", "attempts:1"]
  ui:
    image: nmia-ui
    pull_policy: never
    ports: !override
      - "127.0.0.1::5173"
  collector:
    image: nmia-collector
    pull_policy: never
    ports: !override
      - "127.0.0.1::9000"
`;

const CREATE_ALL = 'from nmia.core.db import Base, engine; import nmia.core.models, nmia.auth.models; Base.metadata.create_all(engine)';

/**
 * The real NMIA on real Docker from a fresh clone and its own docker-compose.yml (plus the override
 * above), as project nmia-parity-<pid>: tables by the app's create_all in its api image, rows by the
 * project's seeder (the same seed as the reference side), then the app's services.
 */
export class RealNmiaCompose {
  private constructor(
    readonly dir: string,
    readonly project: string,
    private readonly cleanup: CleanupHandle,
  ) {}

  static async start(options: { seed: number; scale: number; services: string[] }): Promise<RealNmiaCompose> {
    const dir = await mkdtemp(join(tmpdir(), 'nmia-parity-real-'));
    const project = `nmia-parity-${process.pid}`;
    let compose: RealNmiaCompose | undefined;
    const cleanup = cleanupRegistry.register(`compose project ${project}`, async () => {
      await execa('docker', ['compose', '-p', project, 'down', '-v', '--remove-orphans', '--timeout', '5'], {
        cwd: join(dir, 'app'),
        env: dockerClientEnv(),
        reject: false,
      });
      await rm(dir, { recursive: true, force: true });
    });
    try {
      const source = realNmiaSource();
      if (!source) throw new Error('no real NMIA repository: set NMIA_DRILL_APP_REPO or put the bundle at ../shared/nmia/nmia.bundle');
      await execa('git', ['clone', '--quiet', source, join(dir, 'app')]);
      await writeFile(join(dir, 'app', 'docker-compose.override.yml'), OVERRIDE);
      compose = new RealNmiaCompose(dir, project, cleanup);
      await compose.compose(['up', '-d', '--wait', 'db']);
      await compose.compose(['run', '--rm', '--no-deps', '-T', 'api', 'python3', '-c', CREATE_ALL]);
      const client = new pg.Client({ ...(await compose.endpoint('db', 5432)), user: 'nmia', password: 'nmia', database: 'nmia' });
      await client.connect();
      try {
        await seedDatabase(client, { seed: options.seed, scale: options.scale });
      } finally {
        await client.end();
      }
      await compose.compose(['up', '-d', ...options.services]);
      return compose;
    } catch (error) {
      await cleanup.run().catch(() => undefined);
      throw error;
    }
  }

  async compose(args: string[]): Promise<string> {
    const { stdout } = await execa('docker', ['compose', '-p', this.project, ...args], {
      cwd: join(this.dir, 'app'),
      env: dockerClientEnv(),
    });
    return stdout;
  }

  /** The loopback address Docker published a service's container port on. */
  async endpoint(service: string, port: number): Promise<{ host: string; port: number }> {
    const published = (await this.compose(['port', service, String(port)])).trim().split('\n')[0] ?? '';
    const at = published.lastIndexOf(':');
    return { host: published.slice(0, at), port: Number(published.slice(at + 1)) };
  }

  async url(service: string, port: number): Promise<string> {
    const { host, port: published } = await this.endpoint(service, port);
    return `http://${host}:${published}`;
  }

  async logs(service: string): Promise<string> {
    return this.compose(['logs', '--no-color', service]);
  }

  async stop(): Promise<void> {
    await this.cleanup.run();
  }
}
