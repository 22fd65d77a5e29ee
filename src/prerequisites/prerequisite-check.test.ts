import { mkdir, mkdtemp, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { EnvironmentError, ExitCode } from '../errors/drill-error.ts';
import { ensurePrerequisites } from './prerequisite-check.ts';
import { SYSTEM_PREREQUISITES, type PrerequisiteNeeds } from './system-prerequisites.ts';

const EVERYTHING: PrerequisiteNeeds = {
  postgresServer: true,
  directory: true,
  browser: true,
  git: true,
  docker: true,
  realAppConnector: true,
  gpg: true,
};
const PG_BINARIES = ['initdb', 'pg_ctl', 'postgres', 'pg_dump', 'pg_restore', 'psql', 'createdb', 'dropdb', 'pg_amcheck'];
/** The files each prerequisite is found by: PATH tools, or PG_BINDIR for PostgreSQL. */
const TOOLS: Record<string, { path?: string[]; pgBin?: string[] }> = {
  bash: { path: ['bash'] },
  git: { path: ['git'] },
  slapd: { path: ['slapd', 'slapadd'] },
  chromium: { path: ['chromium'] },
  docker: { path: ['docker'] },
  gnupg: { path: ['gpg', 'gpgconf'] },
  'python3-ldap3': { path: ['python3'] },
  'postgresql-client': { pgBin: ['pg_dump', 'pg_restore', 'psql', 'createdb', 'dropdb', 'pg_amcheck'] },
  postgresql: { pgBin: ['initdb', 'pg_ctl', 'postgres'] },
};

let root: string;
let pathDir: string;
let pgBin: string;

/** A machine where every tool is present except those of `without`. */
async function machine(without: string[] = []): Promise<NodeJS.ProcessEnv> {
  await rm(root, { recursive: true, force: true });
  await mkdir(pathDir, { recursive: true });
  await mkdir(pgBin, { recursive: true });
  const hidden = new Set(without.flatMap((id) => [...(TOOLS[id]?.path ?? []), ...(TOOLS[id]?.pgBin ?? [])]));
  for (const tool of Object.values(TOOLS).flatMap((tools) => tools.path ?? [])) {
    if (!hidden.has(tool)) await symlink('/bin/true', join(pathDir, tool));
  }
  for (const binary of PG_BINARIES) if (!hidden.has(binary)) await symlink('/bin/true', join(pgBin, binary));
  return { PATH: pathDir, PG_BINDIR: pgBin };
}

beforeEach(async () => {
  root = await mkdtemp(join(tmpdir(), 'nmia-prereq-'));
  pathDir = join(root, 'bin');
  pgBin = join(root, 'pg');
});
afterEach(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the prerequisite check', () => {
  it('finds every tool on a complete machine', async () => {
    const report = await ensurePrerequisites({ needs: EVERYTHING, env: await machine(), install: 'never' });
    expect(Object.keys(report.found).sort()).toEqual(SYSTEM_PREREQUISITES.map((prerequisite) => prerequisite.id).sort());
    expect(report.installed).toEqual([]);
  });

  it('covers every prerequisite with a case below', () => {
    expect(Object.keys(TOOLS).sort()).toEqual(SYSTEM_PREREQUISITES.map((prerequisite) => prerequisite.id).sort());
  });

  for (const prerequisite of SYSTEM_PREREQUISITES) {
    it(`names ${prerequisite.id} and the command that installs it, in one line, when it is missing`, async () => {
      const env = await machine([prerequisite.id]);
      const error = await ensurePrerequisites({ needs: EVERYTHING, env, install: 'never' }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(EnvironmentError);
      const environmentError = error as EnvironmentError;
      expect(environmentError.exitCode).toBe(ExitCode.environment);
      expect(environmentError.message).not.toContain('\n');
      expect(environmentError.message).toContain(prerequisite.id);
      expect(environmentError.message).toContain(prerequisite.why);
      for (const other of SYSTEM_PREREQUISITES.filter((p) => p.id !== prerequisite.id)) {
        expect(environmentError.message).not.toContain(`${other.id} (`);
      }
      expect(environmentError.message).toContain(`apt-get install -y --no-install-recommends ${prerequisite.debianPackages.join(' ')}`);
    });
  }

  it('names every missing part at once', async () => {
    const error = (await ensurePrerequisites({
      needs: EVERYTHING,
      env: await machine(['git', 'chromium', 'postgresql']),
      install: 'never',
    }).catch((caught: unknown) => caught)) as EnvironmentError;
    expect(error.message).toMatch(/postgresql \(.*git \(.*chromium \(/);
    expect(error.fix).toContain('postgresql git chromium');
  });

  it('asks only for what the run needs', async () => {
    const env = await machine(['chromium', 'slapd', 'postgresql']);
    const report = await ensurePrerequisites({
      needs: { postgresServer: false, directory: false, browser: false, git: true },
      env,
      install: 'never',
    });
    expect(Object.keys(report.found)).not.toContain('chromium');
  });

  it('installs what it may install, one line per package, and checks again', async () => {
    const env = await machine(['chromium', 'slapd']);
    const lines: string[] = [];
    const aptCalls: string[][] = [];
    const report = await ensurePrerequisites({
      needs: EVERYTHING,
      env,
      canInstall: true,
      log: (line) => lines.push(line),
      aptGet: async (args) => {
        aptCalls.push(args);
        for (const tool of ['chromium', 'slapd', 'slapadd']) await symlink('/bin/true', join(pathDir, tool));
      },
    });
    expect(aptCalls).toEqual([['install', '-y', '-q', '--no-install-recommends', 'slapd', 'ldap-utils', 'chromium']]);
    expect(lines).toEqual([
      expect.stringMatching(/^installing slapd \(the LDAP directory .*\) with apt-get$/),
      expect.stringMatching(/^installing ldap-utils \(the LDAP directory .*\) with apt-get$/),
      expect.stringMatching(/^installing chromium \(headless browser .*\) with apt-get$/),
    ]);
    expect(report.installed).toEqual(['slapd', 'ldap-utils', 'chromium']);
  });

  it('never installs what it only reports (PostgreSQL, git), and says so in one line', async () => {
    const env = await machine(['git']);
    const aptCalls: string[][] = [];
    const error = (await ensurePrerequisites({
      needs: EVERYTHING,
      env,
      canInstall: true,
      aptGet: async (args) => void aptCalls.push(args),
    }).catch((caught: unknown) => caught)) as EnvironmentError;
    expect(aptCalls).toEqual([]);
    expect(error.message).toContain('git (');
  });

  it('refreshes the package lists once when an install fails, then reports what is still missing', async () => {
    const env = await machine(['chromium']);
    const aptCalls: string[][] = [];
    const error = (await ensurePrerequisites({
      needs: EVERYTHING,
      env,
      canInstall: true,
      aptGet: async (args) => {
        aptCalls.push(args);
        if (args[0] === 'install') throw new Error('E: Unable to locate package chromium');
      },
    }).catch((caught: unknown) => caught)) as EnvironmentError;
    expect(aptCalls.map((args) => args[0])).toEqual(['install', 'update', 'install']);
    expect(error).toBeInstanceOf(EnvironmentError);
    expect(error.message).toContain('chromium (');
  });

  it('says why nothing was installed when it may not install', async () => {
    const env = await machine(['slapd']);
    const error = (await ensurePrerequisites({ needs: EVERYTHING, env, canInstall: false }).catch(
      (caught: unknown) => caught,
    )) as EnvironmentError;
    expect(error.message).toContain('not root with apt-get');
    const off = (await ensurePrerequisites({ needs: EVERYTHING, env, install: 'never', canInstall: true }).catch(
      (caught: unknown) => caught,
    )) as EnvironmentError;
    expect(off.message).toContain('NMIA_DRILL_INSTALL=never');
  });
});
