import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announceSkip, dockerAvailability } from '../docker/docker-availability.ts';
import { DockerCli, dockerClientEnv } from '../docker/docker-cli.ts';
import { diffManifests } from '../verify/manifest-diff.ts';
import { takeManifest, type Manifest } from '../verify/manifest.ts';
import { TEST_SCHEMA_SQL, testSeedSql } from '../../test-support/test-schema.ts';
import { ContainerPostgresProvider, DEFAULT_POSTGRES_IMAGE, POSTGRES_MAJOR } from './container-postgres-provider.ts';
import { postgresProviderForTests } from '../../test-support/postgres-provider-for-tests.ts';
import type { StartedContainerPostgres } from './started-container-postgres.ts';

const docker = await dockerAvailability([DEFAULT_POSTGRES_IMAGE]);
const suffix = announceSkip('ContainerPostgresProvider', docker);

describe.skipIf(!docker.available)(`ContainerPostgresProvider (${DEFAULT_POSTGRES_IMAGE})${suffix}`, () => {
  let server: StartedContainerPostgres;
  let workDir: string;
  let source: Manifest;
  const manifestOf = async (database: string): Promise<Manifest> => {
    const client = await server.connect(database);
    try {
      return await takeManifest(client);
    } finally {
      await client.end();
    }
  };
  // The machine's pg_dump/pg_restore against the container, over TCP with a password.
  const tool = (name: string, args: string[], database = 'postgres') =>
    execa(server.binaries.path(name), args, { env: server.env(database) });

  beforeAll(async () => {
    server = await new ContainerPostgresProvider().start();
    workDir = await mkdtemp(join(tmpdir(), 'nmia-container-pg-'));
    await server.createDatabase('src');
    const client = await server.connect('src');
    try {
      await client.query(TEST_SCHEMA_SQL);
      await client.query(testSeedSql());
    } finally {
      await client.end();
    }
    source = await manifestOf('src');
  });
  afterAll(async () => {
    await server?.stop();
    if (workDir) await rm(workDir, { recursive: true, force: true });
  });

  it(`serves PostgreSQL ${POSTGRES_MAJOR} on a published loopback port, with password auth`, async () => {
    expect(server.clientConfig('src')).toMatchObject({ host: '127.0.0.1', port: server.port, user: 'nmia', database: 'src' });
    expect(server.connectionUri('src')).toMatch(new RegExp(`^postgresql://nmia:[^@]+@127\\.0\\.0\\.1:${server.port}/src$`));
    const [row] = await server.query<{ version: string }>("SELECT current_setting('server_version') AS version");
    expect(row!.version.startsWith(`${POSTGRES_MAJOR}.`)).toBe(true);
    const wrong = await execa(server.binaries.path('psql'), ['-c', 'select 1'], {
      env: { ...server.env(), PGPASSWORD: 'wrong' },
      reject: false,
    });
    expect(wrong.exitCode).toBe(2);
    expect(wrong.stderr).toMatch(/password authentication failed/);
  });

  it('keeps the manifest through pg_dump -Fc → pg_restore into a fresh database', async () => {
    const dump = join(workDir, 'src.dump');
    await tool('pg_dump', ['-Fc', '-f', dump], 'src');
    await server.createDatabase('restored');
    await tool('pg_restore', ['--no-owner', '--exit-on-error', '-d', 'restored', dump]);
    const restored = await manifestOf('restored');
    expect(diffManifests(source, restored)).toEqual([]);
    expect(restored.schema.fingerprint).toBe(source.schema.fingerprint);
    // The same comparison catches a single changed row: the round trip check can fail.
    await server.query(`UPDATE owners SET name = name || '!' WHERE id = 1`, [], 'restored');
    expect(diffManifests(source, await manifestOf('restored')).map((difference) => difference.kind)).toContain('content-hash');
  });

  it("runs the image's own binaries through exec, as the runbook's blocks do", async () => {
    const result = await server.exec(['pg_dump', '-U', 'nmia', '-d', 'src', '--schema-only', '--file=/tmp/schema.sql']);
    expect(result.exitCode).toBe(0);
    expect((await server.exec(['sh', '-c', 'grep -c "CREATE TABLE" /tmp/schema.sql'])).stdout.trim()).not.toBe('0');
  });

  it('stop() removes the container and leaves no volume; a second stop is a no-op', async () => {
    const other = await new ContainerPostgresProvider().start();
    const cli = new DockerCli({ PATH: process.env.PATH ?? '', ...dockerClientEnv() }, '/');
    const id = other.containerId;
    const mounts = (await cli.run(['inspect', '--format', '{{len .Mounts}}', id])).stdout.trim();
    expect(mounts).toBe('0'); // data on tmpfs: no anonymous volume to leak
    await other.stop();
    await other.stop();
    expect((await cli.run(['ps', '-aq', '--no-trunc', '--filter', `id=${id}`])).stdout.trim()).toBe('');
  });

  it('says which image is missing and how to build it', async () => {
    await expect(new ContainerPostgresProvider({ image: 'postgres:9-nmia-drill-missing' }).start()).rejects.toMatchObject({
      message: expect.stringMatching(/image postgres:9-nmia-drill-missing not found in the Docker engine/),
      fix: expect.stringMatching(/provision-docker\.sh/),
    });
  });
});

describe('postgresProviderForTests', () => {
  it('picks the provider from NMIA_DRILL_PG_PROVIDER, local by default, and rejects anything else', () => {
    expect(postgresProviderForTests({}).kind).toBe('local');
    expect(postgresProviderForTests({ NMIA_DRILL_PG_PROVIDER: 'container' }).kind).toBe('container');
    expect(() => postgresProviderForTests({ NMIA_DRILL_PG_PROVIDER: 'pg-mem' })).toThrow(/not a Postgres provider/);
  });
});
