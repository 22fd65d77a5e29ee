import { execFileSync } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { EnvironmentError } from '../errors/drill-error.ts';

export const SERVER_BINARIES = ['initdb', 'pg_ctl', 'postgres'] as const;
// pg_amcheck: the physical check of every restored database (verify-backup's corruption check).
export const CLIENT_BINARIES = ['pg_dump', 'pg_restore', 'psql', 'createdb', 'dropdb', 'pg_amcheck'] as const;

export interface PgBinaries {
  binDir: string;
  /** How the directory was found, recorded in evidence. */
  source: 'PG_BINDIR' | 'pg_config' | '/usr/lib/postgresql' | 'PATH' | 'db image';
  path(binary: string): string;
}

function isExecutable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

function hasAll(dir: string, binaries: readonly string[]): boolean {
  return binaries.every((binary) => isExecutable(join(dir, binary)));
}

function pgConfigBinDir(): string | undefined {
  try {
    return execFileSync('pg_config', ['--bindir'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return undefined;
  }
}

function newestDebianBinDir(root = '/usr/lib/postgresql'): string | undefined {
  let versions: string[];
  try {
    versions = readdirSync(root);
  } catch {
    return undefined;
  }
  const newestFirst = versions.filter((name) => /^\d+(\.\d+)?$/.test(name)).sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a));
  return newestFirst.map((version) => join(root, version, 'bin')).find((dir) => hasAll(dir, SERVER_BINARIES));
}

/**
 * Finds PostgreSQL binaries: PG_BINDIR, then `pg_config --bindir`, then the newest
 * /usr/lib/postgresql/<v>/bin, then PATH. The server binaries are only required when asked.
 */
export function findPgBinaries(
  options: { needServer?: boolean; env?: NodeJS.ProcessEnv; debianRoot?: string; usePgConfig?: boolean } = {},
): PgBinaries {
  const env = options.env ?? process.env;
  const required = options.needServer === false ? CLIENT_BINARIES : [...SERVER_BINARIES, ...CLIENT_BINARIES];
  const candidates: Array<[PgBinaries['source'], string | undefined]> = [
    ['PG_BINDIR', env.PG_BINDIR],
    ['pg_config', options.usePgConfig === false ? undefined : pgConfigBinDir()],
    ['/usr/lib/postgresql', newestDebianBinDir(options.debianRoot)],
    ...(env.PATH ?? '').split(delimiter).map((dir): [PgBinaries['source'], string] => ['PATH', dir]),
  ];
  if (env.PG_BINDIR && !hasAll(env.PG_BINDIR, required)) {
    const missing = required.filter((binary) => !isExecutable(join(env.PG_BINDIR!, binary)));
    throw new EnvironmentError(`PG_BINDIR=${env.PG_BINDIR} lacks ${missing.join(', ')}`, {
      fix: `point PG_BINDIR at a PostgreSQL bin directory holding ${required.join(', ')}, or unset it`,
    });
  }
  for (const [source, dir] of candidates) {
    if (dir && hasAll(dir, required)) {
      return { binDir: dir, source, path: (binary) => join(dir, binary) };
    }
  }
  throw new EnvironmentError(`PostgreSQL binaries not found (need ${required.join(', ')})`, {
    fix: 'install them (Debian/Ubuntu: apt-get install postgresql) or set PG_BINDIR to the directory that holds them',
  });
}

/** `pg_dump (PostgreSQL) 15.18 (Debian …)` → `15.18`. */
export function binaryVersion(binaries: PgBinaries, binary: string): string {
  const out = execFileSync(binaries.path(binary), ['--version'], { encoding: 'utf8' });
  return /(\d+(?:\.\d+)+)/.exec(out)?.[1] ?? out.trim();
}
