import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const BIN = fileURLToPath(new URL('../../bin/nmia-drill.js', import.meta.url));

/** The real NMIA's compose file at 3e1062f3, in the parts the override touches. */
const APP_COMPOSE = `services:
  db:
    image: postgres:16-alpine
    ports:
      - "5432:5432"
    volumes:
      - pgdata:/var/lib/postgresql/data
  api:
    build: ./api
    ports:
      - "8000:8000"
volumes:
  pgdata:
`;

type PlanJson = {
  settings: { app: { value: { kind: string; location?: string; ref?: string }; from: string } };
  stack: { kind: string };
  app: {
    kind: string;
    source: string;
    composeAdditions?: Array<{ path: string; value: unknown; reason: string; replaces?: string }>;
    harnessActions?: string[];
  };
};

let root: string;
let repo: string;
beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nmia-app-option-'));
  repo = join(root, 'nmia-src');
  const env = { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' };
  await execa('git', ['init', '--quiet', '-b', 'main', repo]);
  await writeFile(join(repo, 'docker-compose.yml'), APP_COMPOSE);
  await execa('git', ['add', '.'], { cwd: repo });
  await execa('git', ['commit', '--quiet', '-m', 'app'], { cwd: repo, env });
  await execa('git', ['tag', 'v1'], { cwd: repo });
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

const plan = async (args: string[], cwd: string, env: Record<string, string> = {}) => {
  const result = await execa('node', [BIN, 'plan', '--json', '--only', 'full-backup', ...args], {
    cwd,
    env: { NMIA_DRILL_CONFIG: '', NMIA_DRILL_APP: '', ...env },
    reject: false,
    stdin: 'ignore',
  });
  expect(result.exitCode, String(result.stderr)).toBe(0);
  return JSON.parse(String(result.stdout)) as PlanJson;
};

// Each case starts the CLI (tsx) once or more: slow on a loaded two-core machine.
describe('--app (config key app, NMIA_DRILL_APP)', { timeout: 180_000 }, () => {
  it('is the reference app when absent, and nothing about the plan changes', async () => {
    const shown = await plan([], root);
    expect(shown.settings.app).toEqual({ value: { kind: 'reference' }, from: 'default' });
    expect(shown.app.kind).toBe('reference');
    expect(shown.app.composeAdditions).toBeUndefined();
  });

  it('comes from the flag, the environment or the config file (relative to it), flag first', async () => {
    const configDir = join(root, 'ops');
    await mkdir(configDir, { recursive: true });
    await writeFile(join(configDir, 'drill.config.json'), JSON.stringify({ app: '../nmia-src#v1' }));
    const fromConfig = await plan([], configDir);
    expect(fromConfig.settings.app).toEqual({
      value: { kind: 'repository', location: repo, ref: 'v1', local: true },
      from: 'drill.config.json: app',
    });
    const fromEnv = await plan([], configDir, { NMIA_DRILL_APP: repo });
    expect(fromEnv.settings.app.from).toBe('NMIA_DRILL_APP');
    const fromFlag = await plan(['--app', `${repo}#main`], configDir, { NMIA_DRILL_APP: repo });
    expect(fromFlag.settings.app).toMatchObject({ value: { ref: 'main' }, from: '--app' });
  });

  it('plans the compose stack and shows every addition to the app compose file with its reason, reading the file without a checkout', async () => {
    const shown = await plan(['--app', repo], root);
    expect(shown.stack.kind).toBe('compose');
    const additions = shown.app.composeAdditions ?? [];
    expect(additions.find((addition) => addition.path === 'services.db.image')).toMatchObject({
      value: 'nmia-drill/postgres:17',
      replaces: 'postgres:16-alpine',
    });
    expect(additions.find((addition) => addition.path === 'services.api.ports')?.value).toEqual(['127.0.0.1:8000:8000']);
    expect(additions.every((addition) => addition.reason.length > 20)).toBe(true);
    // Images the engine lacks are built from the app's Dockerfiles before anything runs (src/stacks/compose/app-image-build.ts).
    expect(shown.app.harnessActions).toContainEqual(expect.stringMatching(/^images: .*docker compose build <services>/));
  });

  it('refuses a path that does not exist (exit 2, one line and a fix)', async () => {
    const result = await execa('node', [BIN, 'plan', '--app', join(root, 'nope')], {
      cwd: root,
      env: { NMIA_DRILL_CONFIG: '' },
      reject: false,
      stdin: 'ignore',
    });
    expect(result.exitCode).toBe(2);
    expect(String(result.stderr)).toMatch(/--app .*nope: no such file or directory/);
  });
});
