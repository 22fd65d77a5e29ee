import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parse } from 'yaml';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';

const CHECK = 'the api runs with the SECRET_KEY that step 2 restored into .env';

/**
 * Step 2 restores the original SECRET_KEY into .env. That only reaches the api when the app's compose file
 * takes it from there (`${SECRET_KEY}` or env_file). Asked of the running api container itself, with the
 * value compared inside the harness and never recorded.
 */
export async function checkSecretKeyReachesApi(context: ProcedureContext, restoredKey: string): Promise<void> {
  const result = await context.harnessDocker('check: the SECRET_KEY the recovered api runs with (compared, never recorded)', [
    'compose',
    'exec',
    '-T',
    'api',
    'printenv',
    'SECRET_KEY',
  ]);
  const running = result.stdout.trim();
  if (result.exitCode !== 0) {
    context.fail('application', CHECK, `could not read the api container's environment (exit ${result.exitCode})`);
    return;
  }
  if (running === restoredKey) {
    context.pass('application', CHECK, 'the api container has the key from .env');
    return;
  }
  const literal = await servicesWithLiteralSecretKey(context.projectDir);
  if (!literal.includes('api')) {
    context.fail('application', CHECK, 'the api runs with a different key than .env holds, and docker-compose.yml does not fix it');
    return;
  }
  // The key is fixed in the app's compose file before any disaster: the app's defect, not a failed recovery.
  context.rung({
    rung: 'application',
    check: CHECK,
    outcome: 'skipped',
    summary: `not a recovery failure: the api runs with a different key than .env holds, because docker-compose.yml fixes SECRET_KEY for ${literal.join(' and ')}`,
    evidence: { servicesWithLiteralKey: literal, apiKeyEqualsEnvFile: false },
  });
  context.finding({
    // The runbook does what it says; the app's compose file ignores it: fixed in the app (see suggestedFix).
    kind: 'application',
    severity: 'high',
    line: context.block(1).line,
    title: `step 2's .env never reaches the app: docker-compose.yml sets SECRET_KEY to a fixed value for ${literal.join(' and ') || 'the api'}, so the original key is not restored`,
    evidence: {
      servicesWithLiteralKey: literal,
      apiKeyEqualsEnvFile: false,
      note: 'values compared inside the harness; neither is recorded',
    },
    whyItMatters:
      'Every recovered NMIA runs with the key committed to the repository: tokens signed before the disaster stay valid only by accident, and a "rotated" key in .env changes nothing.',
    suggestedFix:
      'In the app: take it from the environment, e.g. `SECRET_KEY: ${SECRET_KEY:?set SECRET_KEY in .env}` for api and worker in docker-compose.yml (DATABASE_URL likewise). Until then the runbook must say to set the original key in docker-compose.yml, not .env.',
  });
}

/** The compose services whose SECRET_KEY is a fixed value in docker-compose.yml, so no .env (original or new key) reaches them. */
export async function servicesWithLiteralSecretKey(projectDir: string): Promise<string[]> {
  const composeText = await readFile(join(projectDir, 'docker-compose.yml'), 'utf8');
  const services =
    ((parse(composeText) ?? {}) as { services?: Record<string, { environment?: unknown; env_file?: unknown }> }).services ?? {};
  return Object.entries(services)
    .filter(([, service]) => {
      const env = service.environment;
      const value = Array.isArray(env)
        ? env
            .find((entry) => String(entry).startsWith('SECRET_KEY='))
            ?.toString()
            .slice('SECRET_KEY='.length)
        : (env as Record<string, unknown> | undefined)?.SECRET_KEY;
      return typeof value === 'string' && !value.includes('${') && service.env_file === undefined;
    })
    .map(([name]) => name);
}
