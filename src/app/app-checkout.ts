import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { execa } from 'execa';
import { EnvironmentError, UsageError } from '../errors/drill-error.ts';
import { failureLine } from '../exec/error-lines.ts';
import type { AppSource } from './app-source.ts';

/** The NMIA repository the drill runs: a fresh clone of the operator's source, at the commit it resolved to. */
export interface AppCheckout {
  dir: string;
  commit: string;
  /** `git describe`-style name of what was checked out (branch or tag when known). */
  ref: string;
  composeFile: string;
}

const CLONE_TIMEOUT_MS = 5 * 60_000;

/**
 * Clones the app into `dir` (which must not exist yet), checks out the ref, and confirms it is an
 * NMIA repository as the runbook assumes: a docker-compose.yml at the top. A clone and not the
 * operator's own checkout, so the drill never changes or leaves anything in it.
 */
export async function checkOutApp(source: Extract<AppSource, { kind: 'repository' }>, dir: string): Promise<AppCheckout> {
  const git = (args: string[], cwd?: string) =>
    execa('git', args, {
      reject: false,
      stdin: 'ignore',
      timeout: CLONE_TIMEOUT_MS,
      ...(cwd ? { cwd } : {}),
      env: { GIT_TERMINAL_PROMPT: '0' },
    });
  const cloned = await git(['clone', '--quiet', '--no-hardlinks', source.location, dir]);
  if (cloned.exitCode !== 0) {
    throw new EnvironmentError(`git clone ${source.location} failed (exit ${cloned.exitCode}): ${failureLine(String(cloned.stderr))}`, {
      fix: 'give --app a path or URL that `git clone` can read (a checkout, a bare repository or a git bundle)',
    });
  }
  if (source.ref) {
    const checkedOut = await git(['-c', 'advice.detachedHead=false', 'checkout', '--quiet', source.ref], dir);
    if (checkedOut.exitCode !== 0) {
      throw new UsageError(`--app ${source.location}#${source.ref}: ${failureLine(String(checkedOut.stderr))}`, {
        fix: `name a branch, tag or commit that exists there (git -C <clone> log --oneline shows them)`,
      });
    }
  }
  const commit = String((await git(['rev-parse', 'HEAD'], dir)).stdout).trim();
  const ref = source.ref ?? String((await git(['rev-parse', '--abbrev-ref', 'HEAD'], dir)).stdout).trim();
  const composeFile = join(dir, 'docker-compose.yml');
  if (!existsSync(composeFile)) {
    throw new UsageError(`--app ${source.location}: no docker-compose.yml at the top of the repository (commit ${commit.slice(0, 8)})`, {
      fix: 'point --app at the NMIA repository itself: the runbook runs its docker compose commands next to its docker-compose.yml',
    });
  }
  return { dir, commit, ref, composeFile };
}
