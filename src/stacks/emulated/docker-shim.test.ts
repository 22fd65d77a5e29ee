import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Workspace } from '../workspace.ts';
import { EmulatedStack } from './emulated-stack.ts';

const COMPOSE = `services:
  db:
    image: postgres:15
    environment:
      POSTGRES_USER: nmia
      POSTGRES_PASSWORD: nmia
      POSTGRES_DB: nmia
    volumes:
      - pgdata:/var/lib/postgresql/data
  ticker:
    image: nmia-drill/node:20
    environment:
      SECRET_KEY: fixed-in-the-compose-file
    x-emulated:
      command: ["${process.execPath}", "-e", "console.log('tick started'); process.on('SIGTERM', () => { console.log('tick stopping'); process.exit(0); }); setInterval(() => {}, 1000);"]
volumes:
  pgdata:
`;

describe('emulated docker shim: Docker semantics', () => {
  let stack: EmulatedStack;
  let scratch: string;
  const docker = (...args: string[]) => stack.docker(args);

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'shim-test-'));
    await writeFile(join(scratch, 'docker-compose.yml'), COMPOSE);
    stack = await EmulatedStack.create({
      workspace: await Workspace.create('shimtest'),
      composeFile: join(scratch, 'docker-compose.yml'),
      dotEnv: {},
      reason: 'test',
    });
    expect((await docker('compose', 'up', '-d', '--wait')).exitCode).toBe(0);
  });
  afterAll(async () => {
    await stack?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('keeps the db data in the volume <project>_pgdata, named from the project directory', async () => {
    const inspect = await docker('volume', 'inspect', 'nmia_pgdata');
    expect(inspect.exitCode).toBe(0);
    const [volume] = JSON.parse(inspect.stdout) as Array<{ Name: string; Mountpoint: string; Labels: Record<string, string> }>;
    expect(volume?.Labels['com.docker.compose.project']).toBe('nmia');
    expect(existsSync(join(volume!.Mountpoint, 'PG_VERSION'))).toBe(true);
    const exec = await docker('compose', 'exec', '-T', 'db', 'psql', '-U', 'nmia', '-At', '-c', 'select current_database()');
    expect(exec).toMatchObject({ exitCode: 0, stdout: 'nmia' });
  });

  it('creates a named volume empty on first reference', async () => {
    const run = await docker('run', '--rm', '-v', 'brand_new:/data', 'alpine', 'ls', '-A', '/data');
    expect(run).toMatchObject({ exitCode: 0, stdout: '' });
    expect((await docker('volume', 'ls', '-q')).stdout.split('\n')).toContain('brand_new');
    expect((await docker('volume', 'rm', 'brand_new')).exitCode).toBe(0);
  });

  it('refuses to remove a volume while a container uses it, running or stopped', async () => {
    const running = await docker('volume', 'rm', 'nmia_pgdata');
    expect(running.exitCode).toBe(1);
    expect(running.stderr).toMatch(/volume is in use/);
    expect((await docker('compose', 'stop', 'db')).exitCode).toBe(0);
    const stopped = await docker('volume', 'rm', 'nmia_pgdata');
    expect(stopped.exitCode).toBe(1);
    expect(stopped.stderr).toMatch(/volume is in use/);
    expect((await docker('volume', 'rm', 'no_such_volume')).stderr).toMatch(/no such volume/);
  });

  it('fails exec into a stopped service, and start brings it back on the same data', async () => {
    const exec = await docker('compose', 'exec', '-T', 'db', 'psql', '-U', 'nmia', '-c', 'select 1');
    expect(exec.exitCode).toBe(1);
    expect(exec.stderr).toMatch(/service "db" is not running/);
    expect((await docker('compose', 'start', 'db')).exitCode).toBe(0);
    // As with Docker, start returns before the server accepts connections.
    let select = await docker('compose', 'exec', '-T', 'db', 'psql', '-U', 'nmia', '-At', '-c', 'select 1');
    for (let attempt = 0; select.exitCode !== 0 && attempt < 100; attempt++) {
      expect(select.stderr).toMatch(
        /connection to server on socket "\/var\/run\/postgresql\/\.s\.PGSQL\.5432" failed|the database system is starting up/,
      );
      await new Promise((resolve) => setTimeout(resolve, 100));
      select = await docker('compose', 'exec', '-T', 'db', 'psql', '-U', 'nmia', '-At', '-c', 'select 1');
    }
    expect(select.stdout).toBe('1');
  });

  it('copies files and directories both ways between the host and the service filesystem', async () => {
    const hostDir = join(stack.workspace.projectDir, 'cp-test');
    await mkdir(join(hostDir, 'tree'), { recursive: true });
    await writeFile(join(hostDir, 'tree', 'a.txt'), 'alpha');
    expect((await docker('compose', 'cp', './cp-test/tree', 'db:/tmp/')).exitCode).toBe(0);
    expect((await docker('compose', 'cp', 'db:/tmp/tree/a.txt', './cp-test/back.txt')).exitCode).toBe(0);
    expect(await readFile(join(hostDir, 'back.txt'), 'utf8')).toBe('alpha');
    expect((await docker('compose', 'cp', 'db:/tmp/tree', './cp-test/tree-back')).exitCode).toBe(0);
    expect(await readdir(join(hostDir, 'tree-back'))).toEqual(['a.txt']);
    const missing = await docker('compose', 'cp', 'db:/tmp/nope.dump', './cp-test/x');
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toMatch(/Could not find the file \/tmp\/nope.dump/);
    // pg_dump writes into the service's own /tmp, which is not the host's.
    expect(
      (await docker('compose', 'exec', '-T', 'db', 'pg_dump', '-U', 'nmia', '-d', 'nmia', '-Fc', '--file=/tmp/shim-test.dump')).exitCode,
    ).toBe(0);
    expect(existsSync('/tmp/shim-test.dump')).toBe(false);
    expect((await docker('compose', 'cp', 'db:/tmp/shim-test.dump', './cp-test/')).exitCode).toBe(0);
    expect(existsSync(join(hostDir, 'shim-test.dump'))).toBe(true);
  });

  it('archives a volume with the alpine image and restores it into a new volume', async () => {
    await docker('compose', 'stop', 'db');
    const backups = stack.workspace.backupsDir;
    expect(
      (
        await docker(
          'run',
          '--rm',
          '-v',
          'nmia_pgdata:/data',
          '-v',
          `${backups}:/backup`,
          'alpine',
          'tar',
          'czf',
          '/backup/v.tar.gz',
          '-C',
          '/data',
          '.',
        )
      ).exitCode,
    ).toBe(0);
    expect((await docker('volume', 'create', 'copy_of_pgdata')).exitCode).toBe(0);
    expect(
      (
        await docker(
          'run',
          '--rm',
          '-v',
          'copy_of_pgdata:/data',
          '-v',
          `${backups}:/backup`,
          'alpine',
          'tar',
          'xzf',
          '/backup/v.tar.gz',
          '-C',
          '/data',
        )
      ).exitCode,
    ).toBe(0);
    const [copy] = JSON.parse((await docker('volume', 'inspect', 'copy_of_pgdata')).stdout) as Array<{ Mountpoint: string }>;
    expect(existsSync(join(copy!.Mountpoint, 'global', 'pg_control'))).toBe(true);
    expect((await docker('compose', 'start', 'db')).exitCode).toBe(0);
  });

  it('runs app services as processes: up, stop, logs', async () => {
    const ps = await docker('compose', 'ps');
    expect(ps.stdout).toMatch(/nmia-ticker-1\s+nmia-drill\/node:20\s+ticker\s+Up/);
    expect((await docker('compose', 'stop', 'ticker')).exitCode).toBe(0);
    expect((await docker('compose', 'ps')).stdout).not.toMatch(/ticker/);
    expect((await docker('compose', 'ps', '-a')).stdout).toMatch(/ticker\s+Exited/);
    expect((await docker('compose', 'logs', 'ticker')).stdout).toMatch(
      /\x1b\[2Kticker-1 {2}\| tick started\n\x1b\[2Kticker-1 {2}\| tick stopping/,
    );
    const unknown = await docker('compose', 'start', 'nosuch');
    expect(unknown).toMatchObject({ exitCode: 1 });
    expect(unknown.stderr).toMatch(/no such service: nosuch/);
  });

  it('answers printenv in an app service from the environment its compose file gave it, exit 1 for an unset name', async () => {
    expect((await docker('compose', 'start', 'ticker')).exitCode).toBe(0);
    const set = await docker('compose', 'exec', '-T', 'ticker', 'printenv', 'SECRET_KEY');
    expect(set).toMatchObject({ exitCode: 0, stdout: 'fixed-in-the-compose-file' });
    const extra = await docker('compose', 'exec', '-T', '-e', 'EXTRA=1', 'ticker', 'printenv', 'EXTRA', 'NOT_SET');
    expect(extra).toMatchObject({ exitCode: 1, stdout: '1' });
    // The whole environment would show the emulation's own variables: refused, never approximated.
    expect((await docker('compose', 'exec', '-T', 'ticker', 'printenv')).exitCode).toBe(125);
  });

  it('refuses what it cannot emulate with exit 125 and a clear message, never a silent success', async () => {
    for (const args of [
      ['ps'],
      ['compose', 'exec', 'db', 'sh'],
      ['run', 'ubuntu', 'true'],
      ['compose', 'up'],
      ['compose', 'stop', '--bogus-flag', 'db'],
      ['network', 'ls'],
    ]) {
      const result = await docker(...args);
      expect(result.exitCode, args.join(' ')).toBe(125);
      expect(result.stderr.length, args.join(' ')).toBeGreaterThan(0);
    }
  });
});
