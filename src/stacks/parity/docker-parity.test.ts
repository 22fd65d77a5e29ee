import { existsSync, readFileSync, readdirSync, statSync } from 'node:fs';
import { mkdir, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announceSkip, dockerAvailability } from '../../docker/docker-availability.ts';
import { ParityPair, PARITY_IMAGES, psRows, tryConnect, type Side } from './parity-pair.ts';
import { onFullDisk, tmpfsSupport } from '../../../runbook/kit/full-disk.ts';

const docker = await dockerAvailability(PARITY_IMAGES);
const suffix = announceSkip('docker parity suite', docker);
const SIDES: Side[] = ['emulated', 'docker'];
const tmpfs = tmpfsSupport();

/** Relative path → content (files) or '<dir>' for every entry under dir. */
function tree(dir: string): Record<string, string> {
  const entries: Record<string, string> = {};
  const walk = (current: string) => {
    for (const name of readdirSync(current).sort()) {
      const path = join(current, name);
      if (statSync(path).isDirectory()) {
        entries[relative(dir, path)] = '<dir>';
        walk(path);
      } else {
        entries[relative(dir, path)] = readFileSync(path, 'utf8');
      }
    }
  };
  if (existsSync(dir)) walk(dir);
  return entries;
}

async function archiveEntries(file: string): Promise<string[]> {
  const { stdout } = await execa('tar', ['-tzf', file]);
  return stdout
    .split('\n')
    .filter(Boolean)
    .map((entry) => entry.replace(/^\.\//, '').replace(/\/$/, ''))
    .filter(Boolean)
    .sort();
}

describe.skipIf(!docker.available)(`parity: the emulated docker shim behaves as real Docker${suffix}`, () => {
  let pair: ParityPair;
  const host = (side: Side, ...path: string[]) => join(pair.stack(side).workspace.projectDir, ...path);

  beforeAll(async () => {
    pair = await ParityPair.start();
    for (const side of SIDES) {
      await mkdir(host(side, 'in', 'tree', 'sub'), { recursive: true });
      await writeFile(host(side, 'in', 'note.txt'), 'a note\n');
      await writeFile(host(side, 'in', 'tree', 'a.txt'), 'alpha\n');
      await writeFile(host(side, 'in', 'tree', 'sub', 'b.txt'), 'beta\n');
    }
  }, 120_000);
  afterAll(async () => {
    await pair?.stop();
  }, 120_000);

  it('compose up -d db returns once the container runs, before PostgreSQL accepts connections on a fresh volume', async () => {
    const up = await pair.run('compose', 'up', '-d', 'db');
    expect(up.docker).toMatchObject({ exitCode: 0, stderr: '' });
    expect(up.emulated).toEqual(up.docker);
    const readyAtOnce = await Promise.all(
      SIDES.map((side) =>
        tryConnect(pair.stack(side)).then(
          () => true,
          () => false,
        ),
      ),
    );
    expect({ emulated: readyAtOnce[0], docker: readyAtOnce[1] }).toEqual({ emulated: false, docker: false });
    await Promise.all(SIDES.map((side) => pair.waitForDb(side)));
  });

  it('exec: pg_dump into the service /tmp, psql -c with and without -T (no TTY here), and a failing SQL statement', async () => {
    const dump = await pair.run('compose', 'exec', '-T', 'db', 'pg_dump', '-U', 'nmia', '-d', 'nmia', '-Fc', '--file=/tmp/parity.dump');
    expect(dump.docker).toEqual({ exitCode: 0, stdout: '', stderr: '' });
    expect(dump.emulated).toEqual(dump.docker);
    const withT = await pair.run('compose', 'exec', '-T', 'db', 'psql', '-U', 'nmia', '-At', '-c', 'select 6 * 7');
    expect(withT.docker).toEqual({ exitCode: 0, stdout: '42', stderr: '' });
    expect(withT.emulated).toEqual(withT.docker);
    const noT = await pair.run('compose', 'exec', 'db', 'psql', '-U', 'nmia', '-At', '-c', 'select current_user');
    expect(noT.docker).toEqual({ exitCode: 0, stdout: 'nmia', stderr: '' });
    expect(noT.emulated).toEqual(noT.docker);
    const bad = await pair.run('compose', 'exec', '-T', 'db', 'psql', '-U', 'nmia', '-c', 'select nosuch');
    expect(bad.docker.exitCode).toBe(1);
    expect(bad.docker.stderr).toMatch(/ERROR: {2}column "nosuch" does not exist/);
    expect(bad.emulated).toEqual(bad.docker);
  });

  it('cp: a file and a directory, both ways, into existing and new names', async () => {
    const steps = [
      ['compose', 'cp', 'db:/tmp/parity.dump', './out/'],
      ['compose', 'cp', './in/note.txt', 'db:/tmp/note.txt'],
      ['compose', 'cp', 'db:/tmp/note.txt', './out/note-back.txt'],
      ['compose', 'cp', './in/tree', 'db:/tmp/'],
      ['compose', 'cp', './in/tree', 'db:/tmp/renamed'],
      ['compose', 'cp', 'db:/tmp/tree', './out/tree-back'],
      ['compose', 'cp', 'db:/tmp/tree', './out/tree-back'],
      ['compose', 'cp', 'db:/tmp/renamed/sub/b.txt', './out/'],
    ];
    for (const side of SIDES) await mkdir(host(side, 'out'), { recursive: true });
    for (const step of steps) {
      const result = await pair.run(...step);
      expect(result.docker, step.join(' ')).toEqual({ exitCode: 0, stdout: '', stderr: '' });
      expect(result.emulated, step.join(' ')).toEqual(result.docker);
    }
    const [emulatedOut, dockerOut] = SIDES.map((side) => tree(host(side, 'out')));
    for (const out of [emulatedOut!, dockerOut!]) {
      expect(out['parity.dump']!.startsWith('PGDMP')).toBe(true);
      delete out['parity.dump']; // a dump differs in its timestamp
    }
    expect(dockerOut).toEqual({
      'b.txt': 'beta\n',
      'note-back.txt': 'a note\n',
      'tree-back': '<dir>',
      'tree-back/a.txt': 'alpha\n',
      'tree-back/sub': '<dir>',
      'tree-back/sub/b.txt': 'beta\n',
      'tree-back/tree': '<dir>',
      'tree-back/tree/a.txt': 'alpha\n',
      'tree-back/tree/sub': '<dir>',
      'tree-back/tree/sub/b.txt': 'beta\n',
    });
    expect(emulatedOut).toEqual(dockerOut);
  });

  it('cp: what is missing fails with the same exit code and message', async () => {
    for (const step of [
      ['compose', 'cp', 'db:/tmp/nope.dump', './out/x'],
      ['compose', 'cp', './in/nope.txt', 'db:/tmp/'],
      ['compose', 'cp', './in/note.txt', 'db:/nodir/note.txt'],
      ['compose', 'cp', 'db:/tmp/note.txt', './nodir/x'],
    ]) {
      const result = await pair.run(...step);
      expect(result.docker.exitCode, step.join(' ')).toBe(1);
      expect(result.emulated, step.join(' ')).toEqual(result.docker);
    }
  });

  it.skipIf(!tmpfs.ok)(
    `cp onto a full disk (a 4 KiB tmpfs): exit 1, the same message, and what fit left under the target name${tmpfs.ok ? '' : ` (skipped: ${tmpfs.reason})`}`,
    async () => {
      for (const side of SIDES) {
        await writeFile(host(side, 'in', 'big.bin'), Buffer.alloc(200_000, 7));
        await mkdir(host(side, 'full'), { recursive: true });
      }
      expect((await pair.run('compose', 'cp', './in/big.bin', 'db:/tmp/big.bin')).docker.exitCode).toBe(0);
      const results = await Promise.all(
        SIDES.map((side) =>
          onFullDisk(host(side, 'full'), async () => {
            const copied = await pair.runOn(side, ['compose', 'cp', 'db:/tmp/big.bin', './full/big.bin']);
            return { copied, left: readdirSync(host(side, 'full')).map((name) => `${name} ${statSync(host(side, 'full', name)).size}`) };
          }),
        ),
      );
      const [emulated, real] = results as [(typeof results)[0], (typeof results)[0]];
      expect(real.copied).toMatchObject({ exitCode: 1, stderr: expect.stringMatching(/no space left on device/) });
      expect(real.left).toEqual(['big.bin 4096']);
      expect(emulated).toEqual(real);
    },
  );

  it('stop: the container stays (ps -a), exec into it fails, and its volume cannot be removed', async () => {
    const stop = await pair.run('compose', 'stop', 'db');
    expect(stop.docker).toEqual({ exitCode: 0, stdout: '', stderr: '' });
    expect(stop.emulated).toEqual(stop.docker);
    const ps = await pair.run('compose', 'ps', '-a');
    expect(psRows(ps.docker.stdout)).toEqual(['nmia-db-1 db Exited (0)']);
    expect(psRows(ps.emulated.stdout)).toEqual(psRows(ps.docker.stdout));
    expect(psRows((await pair.runOn('docker', ['compose', 'ps'])).stdout)).toEqual([]);
    expect(psRows((await pair.runOn('emulated', ['compose', 'ps'])).stdout)).toEqual([]);
    const exec = await pair.run('compose', 'exec', '-T', 'db', 'psql', '-U', 'nmia', '-c', 'select 1');
    expect(exec.docker).toEqual({ exitCode: 1, stdout: '', stderr: 'service "db" is not running' });
    expect(exec.emulated).toEqual(exec.docker);
    const rm = await pair.run('volume', 'rm', 'nmia_pgdata');
    expect(rm.docker).toEqual({
      exitCode: 1,
      stdout: '',
      stderr: 'Error response from daemon: remove nmia_pgdata: volume is in use - [<id>]',
    });
    expect(rm.emulated).toEqual(rm.docker);
    const create = await pair.run('volume', 'create', 'nmia_pgdata');
    expect(create.docker).toEqual({ exitCode: 0, stdout: 'nmia_pgdata', stderr: '' });
    expect(create.emulated).toEqual(create.docker);
  });

  it('docker run alpine tar: archives a volume into a bind-mounted host dir; an unknown volume name is created empty', async () => {
    const backup = await pair.run(
      'run',
      '--rm',
      '-v',
      'nmia_pgdata:/data',
      '-v',
      '$WS/nmia/backups:/backup',
      'alpine',
      'tar',
      'czf',
      '/backup/pgdata.tar.gz',
      '-C',
      '/data',
      '.',
    );
    expect(backup.docker).toEqual({ exitCode: 0, stdout: '', stderr: '' });
    expect(backup.emulated).toEqual(backup.docker);
    const typo = await pair.run(
      'run',
      '--rm',
      '-v',
      'nmai_pgdata:/data',
      '-v',
      '$WS/nmia/backups:/backup',
      'alpine',
      'tar',
      'czf',
      '/backup/typo.tar.gz',
      '-C',
      '/data',
      '.',
    );
    expect(typo.docker).toEqual({ exitCode: 0, stdout: '', stderr: '' });
    expect(typo.emulated).toEqual(typo.docker);
    const [emulatedData, dockerData] = await Promise.all(SIDES.map((side) => archiveEntries(host(side, 'backups', 'pgdata.tar.gz'))));
    expect(dockerData).toEqual(expect.arrayContaining(['PG_VERSION', 'global/pg_control', 'base']));
    expect(emulatedData).toEqual(expect.arrayContaining(['PG_VERSION', 'global/pg_control', 'base']));
    const [emulatedTypo, dockerTypo] = await Promise.all(SIDES.map((side) => archiveEntries(host(side, 'backups', 'typo.tar.gz'))));
    expect(dockerTypo).toEqual([]);
    expect(emulatedTypo).toEqual(dockerTypo);
    const names = ['nmia_pgdata', 'nmai_pgdata'];
    expect(await pair.volumes('docker', names)).toEqual(['nmai_pgdata', 'nmia_pgdata']);
    expect(await pair.volumes('emulated', names)).toEqual(await pair.volumes('docker', names));
  });

  it('docker volume rm/create and tar xzf restore into a volume no container uses; unknown volumes', async () => {
    for (const step of [
      ['volume', 'rm', 'nmai_pgdata'],
      ['volume', 'create', 'nmai_pgdata'],
      ['volume', 'create', 'nmai_pgdata'],
      [
        'run',
        '--rm',
        '-v',
        'nmai_pgdata:/data',
        '-v',
        '$WS/nmia/backups:/backup',
        'alpine',
        'tar',
        'xzf',
        '/backup/pgdata.tar.gz',
        '-C',
        '/data',
      ],
    ]) {
      const result = await pair.run(...step);
      expect(result.docker.exitCode, step.join(' ')).toBe(0);
      expect(result.emulated, step.join(' ')).toEqual(result.docker);
    }
    const listing = await pair.run('run', '--rm', '-v', 'nmai_pgdata:/data', 'alpine', 'ls', '/data');
    expect(listing.docker.stdout.split('\n')).toEqual(expect.arrayContaining(['PG_VERSION', 'global', 'base']));
    expect(listing.emulated).toEqual(listing.docker);
    const unknown = await pair.run('volume', 'rm', 'nmia_parity_no_such_volume');
    expect(unknown.docker).toEqual({
      exitCode: 1,
      stdout: '',
      stderr: 'Error response from daemon: get nmia_parity_no_such_volume: no such volume',
    });
    expect(unknown.emulated).toEqual(unknown.docker);
    const forced = await pair.run('volume', 'rm', '-f', 'nmia_parity_no_such_volume');
    expect(forced.docker).toEqual({ exitCode: 0, stdout: 'nmia_parity_no_such_volume', stderr: '' });
    expect(forced.emulated).toEqual(forced.docker);
  });

  it('start brings the stopped db back on its volume; a running container also holds its volume', async () => {
    const start = await pair.run('compose', 'start', 'db');
    expect(start.docker).toEqual({ exitCode: 0, stdout: '', stderr: '' });
    expect(start.emulated).toEqual(start.docker);
    await Promise.all(SIDES.map((side) => pair.waitForDb(side)));
    const rows = await pair.run('compose', 'exec', '-T', 'db', 'psql', '-U', 'nmia', '-At', '-c', 'select 6 * 7');
    expect(rows.docker.stdout).toBe('42');
    expect(rows.emulated).toEqual(rows.docker);
    const rm = await pair.run('volume', 'rm', 'nmia_pgdata');
    expect(rm.docker).toEqual({
      exitCode: 1,
      stdout: '',
      stderr: 'Error response from daemon: remove nmia_pgdata: volume is in use - [<id>]',
    });
    expect(rm.emulated).toEqual(rm.docker);
    const create = await pair.run('volume', 'create', 'nmia_pgdata');
    expect(create.docker).toEqual({ exitCode: 0, stdout: 'nmia_pgdata', stderr: '' });
    expect(create.emulated).toEqual(create.docker);
  });

  it('compose start of a service that has no container is a silent no-op; of an unknown service it fails', async () => {
    const noContainer = await pair.run('compose', 'start', 'ticker');
    expect(noContainer.docker).toEqual({ exitCode: 0, stdout: '', stderr: '' });
    expect(noContainer.emulated).toEqual(noContainer.docker);
    expect(psRows((await pair.runOn('docker', ['compose', 'ps', '-a', 'ticker'])).stdout)).toEqual([]);
    const unknown = await pair.run('compose', 'start', 'nosuch');
    expect(unknown.docker).toEqual({ exitCode: 1, stdout: '', stderr: 'no such service: nosuch' });
    expect(unknown.emulated).toEqual(unknown.docker);
  });

  it('exec and cp name a service without a container, or an unknown one, the way Compose does', async () => {
    for (const step of [
      ['compose', 'exec', '-T', 'ticker', 'true'],
      ['compose', 'exec', '-T', 'nosuch', 'true'],
      ['compose', 'cp', 'ticker:/tmp/x', './out/'],
      ['compose', 'cp', 'nosuch:/tmp/x', './out/'],
    ]) {
      const result = await pair.run(...step);
      expect(result.docker.exitCode, step.join(' ')).toBe(1);
      expect(result.emulated, step.join(' ')).toEqual(result.docker);
    }
  });

  it('an app service: up, stop leaves an exited container, logs keep its output', async () => {
    const up = await pair.run('compose', 'up', '-d', 'ticker');
    expect(up.docker).toMatchObject({ exitCode: 0, stderr: '' });
    expect(up.emulated).toEqual(up.docker);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const stop = await pair.run('compose', 'stop', 'ticker');
    expect(stop.docker).toEqual({ exitCode: 0, stdout: '', stderr: '' });
    expect(stop.emulated).toEqual(stop.docker);
    const ps = await pair.run('compose', 'ps', '-a', 'ticker');
    expect(psRows(ps.docker.stdout)).toEqual([expect.stringMatching(/^nmia-ticker-1 ticker Exited \(\d+\)$/)]);
    expect(psRows(ps.emulated.stdout)).toEqual(psRows(ps.docker.stdout));
    const logs = await pair.run('compose', 'logs', '--no-color', 'ticker');
    expect(logs.docker.stdout).toMatch(/^\x1b\[2Kticker-1 {2}\| tick started$/m);
    expect(logs.emulated.stdout).toEqual(logs.docker.stdout);
  });

  it('an app container records how its process ended: 143 after an unhandled SIGTERM, its own code after a crash', async () => {
    const up = await pair.run('compose', 'up', '-d', 'sleeper', 'crasher');
    expect(up.docker).toMatchObject({ exitCode: 0, stderr: '' });
    expect(up.emulated).toEqual(up.docker);
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const stop = await pair.run('compose', 'stop', 'sleeper');
    expect(stop.emulated).toEqual(stop.docker);
    const ps = await pair.run('compose', 'ps', '-a', 'sleeper', 'crasher');
    expect(psRows(ps.docker.stdout).sort()).toEqual(['nmia-crasher-1 crasher Exited (3)', 'nmia-sleeper-1 sleeper Exited (143)']);
    expect(psRows(ps.emulated.stdout).sort()).toEqual(psRows(ps.docker.stdout).sort());
  });

  it('down -v removes the project and its volume, and leaves the volume a block created by another name', async () => {
    const down = await pair.run('compose', 'down', '-v');
    expect(down.docker).toEqual({ exitCode: 0, stdout: '', stderr: '' });
    expect(down.emulated).toEqual(down.docker);
    const names = ['nmia_pgdata', 'nmai_pgdata'];
    expect(await pair.volumes('docker', names)).toEqual(['nmai_pgdata']);
    expect(await pair.volumes('emulated', names)).toEqual(['nmai_pgdata']);
    const ps = await pair.run('compose', 'ps', '-a');
    expect(psRows(ps.docker.stdout)).toEqual([]);
    expect(psRows(ps.emulated.stdout)).toEqual([]);
  });
});
