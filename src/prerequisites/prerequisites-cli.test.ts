import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readdir, rm, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLIENT_BINARIES, findPgBinaries, SERVER_BINARIES } from '../postgres/pg-binaries.ts';
import { REPO_ROOT } from '../repo-root.ts';
import { onPath, SYSTEM_PREREQUISITES, withSystemPath } from './system-prerequisites.ts';

/** The files each prerequisite is found by: on PATH, or (PostgreSQL) in PG_BINDIR. */
const TOOLS: Record<string, { path?: string[]; pgBin?: readonly string[] }> = {
  bash: { path: ['bash'] },
  git: { path: ['git'] },
  slapd: { path: ['slapd', 'slapadd'] },
  chromium: { path: ['chromium'] },
  docker: { path: ['docker'] },
  'postgresql-client': { pgBin: CLIENT_BINARIES },
  postgresql: { pgBin: SERVER_BINARIES },
};

/** What a drill can ask for (the test suite's own python3-ldap3 is never a drill's). */
const DRILL_PREREQUISITES = SYSTEM_PREREQUISITES.filter((prerequisite) =>
  prerequisite.neededWhen({ postgresServer: true, directory: true, browser: true, git: true, docker: true }),
);

let root: string;

/**
 * A machine with every tool but those of `without`: a PATH and a PG_BINDIR of symlinks to this machine's own
 * binaries (/bin/true where one is absent: the check looks for files), with the sbin directories and Debian's
 * PostgreSQL layout turned off and installing off, so the CLI must report rather than find or install.
 */
async function machineWithout(id: string): Promise<NodeJS.ProcessEnv> {
  const dir = join(root, id);
  const bin = join(dir, 'bin');
  const pg = join(dir, 'pg');
  await mkdir(bin, { recursive: true });
  await mkdir(pg, { recursive: true });
  const system = withSystemPath();
  const pgBinaries = findPgBinaries({ needServer: true });
  for (const [tool, files] of Object.entries(TOOLS)) {
    if (tool === id) continue;
    for (const file of files.path ?? []) await symlink(onPath(file, system) ?? '/bin/true', join(bin, file));
    for (const file of files.pgBin ?? []) await symlink(pgBinaries.path(file), join(pg, file));
  }
  const env: NodeJS.ProcessEnv = { ...process.env, PATH: bin, PG_BINDIR: pg, NMIA_DRILL_SYSTEM_PATH: '', NMIA_DRILL_INSTALL: 'never' };
  delete env.NMIA_DRILL_CHROMIUM;
  return env;
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nmia-prereq-cli-'));
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('the CLI on a machine without one tool (spawned, one case per tool)', () => {
  it('covers every prerequisite', () => {
    expect(Object.keys(TOOLS).sort()).toEqual(DRILL_PREREQUISITES.map((prerequisite) => prerequisite.id).sort());
  });

  for (const prerequisite of DRILL_PREREQUISITES) {
    it.concurrent(`without ${prerequisite.id}: one line naming it and its install command, exit 3, before any work`, async () => {
      const env = await machineWithout(prerequisite.id);
      const reports = join(root, prerequisite.id, 'reports');
      // The DR recovery needs every tool but Docker; the compose stack is what needs Docker.
      const stack = prerequisite.id === 'docker' ? 'compose' : 'emulated';
      const started = Date.now();
      const result = await execa(
        process.execPath,
        [
          join(REPO_ROOT, 'bin/nmia-drill.js'),
          'run',
          '--stack',
          stack,
          '--only',
          'dr-recovery',
          '--isolation',
          'order',
          '--report-dir',
          reports,
        ],
        { cwd: REPO_ROOT, env, extendEnv: false, reject: false, stdin: 'ignore', timeout: 60_000 },
      );
      const [first, fix] = result.stderr.split('\n');
      expect(result.exitCode, result.stderr).toBe(3);
      expect(first).toMatch(new RegExp(`^error: missing system tools: ${prerequisite.id} \\(`));
      expect(first).toContain(`install them with: `);
      expect(first).toContain(`apt-get install -y --no-install-recommends ${prerequisite.debianPackages.join(' ')}`);
      expect(fix).toMatch(/^ {2}fix: /);
      // Reported before any work: no report directory, and in seconds (node and its loader start included).
      expect(existsSync(reports) ? await readdir(reports) : []).toEqual([]);
      expect(Date.now() - started).toBeLessThan(20_000);
    });
  }
});
