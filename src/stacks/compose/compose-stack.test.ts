import { existsSync, readFileSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { afterAll, describe, expect, it } from 'vitest';
import { Workspace } from '../workspace.ts';
import { announceSkip, dockerAvailability } from '../../docker/docker-availability.ts';
import { DockerCli, dockerClientEnv } from '../../docker/docker-cli.ts';
import { COMPOSE_LOCK_PATH, ComposeLock } from './compose-lock.ts';
import { ComposeStack } from './compose-stack.ts';

const COMPOSE_FILE = fileURLToPath(new URL('../../../nmia/reference-app/docker-compose.yml', import.meta.url));
const docker = await dockerAvailability(['postgres:15', 'alpine:latest', 'nmia-drill/node:20']);
const suffix = announceSkip('ComposeStack', docker);
const cli = new DockerCli({ PATH: process.env.PATH ?? '', ...dockerClientEnv() }, '/');
const volumeNames = async () => (await cli.run(['volume', 'ls', '-q'])).stdout.split('\n').filter(Boolean);

async function select(stack: ComposeStack, timeoutMs = 30_000): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      const client = new pg.Client({ ...stack.dbClientConfig(), connectionTimeoutMillis: 2_000 });
      await client.connect();
      try {
        return (await client.query<{ n: number }>('SELECT 42 AS n')).rows[0]!.n;
      } finally {
        await client.end();
      }
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
  }
}

// The cases take the project-wide compose lock, which a compose drill elsewhere in the suite may hold for minutes.
describe.skipIf(!docker.available)(
  `ComposeStack: real Docker Compose, destroying only what it created${suffix}`,
  { timeout: 900_000 },
  () => {
    const scratch: string[] = [];
    afterAll(async () => {
      for (const dir of scratch) await rm(dir, { recursive: true, force: true });
    });

    it('runs the project nmia with free app ports, follows the db port across a restart, and removes exactly its own resources', async () => {
      const before = `nmia_drill_test_foreign_${process.pid}`;
      const anonymousLike = 'f'.repeat(48) + String(process.pid).padStart(16, '0');
      await cli.run(['volume', 'create', before]);
      try {
        await lifecycle(before, anonymousLike);
      } finally {
        await cli.run(['volume', 'rm', '-f', before, anonymousLike]);
      }
    });

    async function lifecycle(before: string, anonymousLike: string): Promise<void> {
      const workspace = await Workspace.create(`cst${process.pid}`);
      const stack = await ComposeStack.create({
        workspace,
        composeFile: COMPOSE_FILE,
        dotEnv: { DATABASE_URL: 'postgresql://nmia:nmia@db:5432/nmia', SECRET_KEY: 'canary-secret' },
        reason: 'test',
      });
      try {
        const env = stack.blockEnv();
        // The blocks' docker is the ownership guard in front of the real CLI (src/safety/docker-guard-main.ts).
        expect(env.PATH).toBe(`${join(workspace.harnessDir, 'guard', 'bin')}:${process.env.PATH}`);
        expect(env.DOCKER_HOST).toBe(process.env.DOCKER_HOST);
        expect(env.NMIA_DRILL_REPO).toBe(fileURLToPath(new URL('../../../', import.meta.url)).replace(/\/$/, ''));
        expect(Number(env.NMIA_API_PORT)).not.toBe(8000);
        expect(readFileSync(join(workspace.projectDir, '.env'), 'utf8')).toContain(`NMIA_API_PORT=${env.NMIA_API_PORT}\n`);
        expect(stack.project().service('api')?.ports[0]?.hostPort).toBe(Number(env.NMIA_API_PORT));

        // startDb: the db is up and healthy before the drill's own `up -d db`.
        expect(await select(stack, 5_000)).toBe(42);
        const labels = (
          await cli.run(['inspect', '--format', '{{ index .Config.Labels "org.nmia-drill.drill" }}', 'nmia-db-1'])
        ).stdout.trim();
        expect(labels).toBe(workspace.drillId);
        const volumeLabel = (
          await cli.run(['volume', 'inspect', '--format', '{{ index .Labels "org.nmia-drill.drill" }}', 'nmia_pgdata'])
        ).stdout.trim();
        expect(volumeLabel).toBe(workspace.drillId);

        const published = async () => Number((await stack.docker(['compose', 'port', 'db', '5432'])).stdout.trim().split(':').at(-1));
        expect(stack.dbClientConfig()).toMatchObject({
          host: '127.0.0.1',
          port: await published(),
          user: 'nmia',
          password: 'nmia',
          database: 'nmia',
        });
        expect((await stack.docker(['compose', 'stop', 'db'])).exitCode).toBe(0);
        expect(() => stack.dbClientConfig()).toThrow(/service db publishes no port 5432 \(is it running\?\)/);
        expect((await stack.docker(['compose', 'start', 'db'])).exitCode).toBe(0);
        expect(stack.dbClientConfig().port).toBe(await published());
        expect(await select(stack)).toBe(42);

        // What runbook blocks and other tools create meanwhile.
        expect((await stack.docker(['run', '--rm', '-v', 'nmai_pgdata:/data', 'alpine', 'true'])).exitCode).toBe(0);
        await cli.run(['volume', 'create', anonymousLike]);
        const versions = await stack.versions();
        expect(versions).toMatchObject({
          docker: expect.stringMatching(/^\d/),
          compose: expect.stringMatching(/^2\./),
          postgres: expect.stringMatching(/^15\./),
        });
      } finally {
        await stack.stop();
      }
      const after = await volumeNames();
      expect(after).not.toContain('nmia_pgdata');
      expect(after).not.toContain('nmai_pgdata');
      expect(after).toContain(before);
      expect(after).toContain(anonymousLike);
      expect((await cli.run(['ps', '-aq', '--filter', 'label=com.docker.compose.project=nmia'])).stdout.trim()).toBe('');
      expect(existsSync(workspace.root)).toBe(false);
      // Our hold on the lock is gone (another drill may hold it by now).
      const owner = existsSync(`${COMPOSE_LOCK_PATH}.owner.json`)
        ? (JSON.parse(readFileSync(`${COMPOSE_LOCK_PATH}.owner.json`, 'utf8')) as { drillId: string })
        : undefined;
      expect(owner?.drillId).not.toBe(workspace.drillId);
    }

    it('refuses to start on top of a volume it did not create, and leaves it alone', async () => {
      const guard = await ComposeLock.acquire('refusal-test'); // no other compose drill may see the planted volume
      const privateLock = await mkdtemp(join(tmpdir(), 'nmia-lock-'));
      scratch.push(privateLock);
      const workspace = await Workspace.create(`csr${process.pid}`);
      try {
        expect((await cli.run(['volume', 'create', 'nmai_pgdata'])).exitCode).toBe(0);
        await expect(
          ComposeStack.create({
            workspace,
            composeFile: COMPOSE_FILE,
            dotEnv: {},
            reason: 'test',
            lock: { path: join(privateLock, 'compose.lock') },
          }),
        ).rejects.toMatchObject({
          message: expect.stringMatching(/^the Docker engine already has volume nmai_pgdata; a drill destroys only what it created/),
          fix: expect.stringMatching(/docker volume rm nmai_pgdata/),
        });
        expect(await volumeNames()).toContain('nmai_pgdata');
        expect(existsSync(join(privateLock, 'compose.lock'))).toBe(false); // released on refusal
      } finally {
        await cli.run(['volume', 'rm', 'nmai_pgdata']);
        await workspace.remove();
        await guard.unlock();
      }
    });

    it('says which image is missing before it touches anything', async () => {
      const dir = await mkdtemp(join(tmpdir(), 'nmia-compose-missing-'));
      scratch.push(dir);
      const file = join(dir, 'docker-compose.yml');
      await writeFile(file, 'services:\n  db:\n    image: nmia-drill/not-built:1\n    pull_policy: never\n');
      const workspace = await Workspace.create(`csm${process.pid}`);
      try {
        await expect(ComposeStack.create({ workspace, composeFile: file, dotEnv: {}, reason: 'test' })).rejects.toMatchObject({
          message: expect.stringMatching(/^image nmia-drill\/not-built:1 not found in the Docker engine/),
          fix: expect.stringMatching(/provision-docker\.sh/),
        });
      } finally {
        await workspace.remove();
      }
    });
  },
);
