import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import type { DrillOptions } from '../src/drill/drill-options.ts';
import type { Procedure } from '../src/drill/procedure.ts';
import { recoveryInputs } from '../runbook/kit/environment-loss.ts';
import { tokenSignedWithAnotherKey } from './support/seeded-checklist-defects.ts';
import type { ProcedureContext } from '../src/drill/procedure-context.ts';
import { CORRECTED_RUNBOOK, drill, failedChecks, procedure, withProcedure } from './support/drill-harness.ts';

/** The application half of the DR checklist: each probe must fail on its seeded defect. */
// Seeded defects, not the app's timing: the reference worker polls every second instead of the real 15 s
// (the journal says so). The real interval runs in the app parity suites (test/parity, scenarios/full-parity).
beforeAll(() => {
  vi.stubEnv('NMIA_WORKER_POLL_MS', '1000');
});
afterAll(() => {
  vi.unstubAllEnvs();
});
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/**
 * dr-recovery with a fault injected after the recovery steps ran and before the checks; with `afterRestoreCheck`,
 * after the restored database was compared with the backup (a changed row would otherwise fail that rung first).
 */
function recoveryWithFault(fault: (context: ProcedureContext) => Promise<void>, options: { afterRestoreCheck?: boolean } = {}) {
  return withProcedure('dr-recovery', (original) => ({
    ...original,
    async verify(context) {
      if (options.afterRestoreCheck) {
        const compare = context.verifyRestoredDatabase.bind(context);
        context.verifyRestoredDatabase = async (...args) => {
          const matched = await compare(...args);
          await fault(context);
          return matched;
        };
      } else await fault(context);
      await original.verify(context);
    },
  }));
}

async function recoveryChecks(procedures: Procedure[], options: Partial<DrillOptions> = {}) {
  // The corrected runbook: the given one stops at step 4 (it never waits for the database), before any check.
  const result = await drill({ runbookPath: CORRECTED_RUNBOOK, only: ['dr-recovery'], isolation: 'order', procedures, ...options });
  cleanups.push(result.cleanup);
  return { record: procedure(result.journal, 'dr-recovery'), journal: result.journal };
}

describe('the DR checklist fails on seeded defects', () => {
  // The healthy recovery (every item, its baseline, RTO and RPO, the application findings with their fixes) is
  // asserted on the corrected runbook's default drill: scenarios/runbook-corrected.drill.test.ts.
  // Each drill seeds two defects that touch different items (a full recovery costs about a minute): each item must
  // fail on its own defect, with that defect's cause. The probes alone, one defect at a time: src/probes/checklist-probes.test.ts.
  it('fails the login probe on a wrong admin password hash and the worker probe on a stopped worker; the RPO, read through the api as the admin, is left unmeasured', async () => {
    const { record } = await recoveryChecks(
      recoveryWithFault(async (context) => {
        await context.harnessSql(
          'fault: a wrong admin password hash',
          "UPDATE users SET password_hash = '$2b$10$' || repeat('A', 53) WHERE username = 'admin'",
        );
        await context.harnessDocker('fault: the worker is stopped', ['compose', 'stop', 'worker']);
      }),
    );
    expect(record.outcome).toBe('failed');
    const failed = failedChecks(record).join('\n');
    expect(failed).toMatch(/application: Admin can log in with existing credentials — .*401/);
    // Its last line is its stop, or (stopped while it was still starting, on a busy machine) it logged nothing since recovery began.
    expect(failed).toMatch(
      /application: Worker is running .*— docker compose logs worker: (the last line says the worker ended|no line since .*: the worker has not run since recovery began)/,
    );
    expect(failed).toMatch(/RTO: .*not achieved/);
    // The recovered api lists its RPO enclaves to the admin only: with the admin locked out, the RPO is not measured, never passed.
    expect(record.rungs.find((rung) => rung.check === 'RPO: acknowledged writes lost')).toMatchObject({
      outcome: 'error',
      summary: expect.stringMatching(/^not measured: the recovered api could not be asked for its newest sentinel enclave/),
    });
  });

  it('fails the connector scan on a changed bind password, token continuity on a token signed with another SECRET_KEY, and the RPO on a target of 0 s', async () => {
    const changedBindPassword = recoveryWithFault(
      async (context) => {
        // The directory loads its accounts from the restored database when it starts; change the password after that.
        for (
          let waited = 0;
          !/listening on ldap:/.test((await context.stack.docker(['compose', 'logs', 'directory'])).stdout);
          waited += 200
        ) {
          if (waited > 30_000) throw new Error('the fixture directory never started');
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        await context.harnessSql(
          'fault: a changed connector bind password',
          `UPDATE connector_instances SET config = jsonb_set(config::jsonb, '{bind_password}', '"not-the-directory-password"')::json WHERE config::jsonb ? 'bind_password'`,
        );
      },
      { afterRestoreCheck: true },
    );
    // The compose file fixes SECRET_KEY, so a different key in .env changes nothing (an application finding of the
    // lost-key drill); a token signed with another key is what a changed key looks like to the api.
    const procedures = changedBindPassword.map((candidate) =>
      candidate.id !== 'dr-recovery'
        ? candidate
        : {
            ...candidate,
            async verify(context: ProcedureContext) {
              recoveryInputs(context).preDisasterToken = await tokenSignedWithAnotherKey();
              await candidate.verify(context);
            },
          },
    );
    // Writes made after the backup are lost in any restore: an RPO target of 0 s is missed.
    const { record } = await recoveryChecks(procedures, { rpoTargetMs: 0 });
    expect(failedChecks(record).join('\n')).toMatch(
      /application: A JWT issued before the disaster is still valid \(SECRET_KEY kept\) — .*401/,
    );
    expect(failedChecks(record).join('\n')).toMatch(
      /timing: RPO: acknowledged writes lost — [\d.]+ s of writes lost exceeds the 0\.0 s target/,
    );
    const scan = record.rungs.find((rung) => rung.evidence?.probe === 'connector-scan')!;
    // The scan passed before the disaster (its baseline), so after the recovery the failed bind is the recovery's.
    expect(scan).toMatchObject({ outcome: 'failed', evidence: { status: 'failed', baseline: { outcome: 'passed' } } });
    expect(failedChecks(record).join('\n')).toMatch(/application: Run a test connector scan to verify connectivity — .*invalidCredentials/);
  });
});
