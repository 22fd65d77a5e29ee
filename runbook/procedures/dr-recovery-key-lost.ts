import { randomBytes } from 'node:crypto';
import { loseEnvironment, prepareRecovery, recoveryBindings, recoveryInputs } from '../kit/environment-loss.ts';
import { PLANNED_ENVIRONMENT_LOSS, planRecoveryBindings, planRecoveryInputs } from '../kit/planned-inputs.ts';
import { waitForRecoveredApi } from '../kit/recovery-objectives.ts';
import { verifyRecovery } from '../kit/recovery-checklist.ts';
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

  async verify(context) {
    checkRecoveryWaitsForDatabase(context);
    await context.verifyRestoredDatabase('nmia', context.artifact('custom-dump')!.window!, { privilegesDroppedByDesign: true });
    await waitForRecoveredApi(context);
    const inputs = recoveryInputs(context);
    await verifyRecovery(context, {
      only: ['admin-login', 'jwt-continuity'],
      ...(inputs.preDisasterToken ? { preDisasterToken: inputs.preDisasterToken } : {}),
      tokenExpectation: 'invalid',
    });
  },
};
