import { servicesWithLiteralSecretKey } from '../kit/secret-key-continuity.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';
import { randomBytes } from 'node:crypto';
import { loseEnvironment, overrideCheckpoints, prepareRecovery, recoveryBindings, recoveryInputs } from '../kit/environment-loss.ts';
import { PLANNED_ENVIRONMENT_LOSS, planRecoveryBindings, planRecoveryInputs } from '../kit/planned-inputs.ts';
import { waitForRecoveredApi } from '../kit/recovery-objectives.ts';
import { applicationTarget, verifyRecovery } from '../kit/recovery-checklist.ts';
import { checkToken } from '../../src/probes/jwt-continuity-probe.ts';
import type { Procedure } from '../../src/drill/procedure.ts';
import { checkRecoveryWaitsForDatabase, diagnoseRecoveryStep } from '../kit/recovery-diagnosis.ts';

/**
 * The runbook's warning, drilled: recover with a SECRET_KEY other than the original. Tokens issued before
 * the disaster must be rejected, and a fresh login must work.
 */
export const drRecoveryKeyLost: Procedure = {
  id: 'dr-recovery-key-lost',
  title: 'Disaster recovery with the SECRET_KEY lost: old tokens rejected, fresh logins work',
  kind: 'recovery',
  // git clones the repository; only login and token probes run, so no browser or directory.
  needs: { git: true },
  section: 'Disaster Recovery Checklist › Recovery Steps',
  blocks: [0, 1, 2, 3, 4],

  async prepare(context) {
    await prepareRecovery(context);
  },

  bindings(context) {
    // A fresh key for this drill only; it is a secret like the original, so it is redacted too.
    const replacement = `rotated-${randomBytes(24).toString('base64url')}`;
    context.drill.redactor.add('replacement_secret_key', replacement);
    return recoveryBindings(context, { value: replacement, reason: 'a SECRET_KEY different from the original (the original is lost)' });
  },

  disaster: loseEnvironment,

  plan: {
    disaster: PLANNED_ENVIRONMENT_LOSS,
    prepare: planRecoveryInputs,
    bindings: (plan) =>
      planRecoveryBindings(plan, 'a SECRET_KEY different from the original (the original is lost); generated when the drill runs'),
    destroysWorkspaceFiles: true,
  },

  diagnose: diagnoseRecoveryStep,

  checkpoints: overrideCheckpoints,

  async verify(context) {
    checkRecoveryWaitsForDatabase(context);
    await context.verifyRestoredDatabase('nmia', context.artifact('custom-dump')!.window!, { privilegesDroppedByDesign: true });
    await waitForRecoveredApi(context);
    const inputs = recoveryInputs(context);
    // A key fixed in docker-compose.yml survives any loss of .env: old tokens stay valid whatever the runbook does.
    // That is the application's defect, shown as such; the rest of this drill still runs.
    const fixedKey = await servicesWithLiteralSecretKey(context.projectDir);
    if (fixedKey.includes('api')) {
      await verifyRecovery(context, { only: ['admin-login'] });
      // What an operator would see: the token signed before the disaster, with the old key, is still accepted.
      const old = inputs.preDisasterToken ? await checkToken(applicationTarget(context).apiUrl, inputs.preDisasterToken) : undefined;
      recordFixedKeyDefect(context, fixedKey, old?.status);
      return;
    }
    await verifyRecovery(context, {
      only: ['admin-login', 'jwt-continuity'],
      ...(inputs.preDisasterToken ? { preDisasterToken: inputs.preDisasterToken } : {}),
      tokenExpectation: 'invalid',
    });
  },
};

function recordFixedKeyDefect(context: ProcedureContext, services: readonly string[], preDisasterTokenStatus?: number): void {
  const check = 'tokens issued before the disaster are rejected once the SECRET_KEY is replaced';
  context.rung({
    rung: 'application',
    check,
    outcome: 'skipped',
    summary: `not a recovery failure: docker-compose.yml fixes SECRET_KEY for ${services.join(' and ')}, so the replaced key in .env never reaches the app${preDisasterTokenStatus !== undefined ? ` (a token issued before the disaster → HTTP ${preDisasterTokenStatus} after it)` : ''}`,
    ...(preDisasterTokenStatus !== undefined ? { evidence: { preDisasterTokenStatus, expected: 401 } } : {}),
  });
  context.finding({
    kind: 'application',
    severity: 'high',
    line: context.block(1).line,
    title: `a lost SECRET_KEY cannot be replaced: docker-compose.yml sets it to a fixed value for ${services.join(' and ')}`,
    evidence: {
      servicesWithLiteralKey: [...services],
      ...(preDisasterTokenStatus !== undefined ? { preDisasterTokenStatusAfterRecovery: preDisasterTokenStatus } : {}),
      note: 'read from docker-compose.yml; the key itself is not recorded',
    },
    whyItMatters:
      'After the key is lost (or leaked) every token signed with the old key stays valid, because the app never reads the new key that the runbook writes into .env.',
    suggestedFix:
      'In the app: take the key from the environment, e.g. `SECRET_KEY: ${SECRET_KEY:?set SECRET_KEY in .env}` for api and worker in docker-compose.yml.',
  });
}
