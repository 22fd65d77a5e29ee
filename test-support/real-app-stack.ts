import { randomBytes } from 'node:crypto';
import { join } from 'node:path';
import pg from 'pg';
import type { DockerCli } from '../src/docker/docker-cli.ts';
import { waitForHttp } from '../src/drill/drill-environment.ts';
import { freePort } from '../src/postgres/free-port.ts';
import { canariesFor } from '../nmia/seed/canaries.ts';
import { seedDatabase } from '../nmia/seed/seed-database.ts';
import {
  createAppSchema,
  DATABASE_URL,
  directoryContainerArgs,
  must,
  SECRET_KEY,
  startDatabase,
  testDocker,
  waitForDirectory,
  withClient,
  workerContainerArgs,
} from './real-app-containers.ts';

type Service = 'db' | 'api' | 'worker' | 'ui' | 'directory';

/**
 * The real NMIA's services from their own images and the app's own source (mounted as its docker-compose.yml
 * mounts it), seeded like a drill, with the directory answering as every seeded connector's server: on a private
 * network and free loopback ports, so it never touches compose project `nmia` (no compose lock) and costs one
 * start-up. For probe-level tests of the DR checklist against the real app.
 */
export class RealAppStack {
  private constructor(
    private readonly docker: DockerCli,
    private readonly appDir: string,
    private readonly names: Record<Service, string> & { network: string },
    readonly database: pg.ClientConfig,
    readonly admin: { username: string; password: string },
    readonly urls: { api: string; ui: string },
  ) {}

  static async start(options: { appDir: string; seed: number; scale: number }): Promise<RealAppStack> {
    const docker = testDocker();
    const s = randomBytes(4).toString('hex');
    const names = {
      network: `nmia-drill-ra-${s}`,
      db: `nmia-drill-ra-db-${s}`,
      api: `nmia-drill-ra-api-${s}`,
      worker: `nmia-drill-ra-worker-${s}`,
      ui: `nmia-drill-ra-ui-${s}`,
      directory: `nmia-drill-ra-dir-${s}`,
    };
    const label = ['--label', `org.nmia-drill.test=${names.network}`];
    await must(docker, ['network', 'create', ...label, names.network]);
    const net = (alias: string) => ['--network', names.network, '--network-alias', alias];
    const created: string[] = [];
    const run = async (name: string, args: string[]) => {
      created.push(name);
      await must(docker, ['run', '-d', '--name', name, ...label, ...args]);
    };
    try {
      created.push(names.db);
      const database = await startDatabase(docker, { name: names.db, network: names.network, label });
      await createAppSchema(docker, { network: names.network, label, appDir: options.appDir });
      const client = new pg.Client(database);
      await client.connect();
      let servers: string[];
      try {
        await seedDatabase(client, { seed: options.seed, scale: options.scale });
        const { rows } = await client.query<{ server: string }>(
          `SELECT DISTINCT c.config::jsonb->>'server' AS server FROM connector_instances c JOIN connector_types t ON t.id = c.connector_type_id
            WHERE t.code = 'ad_ldap' AND c.config::jsonb ? 'server'`,
        );
        servers = rows.map((row) => row.server);
      } finally {
        await client.end();
      }
      const appEnv = ['-e', `DATABASE_URL=${DATABASE_URL}`, '-e', `SECRET_KEY=${SECRET_KEY}`];
      await run(names.directory, directoryContainerArgs(names.network, servers));
      // Fixed host ports: a restarted container keeps its address (a random one would change on `docker start`).
      const [apiPort, uiPort] = [await freePort(), await freePort()];
      await run(names.api, [
        ...net('api'),
        ...appEnv,
        '-e',
        'PYTHONPATH=/app/src',
        '-v',
        `${join(options.appDir, 'api', 'src')}:/app/src:ro`,
        '-p',
        `127.0.0.1:${apiPort}:8000`,
        'nmia-api',
      ]);
      await run(names.worker, workerContainerArgs(names.network, options.appDir));
      await run(names.ui, [
        ...net('ui'),
        '-v',
        `${join(options.appDir, 'ui', 'src')}:/app/src:ro`,
        '-p',
        `127.0.0.1:${uiPort}:5173`,
        'nmia-ui',
      ]);
      const urls = { api: `http://127.0.0.1:${apiPort}`, ui: `http://127.0.0.1:${uiPort}` };
      const stack = new RealAppStack(
        docker,
        options.appDir,
        names,
        database,
        { username: 'admin', password: canariesFor(options.seed).adminPassword },
        urls,
      );
      await waitForHttp(`${urls.api}/api/v1/bootstrap/status`, 120_000);
      await waitForHttp(`${urls.ui}/`, 120_000);
      await waitForDirectory(() => stack.logs('directory'));
      return stack;
    } catch (error) {
      await docker.run(['rm', '-f', '-v', ...created], { timeoutMs: 60_000 });
      await docker.run(['network', 'rm', names.network]);
      throw error;
    }
  }

  /** `docker logs`: what `docker compose logs <service>` shows for it. */
  async logs(service: Service): Promise<string> {
    const result = await this.docker.run(['logs', this.names[service]]);
    return result.stdout + result.stderr;
  }

  async stopService(service: Service): Promise<void> {
    await must(this.docker, ['stop', '-t', '10', this.names[service]]);
  }

  async startService(service: Service): Promise<void> {
    await must(this.docker, ['start', this.names[service]]);
  }

  async query<T extends pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<T[]> {
    return withClient(this.database, async (client) => (await client.query<T>(sql, params)).rows);
  }

  get appDirectory(): string {
    return this.appDir;
  }

  async stop(): Promise<void> {
    const { network, ...containers } = this.names;
    await this.docker.run(['rm', '-f', '-v', ...Object.values(containers)], { timeoutMs: 60_000 });
    await this.docker.run(['network', 'rm', network]);
  }
}
