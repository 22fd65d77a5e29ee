import { waitForHttp } from '../../src/drill/drill-environment.ts';
import { environmentCause } from '../../src/exec/environment-cause.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';

/** How long an operator would reasonably wait for the application after a restore (as for a recovery). */
export const APPLICATION_WAIT_MS = 60_000;

const RESTART = /\bdocker\s+compose\s+(?:(?:-f|--file|-p|--project-name)\s+\S+\s+)*(start|restart|up)\b([\s\S]*)$/;

/**
 * The services a block's commands (re)started: `docker compose start|restart|up [flags] <service>…`.
 * Only names of the compose project count (a flag's value is not a service); `up` without names is all of them.
 */
export function restartedServices(commands: readonly string[], projectServices: readonly string[]): string[] {
  const started = new Set<string>();
  for (const command of commands) {
    const match = RESTART.exec(command.replace(/\\\n/g, ' '));
    if (!match) continue;
    const named = match[2]!.split(/[\s;&|]+/).filter((word) => projectServices.includes(word));
    for (const service of named.length > 0 ? named : match[1] === 'up' ? projectServices : []) started.add(service);
  }
  return [...started];
}

/** `docker compose ps -a` table → each requested service's STATUS column ('Up 3 seconds', 'Exited (1) …'), or undefined when it has no container. */
export function serviceStates(psOutput: string, services: readonly string[]): Map<string, string | undefined> {
  const rows = psOutput.split('\n').map((line) => line.trim().split(/\s{2,}/));
  const states = new Map<string, string | undefined>();
  for (const service of services) {
    const row = rows.find((columns) => columns.includes(service) && columns[0] !== 'NAME');
    // STATUS is the column that starts with Up/Exited/Restarting/Created/…; in both Docker's and the shim's tables.
    states.set(
      service,
      row?.find((column) => /^(Up|Exited|Restarting|Created|Paused|Dead|Removing)\b/.test(column)),
    );
  }
  return states;
}

function pause(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, ms);
    signal.addEventListener('abort', () => (clearTimeout(timer), resolve()), { once: true });
  });
}

/** The real api's unauthenticated route that reads the database (main.py bootstrap_status); /health does not. */
const DB_BACKED_PATH = '/api/v1/bootstrap/status';

const running = (status: string | undefined) => status !== undefined && /^Up\b/.test(status);
const exited = (status: string | undefined) => status !== undefined && /^(Exited|Dead)\b/.test(status);

/**
 * The application rung of a restore: after the blocks restarted services, the api answers
 * GET /api/v1/bootstrap/status (a database query: the real NMIA's /health touches no database) within a bounded wait, and every restarted service is running. `docker compose start`
 * exits 0 even when a service dies at once, so the exit codes alone never show this. The wait stops early
 * once a restarted service has exited: without a restart policy it does not come back by itself.
 * Records nothing when the blocks restarted no service.
 */
export async function checkApplicationBack(context: ProcedureContext, timeoutMs = APPLICATION_WAIT_MS): Promise<boolean> {
  const commands = context.evidence.blocks.flatMap((block) => block.commands.map((command) => command.text));
  const services = restartedServices(commands, [...context.stack.project().services.keys()]);
  if (services.length === 0) return true;
  const check = `the application is back: the api answers ${DB_BACKED_PATH} and ${services.join(', ')} ${services.length === 1 ? 'runs' : 'run'} again`;
  // The api is watched too when the blocks did not restart it: a stopped api will not answer however long one waits.
  const watched = services.includes('api') ? services : ['api', ...services];
  const ps = () => context.stack.docker(['compose', 'ps', '-a', ...watched], { cwd: context.projectDir });
  const url = `${context.stack.serviceUrl('api', 8000)}${DB_BACKED_PATH}`;

  const stop = new AbortController();
  const watcher = (async () => {
    while (!stop.signal.aborted) {
      const states = serviceStates((await ps()).stdout, watched);
      const gone = watched.filter((service) => exited(states.get(service)));
      if (gone.length > 0) stop.abort(`${gone.map((service) => `${service} ${states.get(service)}`).join(', ')}`);
      // The pause ends early when the health wait is over: a watcher asleep must not hold the check up.
      else await pause(500, stop.signal);
    }
  })();
  const started = Date.now();
  let health: string | undefined;
  try {
    await waitForHttp(url, timeoutMs, stop.signal);
  } catch (error) {
    health = (error as Error).message;
  } finally {
    if (!stop.signal.aborted) stop.abort('done');
    await watcher;
  }
  const waitedMs = Date.now() - started;
  context.evidence.harnessAction({
    purpose: 'check: wait (bounded) for the restarted application',
    command: `GET ${url} until 200, docker compose ps -a ${watched.join(' ')}`,
    exitCode: health ? 1 : 0,
    durationMs: waitedMs,
  });

  const table = (await ps()).stdout;
  const states = serviceStates(table, watched);
  const notRunning = watched
    .filter((service) => !running(states.get(service)))
    .map((service) => `${service}: ${states.get(service) ?? 'no container'}`);
  if (!health && notRunning.length === 0) {
    context.pass(
      'application',
      check,
      `GET ${DB_BACKED_PATH} → 200 after ${(waitedMs / 1000).toFixed(1)} s; ${services.map((service) => `${service} ${states.get(service)}`).join(', ')}`,
    );
    return true;
  }
  const logs = await Promise.all(
    (notRunning.length > 0 ? watched.filter((service) => !running(states.get(service))) : ['api']).map(
      async (service) =>
        [
          service,
          (await context.stack.docker(['compose', 'logs', '--tail', '8', service], { cwd: context.projectDir })).stdout.slice(-1500),
        ] as const,
    ),
  );
  const why = [...(health ? [health] : []), ...notRunning].join('; ');
  const evidence = { ps: table, logs: Object.fromEntries(logs) };
  // A service that could not start because of the machine (its port taken by another process) says nothing of the runbook.
  const environment = environmentCause(logs.map(([, text]) => text).join('\n'));
  if (environment) {
    context.rung({
      rung: 'application',
      check,
      outcome: 'error',
      summary: `${why}: ${environment.cause} (fix: ${environment.fix})`,
      evidence,
    });
    return false;
  }
  context.fail('application', check, why, evidence);
  return false;
}

/** Waits (bounded) until the api answers its database-backed route again, after the harness restarted it. */
export async function waitForApplication(context: ProcedureContext, timeoutMs = APPLICATION_WAIT_MS): Promise<void> {
  const url = `${context.stack.serviceUrl('api', 8000)}${DB_BACKED_PATH}`;
  await context.harnessAction('check: wait (bounded) for the application after the adversarial run', `GET ${url} until 200`, () =>
    waitForHttp(url, timeoutMs),
  );
}
