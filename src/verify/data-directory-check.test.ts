import { mkdtemp, rm, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announceSkip, dockerAvailability } from '../docker/docker-availability.ts';
import { dockerClientEnv } from '../docker/docker-cli.ts';
import { manifestOfDataArchiveInImage } from './data-directory-check.ts';

const IMAGE = 'nmia-drill/postgres:17';
const docker = await dockerAvailability([IMAGE]);
const suffix = announceSkip('volume archive on the db image', docker);
const PASSWORD = 'volume-check-canary-pw';

const run = (args: string[]) =>
  execa('docker', args, { env: dockerClientEnv(), reject: false }).then((result) => ({
    exitCode: result.exitCode ?? 1,
    stdout: String(result.stdout),
    stderr: String(result.stderr),
  }));

describe.skipIf(!docker.available)(`a volume archive of a newer PostgreSQL, started by the db image's own server${suffix}`, () => {
  let dir: string;
  let archive: string;
  const source = `nmia-drill-test-${process.pid}-volume-source`;

  // What volume-backup archives: the data directory of a db container of that image, with a table in it.
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'volume-image-test-'));
    await run(
      ['run', '-d', '--name', source, '-e', 'POSTGRES_USER=nmia', '-e', `POSTGRES_PASSWORD=${PASSWORD}`, '-e', 'POSTGRES_DB=nmia'].concat([
        '-v',
        `${join(dir, 'data')}:/var/lib/postgresql/data`,
        IMAGE,
      ]),
    );
    for (let tries = 0; (await run(['exec', source, 'psql', '-U', 'nmia', '-d', 'nmia', '-c', 'select 1'])).exitCode !== 0; tries++) {
      if (tries > 120) throw new Error('the source db never started');
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    expect(
      (await run(['exec', source, 'psql', '-U', 'nmia', '-d', 'nmia', '-c', 'CREATE TABLE kept AS SELECT generate_series(1, 42) AS n']))
        .exitCode,
    ).toBe(0);
    await run(['stop', source]);
    archive = join(dir, 'pgdata.tar.gz');
    await execa('tar', ['-czf', archive, '-C', join(dir, 'data'), '.']);
  }, 120_000);
  afterAll(async () => {
    await run(['rm', '-f', '-v', source]);
    await run(['run', '--rm', '--entrypoint', 'rm', '-v', `${dir}:/d`, IMAGE, '-rf', '/d/data']);
    await rm(dir, { recursive: true, force: true });
  });

  const check = (file: string) =>
    manifestOfDataArchiveInImage(file, {
      image: IMAGE,
      drillId: `t${process.pid}`,
      workDir: dir,
      docker: run,
      user: 'nmia',
      password: PASSWORD,
      readyTimeoutMs: 20_000,
    });

  it("starts the archive with the image's server and reads it back, leaving no container or directory behind", async () => {
    const result = await check(archive);
    expect(result.ok, JSON.stringify(result)).toBe(true);
    if (result.ok) expect(result.manifest.tables['public.kept']?.rows).toBe(42);
    expect((await run(['ps', '-a', '--filter', `name=nmia-drill-t${process.pid}-volume-check`, '-q'])).stdout).toBe('');
    expect((await execa('ls', [dir])).stdout.split('\n').filter((name) => name.startsWith('volume-check-'))).toEqual([]);
  }, 90_000);

  it('fails (seeded: pg_control cut to nothing) with the cause from the server, never passing', async () => {
    const damaged = join(dir, 'damaged');
    await execa('mkdir', ['-p', damaged]);
    await execa('tar', ['-xzf', archive, '-C', damaged]);
    await truncate(join(damaged, 'global', 'pg_control'), 0);
    const broken = join(dir, 'damaged.tar.gz');
    await execa('tar', ['-czf', broken, '-C', damaged, '.']);
    await rm(damaged, { recursive: true, force: true });
    const result = await check(broken);
    expect(result).toMatchObject({
      ok: false,
      reason: expect.stringMatching(/did not accept connections on the extracted archive \(it exited\): .*PANIC: .*global\/pg_control/),
    });
  }, 90_000);
});
