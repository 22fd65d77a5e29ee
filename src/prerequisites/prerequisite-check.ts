import { execFile } from 'node:child_process';
import { existsSync, writeFileSync, rmSync } from 'node:fs';
import { promisify } from 'node:util';
import { EnvironmentError } from '../errors/drill-error.ts';
import { onPath, SYSTEM_PREREQUISITES, withSystemPath, type PrerequisiteNeeds, type SystemPrerequisite } from './system-prerequisites.ts';

const execFileAsync = promisify(execFile);

export type InstallPolicy = 'auto' | 'never';

export interface PrerequisiteCheckOptions {
  needs: PrerequisiteNeeds;
  /** `auto`: install what may be installed when running as root with apt; `never`: only report. */
  install?: InstallPolicy;
  env?: NodeJS.ProcessEnv;
  /** One line per package installed, and what for. */
  log?: (line: string) => void;
  prerequisites?: readonly SystemPrerequisite[];
  /** Runs apt-get; replaced in tests that must not touch the system. */
  aptGet?: (args: string[]) => Promise<void>;
  /** Root with apt-get on PATH, unless told otherwise. */
  canInstall?: boolean;
}

export interface PrerequisiteReport {
  found: Record<string, string>;
  installed: string[];
}

/** The install policy from the environment: NMIA_DRILL_INSTALL=never turns installs off. */
export function installPolicyFrom(env: NodeJS.ProcessEnv): InstallPolicy {
  return env.NMIA_DRILL_INSTALL === 'never' ? 'never' : 'auto';
}

function installCommand(packages: string[]): string {
  return `apt-get install -y --no-install-recommends ${packages.join(' ')}`;
}

const POLICY_RC = '/usr/sbin/policy-rc.d';

/**
 * apt-get with no service started by a package's postinst (slapd would start a system instance):
 * the project never starts system services. An existing policy-rc.d is left as it is.
 */
async function runAptGet(args: string[]): Promise<void> {
  const ownPolicy = !existsSync(POLICY_RC);
  if (ownPolicy) writeFileSync(POLICY_RC, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    await execFileAsync('apt-get', args, {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      maxBuffer: 64 * 1024 * 1024,
      timeout: 15 * 60_000,
    });
  } finally {
    if (ownPolicy) rmSync(POLICY_RC, { force: true });
  }
}

/**
 * Checks, before any work, every system tool this run needs. Missing tools that the project may
 * install are installed when it runs as root with apt (one line each, saying what and why); anything
 * still missing ends the run with one line naming every missing part and the command that installs it.
 */
export async function ensurePrerequisites(options: PrerequisiteCheckOptions): Promise<PrerequisiteReport> {
  const env = options.env ?? withSystemPath();
  const prerequisites = (options.prerequisites ?? SYSTEM_PREREQUISITES).filter((prerequisite) => prerequisite.neededWhen(options.needs));
  const log = options.log ?? (() => undefined);
  const canInstall = options.canInstall ?? (process.getuid?.() === 0 && onPath('apt-get', env) !== undefined);
  const aptGet = options.aptGet ?? runAptGet;
  const missing = () => prerequisites.filter((prerequisite) => prerequisite.locate(env) === undefined);

  const installable = missing().filter((prerequisite) => prerequisite.install === 'auto');
  const installed: string[] = [];
  if (installable.length > 0 && options.install !== 'never' && canInstall) {
    const packages = installable.flatMap((prerequisite) => prerequisite.debianPackages);
    for (const prerequisite of installable)
      for (const debianPackage of prerequisite.debianPackages) log(`installing ${debianPackage} (${prerequisite.why}) with apt-get`);
    try {
      await aptGet(['install', '-y', '-q', '--no-install-recommends', ...packages]);
    } catch {
      // Stale package lists are the usual cause on a new machine: refresh once, then retry.
      log('apt-get install failed; refreshing the package lists once (apt-get update) and retrying');
      await aptGet(['update', '-q']).catch(() => undefined);
      await aptGet(['install', '-y', '-q', '--no-install-recommends', ...packages]).catch(() => undefined);
    }
    installed.push(...installable.filter((prerequisite) => prerequisite.locate(env) !== undefined).flatMap((p) => p.debianPackages));
  }

  const stillMissing = missing();
  if (stillMissing.length > 0) {
    const packages = stillMissing.flatMap((prerequisite) => prerequisite.debianPackages);
    const parts = stillMissing.map((prerequisite) => `${prerequisite.id} (${prerequisite.why})`).join('; ');
    const why =
      installable.length > 0 && options.install === 'never'
        ? ' (installing is off: NMIA_DRILL_INSTALL=never)'
        : installable.length > 0 && !canInstall
          ? ' (not root with apt-get, so nothing was installed)'
          : '';
    // One line names every missing part and the command that installs them all; the fix line adds the alternatives.
    const command = `${process.getuid?.() === 0 ? '' : 'sudo '}${installCommand(packages)}`;
    throw new EnvironmentError(`missing system tools: ${parts}${why}; install them with: ${command}`, {
      fix: [
        `run: ${command} (Debian/Ubuntu), or point PG_BINDIR / NMIA_DRILL_CHROMIUM at your own binaries`,
        ...stillMissing.flatMap((prerequisite) => (prerequisite.otherFix ? [`${prerequisite.id}: ${prerequisite.otherFix}`] : [])),
      ].join('; '),
    });
  }
  const found = Object.fromEntries(prerequisites.map((prerequisite) => [prerequisite.id, prerequisite.locate(env)!]));
  return { found, installed };
}
