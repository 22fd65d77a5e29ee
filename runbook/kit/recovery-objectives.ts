import type { ProbeResult } from '../../src/probes/probe.ts';
import { computeRpo } from '../../src/probes/recovery-point.ts';
import { waitForHttp } from '../../src/drill/drill-environment.ts';
import { ApiSentinelWriter } from '../../src/probes/api-sentinel-writer.ts';
import { issueToken } from '../../src/probes/jwt-continuity-probe.ts';
import { applicationTarget } from './recovery-checklist.ts';
import { recoveryInputs } from './environment-loss.ts';
import { checkFixtureDirectory } from './fixture-directory-check.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)} s`;
}

/**
 * The services need a moment after `docker compose up -d`, as they would for an operator checking the list;
 * readiness is polled (bounded), never slept. A service that never comes up fails its probe afterwards.
 */
export async function waitForRecoveredApi(context: ProcedureContext, timeoutMs = 60_000): Promise<void> {
  for (const [purpose, url] of [
    // /api/v1/bootstrap/status reads the database; the real /health answers before the database is back.
    ['wait for the recovered api to answer from its database', `${context.stack.serviceUrl('api', 8000)}/api/v1/bootstrap/status`],
    ['wait for the recovered ui to serve its page', `${context.stack.serviceUrl('ui', 5173)}/`],
  ] as const) {
    const started = Date.now();
    try {
      await waitForHttp(url, timeoutMs);
      context.evidence.harnessAction({ purpose, command: `GET ${url} until 200`, exitCode: 0, durationMs: Date.now() - started });
    } catch (error) {
      context.evidence.harnessAction({
        purpose,
        command: `GET ${url} until 200`,
        exitCode: 1,
        durationMs: Date.now() - started,
        detail: (error as Error).message,
      });
    }
  }
  // The reference stack's LDAP directory loads its accounts from the restored database when it starts.
  await checkFixtureDirectory(context, timeoutMs);
}

/** The newest RPO enclave the recovered api lists, as the admin (a fresh login) sees it. */
async function latestApiSentinel(context: ProcedureContext, prefix: string) {
  const target = applicationTarget(context);
  const token = await issueToken(target.apiUrl, target.admin);
  return ApiSentinelWriter.latest(target.apiUrl, token, prefix);
}

/**
 * RTO: from the disaster until every checklist probe is green, with the restore's own time broken out.
 * RPO: the newest write the api acknowledged before the disaster against the newest one present after recovery.
 * Both go into the journal and are checked against the drill's targets; a miss is a failure.
 */
export async function measureRecoveryObjectives(context: ProcedureContext, results: ProbeResult[]): Promise<void> {
  const inputs = recoveryInputs(context);
  const targets = context.drill.targets;
  // Skipped items (an application defect seen before the disaster too, a missing input) neither hold the RTO up nor
  // count as green; an item the harness could not check leaves the RTO unmeasured, not missed.
  const green = results.some((result) => result.outcome === 'passed') && results.every((result) => result.outcome !== 'failed');
  const unchecked = results.filter((result) => result.outcome === 'error');
  const now = Date.now();
  const restoreMs = context.evidence.blocks.find((block) => block.blockIndex === 3)?.durationMs;
  const rtoMs = inputs.disasterAt ? now - inputs.disasterAt.getTime() : undefined;
  const notGreen = results.filter((result) => result.outcome === 'failed').map((result) => result.id);

  if (rtoMs === undefined) {
    context.rung({
      rung: 'timing',
      check: 'RTO: disaster → every checklist probe green',
      outcome: 'error',
      summary: 'the disaster time was not recorded',
    });
  } else if (green && unchecked.length > 0) {
    context.rung({
      rung: 'timing',
      check: 'RTO: disaster → every checklist probe green',
      outcome: 'error',
      summary: `not measured: ${unchecked.map((result) => `${result.id} could not be checked (${result.summary})`).join('; ')}`,
    });
  } else if (!green) {
    context.fail(
      'timing',
      'RTO: disaster → every checklist probe green',
      `not achieved: ${notGreen.join(', ')} not green after ${seconds(rtoMs)}`,
      { targetMs: targets.rtoMs },
    );
  } else if (rtoMs <= targets.rtoMs) {
    context.pass(
      'timing',
      'RTO: disaster → every checklist probe green',
      `${seconds(rtoMs)} (restore ${seconds(restoreMs ?? 0)}) within the ${seconds(targets.rtoMs)} target`,
      { rtoMs, restoreMs, targetMs: targets.rtoMs },
    );
  } else {
    context.fail(
      'timing',
      'RTO: disaster → every checklist probe green',
      `${seconds(rtoMs)} exceeds the ${seconds(targets.rtoMs)} target`,
      { rtoMs, restoreMs, targetMs: targets.rtoMs },
    );
  }

  let rpo: ReturnType<typeof computeRpo> = {
    rpoMs: null,
    lostWrites: null,
    explanation: inputs.rpoPrefix
      ? `the recovered api could not be asked for its newest sentinel enclave (${inputs.rpoPrefix}<n>)`
      : 'no RPO writes were made before the disaster',
  };
  if (inputs.rpoPrefix) {
    try {
      rpo = computeRpo({
        acknowledged: inputs.acknowledged,
        afterRecovery: await latestApiSentinel(context, inputs.rpoPrefix),
        disasterAt: inputs.disasterAt ?? new Date(),
      });
    } catch (error) {
      rpo = { ...rpo, explanation: `${rpo.explanation}: ${(error as Error).message}` };
    }
  }
  if (rpo.rpoMs === null)
    context.rung({ rung: 'timing', check: 'RPO: acknowledged writes lost', outcome: 'error', summary: `not measured: ${rpo.explanation}` });
  else if (rpo.rpoMs <= targets.rpoMs)
    context.pass(
      'timing',
      'RPO: acknowledged writes lost',
      `${seconds(rpo.rpoMs)} of writes (${rpo.lostWrites ?? '?'} sentinels) within the ${seconds(targets.rpoMs)} target: ${rpo.explanation}`,
      { ...rpo, targetMs: targets.rpoMs },
    );
  else
    context.fail(
      'timing',
      'RPO: acknowledged writes lost',
      `${seconds(rpo.rpoMs)} of writes lost exceeds the ${seconds(targets.rpoMs)} target: ${rpo.explanation}`,
      { ...rpo, targetMs: targets.rpoMs },
    );

  context.evidence.setTimings({
    ...(rtoMs !== undefined && green ? { rtoMs } : {}),
    ...(restoreMs !== undefined ? { restoreMs } : {}),
    ...(rpo.rpoMs !== null ? { rpoMs: rpo.rpoMs } : {}),
  });
  // The first recovery of the drill (runbook order) stands for the drill's RTO and RPO.
  const timing = context.drill.journal.timing;
  if (!('rto' in timing)) {
    timing.rto = {
      ...(rtoMs !== undefined && green ? { measuredMs: rtoMs } : {}),
      targetMs: targets.rtoMs,
      detail: `disaster → all checklist probes green (${context.mode}/${context.procedure.id}); restore step ${seconds(restoreMs ?? 0)}`,
    };
    timing.rpo = { ...(rpo.rpoMs !== null ? { measuredMs: rpo.rpoMs } : {}), targetMs: targets.rpoMs, detail: rpo.explanation };
  }
}
