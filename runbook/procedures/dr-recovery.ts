import { existsSync } from 'node:fs';
import { checkPrerequisites, probeBaseline, recordPostRecoveryActions, verifyRecovery } from '../kit/recovery-checklist.ts';
import {
  appRepository,
  loseEnvironment,
  overrideCheckpoints,
  prepareRecovery,
  recoveryBindings,
  recoveryInputs,
} from '../kit/environment-loss.ts';
import { PLANNED_ENVIRONMENT_LOSS, planRecoveryBindings, planRecoveryInputs } from '../kit/planned-inputs.ts';
import { measureRecoveryObjectives, waitForRecoveredApi } from '../kit/recovery-objectives.ts';
import { checkSecretKeyReachesApi } from '../kit/secret-key-continuity.ts';
import type { Procedure } from '../../src/drill/procedure.ts';
import { checkRecoveryWaitsForDatabase, diagnoseRecoveryStep } from '../kit/recovery-diagnosis.ts';

/**
 * Disaster Recovery Checklist › Recovery Steps 1–7 after a complete environment loss: clone, write .env,
 * start db, restore the most recent backup, start everything; then every "Verify recovery" item as a probe,
 * SECRET_KEY continuity, RTO and RPO against their targets, prerequisites and post-recovery sign-offs.
 */
export const drRecovery: Procedure = {
  id: 'dr-recovery',
  title: 'Disaster recovery: rebuild from Git and the latest backup, then verify the application',
  kind: 'recovery',
  // git clones the repository; the checklist probes render the UI in Chromium and scan the fixture LDAP directory.
  needs: { git: true, browser: true, directory: true },
  section: 'Disaster Recovery Checklist › Recovery Steps',
  blocks: [0, 1, 2, 3, 4],

  async prepare(context) {
    // The app's own writes are the RPO's: the baseline (its connector scan included) first, then writes, the
    // backup and more writes up to the disaster.
    await probeBaseline(context);
    await prepareRecovery(context, { rpoWrites: true });
  },

  bindings(context) {
    return recoveryBindings(context, { value: context.drill.canaries.secretKey, reason: 'the SECRET_KEY of the original environment' });
  },

  disaster: loseEnvironment,

  plan: {
    disaster: PLANNED_ENVIRONMENT_LOSS,
    prepare: planRecoveryInputs,
    bindings: (plan) => planRecoveryBindings(plan, 'the SECRET_KEY of the original environment'),
    destroysWorkspaceFiles: true,
  },

  diagnose: diagnoseRecoveryStep,

  checkpoints: overrideCheckpoints,

  async verify(context) {
    checkRecoveryWaitsForDatabase(context);
    const dump = context.artifact('custom-dump')!;
    await context.verifyRestoredDatabase('nmia', dump.window!, { privilegesDroppedByDesign: true });
    const inputs = recoveryInputs(context);
    await waitForRecoveredApi(context);
    const repository = appRepository(context);
    // Step 2 restores the original key into .env; whether the api runs with it is the app's compose file's doing.
    await checkSecretKeyReachesApi(context, context.drill.canaries.secretKey);
    const counts = dump.window!.before.tables;
    const results = await verifyRecovery(context, {
      expected: {
        identities: counts['public.identities']?.rows ?? 0,
        enclaves: counts['public.enclaves']?.rows ?? 0,
        connectors: counts['public.connector_instances']?.rows ?? 0,
      },
      ...(inputs.preDisasterToken ? { preDisasterToken: inputs.preDisasterToken } : {}),
      tokenExpectation: 'valid',
      workerLogs: {
        read: async () => (await context.stack.docker(['compose', 'logs', 'worker'])).stdout,
        since: inputs.disasterAt ?? new Date(0),
      },
    });
    await measureRecoveryObjectives(context, results);
    await checkPrerequisites(context, {
      repoUrl: repository ? repository.location : `file://${inputs.bareRepo}`,
      // Kept off the host as step 4 reads it: encrypted where the runbook decrypts its backups.
      backupFile: existsSync(`${inputs.offsiteDump}.gpg`) ? `${inputs.offsiteDump}.gpg` : inputs.offsiteDump,
    });
    recordPostRecoveryActions(context);
  },
};
