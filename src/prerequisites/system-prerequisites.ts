import { spawnSync } from 'node:child_process';
import { accessSync, constants, readdirSync } from 'node:fs';
import { delimiter, join } from 'node:path';
import { CLIENT_BINARIES, SERVER_BINARIES } from '../postgres/pg-binaries.ts';

/** What a run is about to do, as far as the system tools it needs are concerned. */
export interface PrerequisiteNeeds {
  /** Local PostgreSQL server binaries (the emulated stack, local providers, verify-backup's throwaway cluster). */
  postgresServer: boolean;
  /** The reference application's LDAP directory (emulated stack: the connector scan). */
  directory: boolean;
  /** Headless Chromium (the "UI loads" checklist item). */
  browser: boolean;
  /** git (the DR checklist's `git clone`, `--app` repositories). */
  git: boolean;
  /** The Docker CLI with Compose v2 (the compose stack, the Docker suites). */
  docker?: boolean;
  /** A python3 with ldap3, to run the real NMIA's AD connector code on this machine (the test suite only). */
  realAppConnector?: boolean;
  /** GnuPG: the runbook encrypts or decrypts its backups with gpg, and the harness reads and hands over such files. */
  gpg?: boolean;
}

/** What a procedure needs from the system beyond what every run needs; procedures declare it, the drill unions it. */
export type ProcedureNeeds = Partial<Pick<PrerequisiteNeeds, 'directory' | 'browser' | 'git'>>;

/**
 * A tool the project needs from the system. `install` says whether the project installs it itself
 * (root and apt) or only reports it: installing Debian's PostgreSQL would create and start a system
 * cluster, and git and bash are the user's own tools, so those are reported, never installed.
 */
export interface SystemPrerequisite {
  id: string;
  /** One line: what it is for, shown when it is installed or reported missing. */
  why: string;
  debianPackages: string[];
  install: 'auto' | 'report';
  /** Said after the install command when this one is missing, where apt is not the whole answer. */
  otherFix?: string;
  neededWhen(needs: PrerequisiteNeeds): boolean;
  /** Where it was found, or undefined when missing. */
  locate(env: NodeJS.ProcessEnv): string | undefined;
}

function executable(file: string): boolean {
  try {
    accessSync(file, constants.X_OK);
    return true;
  } catch {
    return false;
  }
}

/** The first executable `name` on the PATH of `env`, and nowhere else. */
export function onPath(name: string, env: NodeJS.ProcessEnv): string | undefined {
  return (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, name))
    .find(executable);
}

/** Every python3 on the PATH of `env` that imports ldap3 (pyenv's often does not, Debian's does with python3-ldap3): the first. */
export function pythonWithLdap3(env: NodeJS.ProcessEnv): string | undefined {
  return (env.PATH ?? '')
    .split(delimiter)
    .filter(Boolean)
    .map((dir) => join(dir, 'python3'))
    .filter(executable)
    .find((python) => spawnSync(python, ['-c', 'import ldap3'], { stdio: 'ignore', env, timeout: 20_000 }).status === 0);
}

const SBIN_DIRS = '/usr/local/sbin:/usr/sbin:/sbin';

/**
 * The process environment with the sbin directories appended: CI PATHs often lack them, and slapd lives there.
 * NMIA_DRILL_SYSTEM_PATH replaces those extra directories (empty: PATH alone), e.g. to check a machine without a tool.
 */
export function withSystemPath(env: NodeJS.ProcessEnv = process.env): NodeJS.ProcessEnv {
  const dirs = (env.PATH ?? '').split(delimiter);
  const extra = (env.NMIA_DRILL_SYSTEM_PATH ?? SBIN_DIRS).split(delimiter).filter((dir) => dir !== '' && !dirs.includes(dir));
  return { ...env, PATH: [...dirs.filter(Boolean), ...extra].join(delimiter) };
}

function debianPostgresBinDir(binaries: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  // With the system directories turned off (NMIA_DRILL_SYSTEM_PATH=""), Debian's layout is not looked at either.
  if (env.NMIA_DRILL_SYSTEM_PATH === '') return undefined;
  let versions: string[];
  try {
    versions = readdirSync('/usr/lib/postgresql');
  } catch {
    return undefined;
  }
  return versions
    .map((version) => join('/usr/lib/postgresql', version, 'bin'))
    .find((dir) => binaries.every((binary) => executable(join(dir, binary))));
}

/** The same search order as the drill's own (src/postgres/pg-binaries.ts): PG_BINDIR, Debian's layout, PATH. */
function locatePostgres(binaries: readonly string[], env: NodeJS.ProcessEnv): string | undefined {
  // PG_BINDIR, when set, is the only place looked at, as the drill does.
  if (env.PG_BINDIR) return binaries.every((binary) => executable(join(env.PG_BINDIR!, binary))) ? env.PG_BINDIR : undefined;
  const debian = debianPostgresBinDir(binaries, env);
  if (debian) return debian;
  const found = binaries.map((binary) => onPath(binary, env));
  return found.every(Boolean) ? found[0]!.slice(0, found[0]!.lastIndexOf('/')) : undefined;
}

export const SYSTEM_PREREQUISITES: readonly SystemPrerequisite[] = [
  {
    id: 'bash',
    why: 'runs the runbook blocks as written',
    debianPackages: ['bash'],
    install: 'report',
    neededWhen: () => true,
    locate: (env) => onPath('bash', env),
  },
  {
    id: 'postgresql-client',
    why: `the harness's own ${CLIENT_BINARIES.join(', ')} (artifact and restore checks)`,
    debianPackages: ['postgresql-client'],
    install: 'report',
    neededWhen: () => true,
    locate: (env) => locatePostgres(CLIENT_BINARIES, env),
  },
  {
    id: 'postgresql',
    why: `a private PostgreSQL cluster (${SERVER_BINARIES.join(', ')}) for the database the drill seeds`,
    debianPackages: ['postgresql'],
    install: 'report',
    neededWhen: (needs) => needs.postgresServer,
    locate: (env) => locatePostgres(SERVER_BINARIES, env),
  },
  {
    id: 'git',
    why: "the DR checklist's `git clone` of the NMIA repository",
    debianPackages: ['git'],
    install: 'report',
    neededWhen: (needs) => needs.git,
    locate: (env) => onPath('git', env),
  },
  {
    id: 'slapd',
    why: 'the LDAP directory the connector scan binds to: slapd, slapadd',
    debianPackages: ['slapd', 'ldap-utils'],
    install: 'auto',
    neededWhen: (needs) => needs.directory,
    locate: (env) => (onPath('slapadd', env) ? onPath('slapd', env) : undefined),
  },
  {
    id: 'python3-ldap3',
    why: "a python3 with ldap3, to run the real NMIA's AD connector code against the fixture directory (test suite)",
    debianPackages: ['python3-ldap3'],
    install: 'auto',
    neededWhen: (needs) => needs.realAppConnector === true,
    locate: pythonWithLdap3,
  },
  {
    id: 'gnupg',
    why: 'gpg, which the runbook encrypts and decrypts its backups with (the harness reads them with it too)',
    debianPackages: ['gnupg'],
    install: 'auto',
    neededWhen: (needs) => needs.gpg === true,
    locate: (env) => (onPath('gpgconf', env) ? onPath('gpg', env) : undefined),
  },
  {
    id: 'docker',
    why: 'the Docker CLI with Compose v2, for the compose stack (--stack compose)',
    debianPackages: ['docker.io', 'docker-compose'],
    install: 'report',
    otherFix:
      'on Debian without a registry, .ci/provision-docker.sh (as root) sets up a private engine and the images; or use --stack emulated',
    neededWhen: (needs) => needs.docker === true,
    locate: (env) => onPath('docker', env),
  },
  {
    id: 'chromium',
    why: 'headless browser for the "UI loads" checklist item',
    debianPackages: ['chromium'],
    install: 'auto',
    neededWhen: (needs) => needs.browser,
    locate: (env) =>
      env.NMIA_DRILL_CHROMIUM ? (executable(env.NMIA_DRILL_CHROMIUM) ? env.NMIA_DRILL_CHROMIUM : undefined) : onPath('chromium', env),
  },
];
