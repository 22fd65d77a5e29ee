import { afterEach, describe, expect, it } from 'vitest';
import type { Procedure } from '../src/drill/procedure.ts';
import type { ProcedureContext } from '../src/drill/procedure-context.ts';
import { CORRECTED_RUNBOOK, drill, failedChecks, procedure, withProcedure } from './support/drill-harness.ts';

/** The application half of the DR checklist: each probe must fail on its seeded defect. */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** dr-recovery with a fault injected after the recovery steps ran and before the checks. */
function recoveryWithFault(fault: (context: ProcedureContext) => Promise<void>, override: Partial<Procedure> = {}) {
  return withProcedure('dr-recovery', (original) => ({
    ...original,
    ...override,
    async verify(context) {
      await fault(context);
      await original.verify(context);
    },
  }));
}

async function recoveryChecks(procedures: Procedure[]) {
  // The corrected runbook: the given one stops at step 4 (it never waits for the database), before any check.
  const result = await drill({ runbookPath: CORRECTED_RUNBOOK, only: ['dr-recovery'], isolation: 'order', procedures });
  cleanups.push(result.cleanup);
  return { record: procedure(result.journal, 'dr-recovery'), journal: result.journal };
}

describe('the DR checklist fails on seeded defects', () => {
  it('passes every item and records RTO and RPO on a healthy recovery', async () => {
    const { record, journal } = await recoveryChecks(recoveryWithFault(async () => undefined));
    expect(record.outcome, failedChecks(record).join('\n') || record.reason).toBe('passed');
    const application = record.rungs.filter((rung) => rung.rung === 'application');
    expect(application).toHaveLength(8);
    expect(application.every((rung) => rung.outcome === 'passed')).toBe(true);
    expect(journal.timing).toMatchObject({
      rto: { measuredMs: expect.any(Number), targetMs: 900_000 },
      rpo: { measuredMs: expect.any(Number) },
    });
    const postRecovery = journal.checklist!.filter((item) => /Rotate the `?SECRET_KEY|Update DNS/.test(item.item));
    expect(postRecovery.map((item) => item.outcome)).toEqual(['not-run', 'not-run']);
  });

  it('fails the login probe when the admin password hash is wrong after the restore', async () => {
    const { record } = await recoveryChecks(
      recoveryWithFault((context) =>
        context
          .harnessSql(
            'fault: a wrong admin password hash',
            "UPDATE users SET password_hash = '$2b$10$' || repeat('A', 53) WHERE username = 'admin'",
          )
          .then(() => undefined),
      ),
    );
    expect(record.outcome).toBe('failed');
    expect(failedChecks(record).join('\n')).toMatch(/application: Admin can log in with existing credentials — .*401/);
  });

  it('fails the worker probe when the worker is stopped', async () => {
    const { record } = await recoveryChecks(
      recoveryWithFault(async (context) => {
        await context.harnessDocker('fault: the worker is stopped', ['compose', 'stop', 'worker']);
        // Its last heartbeats would look fresh for a few seconds; a stopped worker has none to show.
        await context.harnessSql('fault: forget the stopped worker’s heartbeats', 'DELETE FROM worker_heartbeats');
      }),
    );
    expect(failedChecks(record).join('\n')).toMatch(/application: Worker is running/);
    expect(failedChecks(record).join('\n')).toMatch(/RTO: .*not achieved/);
  });

  it('fails the connector scan when the restored bind password no longer matches the directory', async () => {
    const { record } = await recoveryChecks(
      recoveryWithFault(async (context) => {
        // The directory loads its accounts from the restored database when it starts; change the password after that.
        for (
          let waited = 0;
          !/directory listening/.test((await context.stack.docker(['compose', 'logs', 'directory'])).stdout);
          waited += 200
        ) {
          if (waited > 30_000) throw new Error('the fixture directory never started');
          await new Promise((resolve) => setTimeout(resolve, 200));
        }
        await context.harnessSql(
          'fault: a changed connector bind password',
          `UPDATE connectors SET config = jsonb_set(config, '{bind_password}', '"not-the-directory-password"')`,
        );
      }),
    );
    expect(failedChecks(record).join('\n')).toMatch(/application: Run a test connector scan to verify connectivity — .*invalid/i);
  });

  it('fails token continuity when the recovery uses a different SECRET_KEY', async () => {
    const procedures = withProcedure('dr-recovery', (original) => ({
      ...original,
      bindings: async (context) =>
        (await original.bindings!(context)).map((binding) =>
          binding.placeholder === '<original-secret-key>' ? { ...binding, value: 'a-different-key-0123456789-abcdefghijklmnop' } : binding,
        ),
    }));
    const { record } = await recoveryChecks(procedures);
    expect(failedChecks(record).join('\n')).toMatch(
      /application: A JWT issued before the disaster is still valid \(SECRET_KEY kept\) — .*401/,
    );
  });
});
