import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfigFile } from './config-file.ts';
import { resolveProbes } from './drill-settings.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'bin/nmia-drill.js');
const EXAMPLE = join(REPO, 'drill.config.example.ts');

type PlanJson = { settings: Record<string, { value: unknown; from: string }> & { config: string | null; probes: string[] } };

describe('drill config files', () => {
  let scratch: string;
  /** A directory holding one drill.config.json, as an operator's working directory. */
  const project = async (name: string, config: unknown): Promise<string> => {
    const dir = join(scratch, name);
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'drill.config.json'), typeof config === 'string' ? config : JSON.stringify(config, null, 2));
    return dir;
  };
  const cli = (args: string[], cwd: string, env: Record<string, string> = {}) =>
    execa('node', [BIN, ...args], {
      cwd,
      env: { NMIA_DRILL_CONFIG: '', NMIA_DRILL_SCALE: '', ...env },
      extendEnv: true,
      reject: false,
      stdin: 'ignore',
    });

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'nmia-drill-config-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('the shipped example validates, and the CLI loads it (a TypeScript file importing defineConfig from nmia-drill)', async () => {
    const loaded = await loadConfigFile(EXAMPLE, REPO);
    expect(loaded.config.probes?.ui?.selectors?.enclaveRow).toBe('table tbody tr:not(:has(td[colspan])) > td:first-child');
    expect(loaded.config.probes?.admin).toEqual({ username: 'admin', passwordEnv: 'NMIA_ADMIN_PASSWORD' });
    const result = await cli(['plan', '--config', EXAMPLE, '--json', '--only', 'full-backup'], scratch);
    expect(result.exitCode, result.stderr).toBe(0);
    const plan = JSON.parse(result.stdout) as PlanJson;
    expect(plan.settings.config).toBe(EXAMPLE);
    // Outside the current directory a config file is named by its absolute path.
    expect(plan.settings.scale).toEqual({ value: 2000, from: `${EXAMPLE}: scale` });
  });

  it('a drill.config.ts outside the checkout (no package.json, importing nmia-drill) loads, found in the working directory', async () => {
    const dir = join(scratch, 'ops-repo');
    await mkdir(dir, { recursive: true });
    await writeFile(
      join(dir, 'drill.config.ts'),
      "import { defineConfig } from 'nmia-drill';\nexport default defineConfig({ scale: 750, objectives: { rtoSeconds: 120 } });\n",
    );
    const result = await cli(['plan', '--json', '--only', 'full-backup'], dir);
    expect(result.exitCode, result.stderr).toBe(0);
    const plan = JSON.parse(result.stdout) as PlanJson;
    expect(plan.settings.scale).toEqual({ value: 750, from: 'drill.config.ts: scale' });
    // A syntax error is named with its line, in one line plus the fix.
    await writeFile(join(dir, 'drill.config.ts'), 'export default {{\n');
    const broken = await cli(['plan'], dir);
    expect(broken.exitCode).toBe(2);
    expect(broken.stderr).toMatch(/^error: drill\.config\.ts: could not be loaded: .* \(line 1\)\n {2}fix: /);
  });

  it('a bad config stops run, plan and verify-backup with exit 2 and one line naming the file and the key', async () => {
    const cases = [
      {
        name: 'wrong-type',
        config: { scale: 'lots' },
        line: /^error: drill\.config\.json: scale: expected a whole number of identities$/m,
      },
      {
        name: 'bad-url',
        config: { probes: { api: { url: 'nmia.example.com:8000' } } },
        line: /^error: drill\.config\.json: probes\.api\.url: expected a URL \(http:\/\/ or https:\/\/\)$/m,
      },
      {
        name: 'unknown-key',
        config: { probes: { api: { uri: 'http://x' } } },
        line: /^error: drill\.config\.json: probes\.api\.uri: unknown key \(\+1 more\)$/m,
        fix: /fix: remove it, or use one of: url/,
      },
      {
        name: 'literal-password',
        config: { probes: { admin: { username: 'admin', passwordEnv: 'NMIA_ADMIN_PASSWORD', password: 'hunter2-CANARY' } }, scale: 'lots' },
        line: /^error: drill\.config\.json: probes\.admin\.password: a literal password is not allowed in a config file \(\+1 more\)$/m,
        fix: /fix: remove "password" and name the variable that holds it instead: "passwordEnv"/,
      },
      {
        name: 'password-in-env-name',
        config: { probes: { admin: { passwordEnv: 'hunter2 CANARY!' } } },
        line: /^error: drill\.config\.json: probes\.admin\.passwordEnv: expected the NAME of an environment variable/m,
      },
      { name: 'not-json', config: '{ "scale": 10, }', line: /^error: drill\.config\.json: not valid JSON/m },
    ];
    const dirs = await Promise.all(cases.map((entry) => project(entry.name, entry.config)));
    const results = await Promise.all(dirs.map((dir) => cli(['plan'], dir)));
    for (const [index, entry] of cases.entries()) {
      const result = results[index]!;
      expect(result.exitCode, `${entry.name}: ${result.stderr}`).toBe(2);
      expect(result.stderr, entry.name).toMatch(entry.line);
      expect(result.stderr.trim().split('\n'), `${entry.name}: a cause line and a fix line`).toHaveLength(2);
      if (entry.fix) expect(result.stderr).toMatch(entry.fix);
      expect(result.stderr + result.stdout, `${entry.name}: the value never echoes`).not.toContain('hunter2');
    }
    // run and verify-backup read the same file (found in the current directory), before starting anything.
    const [run, verify] = await Promise.all([
      cli(['run', '--report-dir', join(dirs[1]!, 'reports')], dirs[1]!),
      cli(['verify-backup', 'nothing.dump'], dirs[2]!),
    ]);
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(/^error: drill\.config\.json: probes\.api\.url: expected a URL/m);
    expect(verify.exitCode).toBe(2);
    expect(verify.stderr).toMatch(/^error: drill\.config\.json: probes\.api\.uri: unknown key/m);
    expect(await readdir(dirs[1]!)).toEqual(['drill.config.json']);
  });

  it('precedence: flag > environment variable > config file > default', async () => {
    const dir = await project('precedence', {
      scale: 500,
      stack: 'emulated',
      objectives: { rtoSeconds: 60 },
      reportDir: 'out',
      only: ['full-backup'],
      operator: 'Cara Config',
    });
    const settingsOf = async (args: string[], env: Record<string, string> = {}) => {
      const result = await cli(['plan', '--json', ...args], dir, env);
      expect(result.exitCode, result.stderr).toBe(0);
      return (JSON.parse(result.stdout) as PlanJson).settings;
    };
    const [fromConfig, fromEnv, fromFlag] = await Promise.all([
      settingsOf([]),
      settingsOf([], { NMIA_DRILL_SCALE: '700', NMIA_DRILL_RTO_TARGET: '120', NMIA_DRILL_OPERATOR: 'Eve Env' }),
      settingsOf(['--scale', '900', '--rto-target', '30', '--operator', 'Finn Flag'], {
        NMIA_DRILL_SCALE: '700',
        NMIA_DRILL_RTO_TARGET: '120',
        NMIA_DRILL_OPERATOR: 'Eve Env',
      }),
    ]);
    expect(fromConfig.scale).toEqual({ value: 500, from: 'drill.config.json: scale' });
    expect(fromConfig.rtoSeconds).toEqual({ value: 60, from: 'drill.config.json: objectives.rtoSeconds' });
    expect(fromConfig.rpoSeconds).toEqual({ value: 86400, from: 'default' });
    expect(fromConfig.stack).toEqual({ value: 'emulated', from: 'drill.config.json: stack' });
    // Paths in a config file are relative to it.
    expect(fromConfig.reportDir).toEqual({ value: join(dir, 'out'), from: 'drill.config.json: reportDir' });
    expect(fromConfig.only).toEqual({ value: ['full-backup'], from: 'drill.config.json: only' });
    expect(fromConfig.operator).toEqual({ value: 'Cara Config', from: 'drill.config.json: operator' });
    expect(fromEnv.operator).toEqual({ value: 'Eve Env', from: 'NMIA_DRILL_OPERATOR' });
    expect(fromFlag.operator).toEqual({ value: 'Finn Flag', from: '--operator' });
    expect(fromEnv.scale).toEqual({ value: 700, from: 'NMIA_DRILL_SCALE' });
    expect(fromEnv.rtoSeconds).toEqual({ value: 120, from: 'NMIA_DRILL_RTO_TARGET' });
    expect(fromFlag.scale).toEqual({ value: 900, from: '--scale' });
    expect(fromFlag.rtoSeconds).toEqual({ value: 30, from: '--rto-target' });
    // A bad environment value is a usage error too.
    const bad = await cli(['plan'], dir, { NMIA_DRILL_SCALE: 'lots' });
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toMatch(/NMIA_DRILL_SCALE/);
  });

  it('the admin password comes only from the environment variable the config names; a drill without it stops (exit 2)', async () => {
    const dir = await project('admin', {
      probes: { admin: { username: 'ops', passwordEnv: 'NMIA_TEST_ADMIN_PW' } },
      only: ['full-backup'],
    });
    const loaded = await loadConfigFile(join(dir, 'drill.config.json'), dir);
    const probes = resolveProbes(loaded, true, { NMIA_TEST_ADMIN_PW: 'CANARY-configured-admin-pw' });
    expect(probes.overrides.admin).toEqual({ username: 'ops', password: 'CANARY-configured-admin-pw' });
    expect(probes.notes.join('\n')).not.toContain('CANARY-configured-admin-pw');
    expect(() => resolveProbes(loaded, true, {})).toThrow(
      /drill\.config\.json: probes\.admin\.passwordEnv: environment variable NMIA_TEST_ADMIN_PW is not set/,
    );
    const run = await cli(['run', '--report-dir', join(dir, 'reports')], dir, { NMIA_TEST_ADMIN_PW: '' });
    expect(run.exitCode).toBe(2);
    expect(run.stderr).toMatch(
      /^error: drill\.config\.json: probes\.admin\.passwordEnv: environment variable NMIA_TEST_ADMIN_PW is not set\n {2}fix: export NMIA_TEST_ADMIN_PW=/m,
    );
    expect(await readdir(dir)).toEqual(['drill.config.json']);
  });
});
