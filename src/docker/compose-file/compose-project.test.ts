import { mkdtemp, mkdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { ComposeFileNotFound, ComposeProject, normalizeProjectName } from './compose-project.ts';
import { interpolate, parseDotEnv } from './interpolate.ts';

describe('ComposeProject', () => {
  let root: string;
  beforeEach(async () => {
    root = await mkdtemp(join(tmpdir(), 'compose-project-'));
  });
  afterEach(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('names the project after its directory and prefixes named volumes with it, as Compose does', async () => {
    const dir = join(root, 'nmia');
    await mkdir(join(dir, 'sub'), { recursive: true });
    await writeFile(
      join(dir, 'docker-compose.yml'),
      'services:\n  db:\n    image: postgres:15\n    volumes: ["pgdata:/var/lib/postgresql/data"]\nvolumes:\n  pgdata:\n',
    );
    const project = ComposeProject.locate(join(dir, 'sub'), undefined, {});
    expect(project.name).toBe('nmia');
    expect(project.volumeName('pgdata')).toBe('nmia_pgdata');
    expect(project.containerName('db')).toBe('nmia-db-1');
    expect(project.service('db')?.volumes).toEqual([{ source: 'pgdata', target: '/var/lib/postgresql/data', kind: 'volume' }]);
    expect(ComposeProject.locate(root, join(dir, 'docker-compose.yml'), { COMPOSE_PROJECT_NAME: 'Other.Name' }).name).toBe('othername');
  });

  it('reads docker-compose.override.yml next to the file as Compose does without -f (its image wins), and names build-only services <project>-<service>', async () => {
    const dir = join(root, 'nmia');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'docker-compose.yml'), 'services:\n  db:\n    image: postgres:16-alpine\n  api:\n    build: ./api\n');
    expect(ComposeProject.locate(dir, undefined, {}).service('db')?.image).toBe('postgres:16-alpine');
    await writeFile(
      join(dir, 'docker-compose.override.yml'),
      'services:\n  db:\n    image: nmia-drill/postgres:17\n    ports: !override\n      - 127.0.0.1:5432:5432\n  directory:\n    image: nmia-drill/node:20\n',
    );
    const project = ComposeProject.locate(dir, undefined, {});
    expect(project.service('db')?.image).toBe('nmia-drill/postgres:17');
    // A service only the override defines is the project's too, as Compose merges it.
    expect(project.service('directory')?.image).toBe('nmia-drill/node:20');
    expect(project.service('api')?.image).toBe('nmia-api');
    // With -f, Compose reads only the files named.
    expect(ComposeProject.locate(dir, 'docker-compose.yml', {}).service('db')?.image).toBe('postgres:16-alpine');
  });

  it('interpolates from .env with the shell environment winning', async () => {
    await writeFile(
      join(root, 'compose.yaml'),
      'services:\n  api:\n    image: x\n    environment:\n      SECRET_KEY: ${SECRET_KEY}\n      MODE: ${MODE:-default}\n',
    );
    await writeFile(join(root, '.env'), 'SECRET_KEY=from-dotenv\nMODE=\n');
    expect(ComposeProject.locate(root, undefined, {}).service('api')?.environment).toEqual({ SECRET_KEY: 'from-dotenv', MODE: 'default' });
    expect(ComposeProject.locate(root, undefined, { SECRET_KEY: 'from-shell' }).service('api')?.environment.SECRET_KEY).toBe('from-shell');
  });

  it('fails like Compose when there is no compose file', () => {
    expect(() => ComposeProject.locate('/', undefined, {})).toThrow(ComposeFileNotFound);
  });
});

describe('interpolate / parseDotEnv', () => {
  it('supports the Compose forms and refuses a missing required variable', () => {
    expect(interpolate('$A ${B} ${C:-c} ${D-d} $$', { A: 'a', B: 'b', C: '' })).toBe('a b c d $');
    expect(() => interpolate('${X:?needed}', {})).toThrow(/X is missing a value: needed/);
    expect(parseDotEnv('# c\nA=1\nexport B="two"\nbad\n')).toEqual({ A: '1', B: 'two' });
    expect(normalizeProjectName('My_Project-1')).toBe('my_project-1');
  });
});
