import { describe, expect, it } from 'vitest';
import { guardedActions } from './destructive-command.ts';

describe('guardedActions: what a docker argv would destroy or create', () => {
  it('reads dropdb and createdb run in a compose service, with their connection options', () => {
    expect(guardedActions(['compose', 'exec', 'db', 'dropdb', '-U', 'nmia', 'nmia'])).toEqual([
      {
        kind: 'drop-database',
        database: 'nmia',
        command: 'docker compose exec db dropdb -U nmia nmia',
        exec: { composeArgs: [], execArgs: [], service: 'db', connectionArgs: ['-U', 'nmia'], maintenanceDb: 'postgres' },
      },
    ]);
    const [create] = guardedActions([
      'compose',
      '-f',
      '/opt/nmia/docker-compose.yml',
      'exec',
      '-T',
      '-e',
      'PGUSER=x',
      'db',
      'createdb',
      '--username=nmia',
      '-T',
      'template0',
      'nmia_restore_test',
    ]);
    expect(create).toEqual({
      kind: 'create-database',
      database: 'nmia_restore_test',
      exec: {
        composeArgs: ['-f', '/opt/nmia/docker-compose.yml'],
        execArgs: ['-e', 'PGUSER=x'],
        service: 'db',
        connectionArgs: ['-U', 'nmia'],
        maintenanceDb: 'postgres',
      },
    });
    expect(
      guardedActions(['compose', 'exec', 'db', 'dropdb', '-Unmia', '--if-exists', '--maintenance-db=template1', 'x'])[0],
    ).toMatchObject({ database: 'x', exec: { connectionArgs: ['-U', 'nmia'], maintenanceDb: 'template1' } });
  });

  it('finds DROP DATABASE in psql -c, quoted or not, and nothing in other SQL', () => {
    const actions = guardedActions([
      'compose',
      'exec',
      'db',
      'psql',
      '-U',
      'nmia',
      '-c',
      'DROP DATABASE IF EXISTS "Prod DB"; drop database nmia;',
    ]);
    expect(actions.map((action) => (action.kind === 'drop-database' ? action.database : action.kind))).toEqual(['Prod DB', 'nmia']);
    expect(
      guardedActions([
        'compose',
        'exec',
        'db',
        'psql',
        '-U',
        'nmia',
        '-c',
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = 'nmia'",
      ]),
    ).toEqual([]);
    expect(guardedActions(['compose', 'exec', 'db', 'pg_restore', '-U', 'nmia', '-d', 'nmia', '--no-owner', '/tmp/x.dump'])).toEqual([]);
  });

  it('reads volume removal and creation, including docker run -v and compose down -v', () => {
    expect(guardedActions(['volume', 'rm', '-f', 'a', 'b'])).toEqual([{ kind: 'remove-volumes', volumes: ['a', 'b'] }]);
    expect(guardedActions(['volume', 'create', 'nmai_pgdata'])).toEqual([{ kind: 'create-volumes', volumes: ['nmai_pgdata'] }]);
    expect(
      guardedActions([
        'run',
        '--rm',
        '-v',
        'nmai_pgdata:/data',
        '-v',
        '/abs/backups:/backup',
        'alpine',
        'tar',
        'czf',
        '/backup/x.tgz',
        '-C',
        '/data',
        '.',
      ]),
    ).toEqual([{ kind: 'create-volumes', volumes: ['nmai_pgdata'] }]);
    expect(guardedActions(['compose', 'down', '-v'])).toEqual([{ kind: 'remove-project-volumes', composeArgs: [] }]);
    expect(guardedActions(['compose', 'down'])).toEqual([]);
    expect(guardedActions(['rm', '-f', 'c1'])).toEqual([{ kind: 'remove-containers', containers: ['c1'] }]);
  });

  it('marks as unverifiable what cannot be checked before it runs', () => {
    for (const argv of [
      ['volume', 'prune', '-f'],
      ['system', 'prune', '--volumes'],
      ['compose', 'exec', 'db', 'pg_restore', '-c', '-C', '-d', 'postgres', '/tmp/x.dump'],
      ['compose', 'exec', 'db', 'sh', '-c', 'dropdb -U nmia nmia'],
      ['exec', 'nmia-db-1', 'dropdb', '-U', 'nmia', 'nmia'],
    ]) {
      expect(guardedActions(argv).map((action) => action.kind)).toEqual(['unverifiable']);
    }
  });

  it('leaves everything else alone', () => {
    for (const argv of [
      ['compose', 'ps'],
      ['compose', 'exec', 'db', 'pg_dump', '-U', 'nmia', '-d', 'nmia', '-Fc'],
      ['compose', 'cp', 'db:/tmp/x', './x'],
      ['volume', 'ls'],
      ['compose', 'stop', 'db'],
    ]) {
      expect(guardedActions(argv)).toEqual([]);
    }
  });
});
