import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { hostname, userInfo } from 'node:os';
import { join } from 'node:path';
import type { Journal } from '../evidence/journal.ts';
import { REPO_ROOT } from '../repo-root.ts';

/** Who ran the drill: the CI actor, workflow and run URL when CI says so, else user@host. */
export function runnerIdentity(env: NodeJS.ProcessEnv = process.env): Journal['runner'] {
  let user = 'unknown';
  try {
    user = userInfo().username;
  } catch {
    user = env.USER ?? 'unknown';
  }
  const runner: Journal['runner'] = { user, host: hostname() };
  if (env.GITHUB_ACTIONS === 'true') {
    runner.ci = {
      provider: 'github-actions',
      ...(env.GITHUB_ACTOR ? { actor: env.GITHUB_ACTOR } : {}),
      ...(env.GITHUB_WORKFLOW ? { workflow: env.GITHUB_WORKFLOW } : {}),
      ...(env.GITHUB_RUN_ID
        ? { runUrl: `${env.GITHUB_SERVER_URL ?? 'https://github.com'}/${env.GITHUB_REPOSITORY ?? ''}/actions/runs/${env.GITHUB_RUN_ID}` }
        : {}),
    };
  } else if (env.GITLAB_CI === 'true') {
    runner.ci = {
      provider: 'gitlab-ci',
      ...(env.GITLAB_USER_LOGIN ? { actor: env.GITLAB_USER_LOGIN } : {}),
      ...(env.CI_PIPELINE_URL ? { runUrl: env.CI_PIPELINE_URL } : {}),
    };
  } else if (env.CI) {
    runner.ci = { provider: 'ci' };
  }
  return runner;
}

export function harnessIdentity(): Journal['harness'] {
  const version = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;
  let commit: string | undefined;
  try {
    commit = execFileSync('git', ['rev-parse', 'HEAD'], { cwd: REPO_ROOT, encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    commit = undefined;
  }
  return { version, ...(commit ? { commit } : {}), node: process.version };
}
