import { existsSync } from 'node:fs';
import { chmod, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announceSkip, dockerAvailability } from './docker-availability.ts';
import { DockerCli, dockerClientEnv } from './docker-cli.ts';
import { DockerPreflight } from './docker-preflight.ts';

const DOCKER_CLI = ['/usr/bin/docker', '/usr/local/bin/docker'].find((path) => existsSync(path));

describe('DockerPreflight: one-line cause and fix for each way Docker is not usable', () => {
  let fakeBin: string;
  beforeAll(async () => {
    fakeBin = await mkdtemp(join(tmpdir(), 'nmia-fake-docker-'));
    // A machine with Debian 12's docker-compose 1.x and a docker CLI without the v2 plugin.
    await writeFile(
      join(fakeBin, 'docker'),
      `#!/bin/sh\nif [ "$1" = compose ]; then echo "docker: 'compose' is not a docker command." >&2; exit 1; fi\nexit 0\n`,
    );
    await writeFile(join(fakeBin, 'docker-compose'), '#!/bin/sh\necho 1.29.2\n');
    await chmod(join(fakeBin, 'docker'), 0o755);
    await chmod(join(fakeBin, 'docker-compose'), 0o755);
  });
  afterAll(async () => {
    await rm(fakeBin, { recursive: true, force: true });
  });

  it('no docker CLI at all', async () => {
    const preflight = new DockerPreflight(new DockerCli({ PATH: '/nonexistent' }, '/'));
    await expect(preflight.engine()).rejects.toMatchObject({
      message: 'no docker CLI on PATH',
      fix: expect.stringMatching(/--stack emulated/),
    });
  });

  it.skipIf(!DOCKER_CLI)('Docker present but the daemon down', async () => {
    const preflight = new DockerPreflight(
      new DockerCli({ PATH: '/usr/local/bin:/usr/bin:/bin', DOCKER_HOST: 'unix:///nonexistent/docker.sock' }, '/'),
    );
    await expect(preflight.engine()).rejects.toMatchObject({
      message: expect.stringMatching(
        /^Docker is installed but no engine answers at unix:\/\/\/nonexistent\/docker\.sock: .*(Cannot connect|no such file)/i,
      ),
      fix: expect.stringMatching(/start the Docker daemon/),
    });
  });

  it('only Compose v1', async () => {
    const preflight = new DockerPreflight(new DockerCli({ PATH: fakeBin }, '/'));
    await expect(preflight.composeV2()).rejects.toMatchObject({
      message: 'only Compose v1 (docker-compose 1.29.2) is installed; the runbook\'s "docker compose" commands need Compose v2',
      fix: expect.stringMatching(/Compose v2 CLI plugin/),
    });
  });
});

const docker = await dockerAvailability([]);
const suffix = announceSkip('DockerPreflight images', docker);

describe.skipIf(!docker.available)(`DockerPreflight against the engine${suffix}`, () => {
  const preflight = new DockerPreflight(new DockerCli({ PATH: process.env.PATH ?? '', ...dockerClientEnv() }, '/'));

  it('names every missing image and how to build them, without trying a registry', async () => {
    await expect(preflight.images(['alpine:latest', 'nmia-drill/missing:1', 'postgres:0-missing'])).rejects.toMatchObject({
      message:
        'image nmia-drill/missing:1, postgres:0-missing not found in the Docker engine, and the drill pulls nothing (pull_policy: never)',
      fix: expect.stringMatching(/provision-docker\.sh/),
    });
  });

  it('reports the engine, Compose v2 and the storage driver when all is there', async () => {
    const versions = await preflight.check(['alpine:latest']);
    expect(versions.engine).toMatch(/^\d+\./);
    expect(versions.compose).toMatch(/^2\./);
    expect(versions.storageDriver.length).toBeGreaterThan(0);
  });
});
