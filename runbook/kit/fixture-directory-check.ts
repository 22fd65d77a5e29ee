import type { ProcedureContext } from '../../src/drill/procedure-context.ts';
import { HarnessUnavailableError } from '../../src/errors/harness-unavailable-error.ts';
import type { ProbeId } from '../../src/probes/probe.ts';
import { FixtureDirectory } from '../../nmia/directory/fixture-directory.ts';

const FIXTURE_DIRECTORY = 'the fixture LDAP directory (slapd)';
const INSTALL = 'apt-get install -y --no-install-recommends slapd ldap-utils (as root; a drill run as root installs them itself)';
const UNAVAILABLE = 'unavailableHarnessParts';

/** Checklist items the harness cannot check because a part of its own is unavailable, with the cause and fix. */
export function unavailableParts(context: ProcedureContext): Partial<Record<ProbeId, HarnessUnavailableError>> {
  return (context.scratch[UNAVAILABLE] as Partial<Record<ProbeId, HarnessUnavailableError>> | undefined) ?? {};
}

/**
 * The directory the connectors scan is the harness's, not the application's (on the emulated stack a slapd on this
 * machine, on compose a container added in the override): it loads the connectors'
 * accounts from the (restored) database and says "listening" when ready, or reports that it cannot start.
 * Waits (bounded) for either. When it is not there, the connector scan is an `error` with the cause and the
 * fix, never a failed check: a scan against a directory that never ran says nothing about the runbook.
 * A restored database with no connector accounts leaves it waiting for them: that is the recovery's loss (the
 * scan fails on it), so the wait ends at once instead of running into the time-out.
 */
export async function checkFixtureDirectory(context: ProcedureContext, timeoutMs: number): Promise<void> {
  if (!context.stack.project().service('directory')) return;
  const started = Date.now();
  let log = '';
  let unavailable: HarnessUnavailableError | undefined;
  let noAccounts = false;
  for (;;) {
    log = (await context.stack.docker(['compose', 'logs', 'directory'])).stdout;
    if (/listening on ldap:/.test(log)) break;
    unavailable = HarnessUnavailableError.fromLog(FIXTURE_DIRECTORY, log);
    if (unavailable) break;
    noAccounts = /cannot build the directory yet/.test(log) && (await connectorAccounts(context)) === 0;
    if (noAccounts) break;
    if (Date.now() - started >= timeoutMs) {
      const last = log.trim().split('\n').at(-1) ?? '(no output)';
      unavailable = new HarnessUnavailableError(
        FIXTURE_DIRECTORY,
        `it did not report listening within ${timeoutMs / 1000} s (last log line: ${last})`,
        context.stack.kind === 'compose'
          ? // On compose it is a container of the drill's image running this checkout's nmia/directory (mounted).
            `see docker compose logs directory; run npm install in the nmia-drill checkout and build its images with .ci/provision-docker.sh`
          : `check that slapd starts on this machine (slapd -VV), or reinstall it: ${INSTALL}`,
      );
      break;
    }
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
  context.evidence.harnessAction({
    purpose: 'wait for the fixture LDAP directory to listen',
    command: 'docker compose logs directory until "listening"',
    exitCode: unavailable || noAccounts ? 1 : 0,
    durationMs: Date.now() - started,
    ...(unavailable ? { detail: unavailable.summary() } : {}),
    ...(noAccounts ? { detail: 'not started: the recovered database has no connector accounts for it to serve' } : {}),
  });
  const parts = unavailableParts(context);
  if (unavailable) parts['connector-scan'] = unavailable;
  else delete parts['connector-scan'];
  context.scratch[UNAVAILABLE] = parts;
}

async function connectorAccounts(context: ProcedureContext): Promise<number | undefined> {
  try {
    return (await FixtureDirectory.readAccounts(context.stack.dbClientConfig('nmia'), 0)).length;
  } catch {
    return undefined; // not answering yet: keep waiting
  }
}
