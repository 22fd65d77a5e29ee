import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import { announceSkip, dockerAvailability } from '../../docker/docker-availability.ts';
import { DockerCli, dockerClientEnv } from '../../docker/docker-cli.ts';
import { binaryVersion } from '../../postgres/pg-binaries.ts';
import { startDbImageClients } from './db-image-clients.ts';

const IMAGE = 'nmia-drill/postgres:17';
const docker = await dockerAvailability([IMAGE, 'alpine:latest']);
const suffix = announceSkip('the db image as the harness’s PostgreSQL clients', docker);

describe.skipIf(!docker.available)(`the db image's PostgreSQL clients stand in for older host clients${suffix}`, () => {
  const cli = new DockerCli({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...dockerClientEnv() }, '/');
  const drillIds: string[] = [];
  const dirs: string[] = [];
  afterAll(async () => {
    for (const id of drillIds) await cli.run(['rm', '-f', '-v', `nmia-drill-${id}-pg-clients`]);
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function start(image: string) {
    const dir = await mkdtemp(join(tmpdir(), 'db-image-clients-'));
    dirs.push(dir);
    const drillId = `c${process.pid}${drillIds.length}`;
    drillIds.push(drillId);
    const docker = (await execa('sh', ['-c', 'command -v docker'])).stdout.trim();
    return { dir, clients: () => startDbImageClients(cli, { image, drillId, binDir: join(dir, 'bin'), mounts: [dir], docker }) };
  }

  it('wraps the image’s own pg_dump, pg_restore and psql, which report its major', async () => {
    const { clients } = await start(IMAGE);
    const started = await clients();
    expect(started.version).toMatch(/^17\.\d+$/);
    expect(binaryVersion(started.binaries, 'psql')).toBe(started.version);
    expect(started.binaries.source).toBe('db image');
  });

  it('is an environment error with its fix when the image has no PostgreSQL (seeded: alpine as the db image)', async () => {
    const { clients } = await start('alpine:latest');
    const failure = await clients().then(
      () => undefined,
      (error: unknown) => error as { message: string; fix: string },
    );
    expect(failure?.message).toMatch(/^the db image alpine:latest has no \/usr\/lib\/postgresql\/<major>\/bin/);
    expect(failure?.fix).toMatch(/give the db service an image with PostgreSQL client binaries, or set PG_BINDIR/);
  });
});
