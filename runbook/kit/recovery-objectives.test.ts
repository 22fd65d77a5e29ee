import { describe, expect, it } from 'vitest';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';
import type { Journal, Rung } from '../../src/evidence/journal.ts';
import type { ProbeResult } from '../../src/probes/probe.ts';
import { measureRecoveryObjectives } from './recovery-objectives.ts';

const probe = (id: string, outcome: ProbeResult['outcome']) => ({ id, outcome, summary: `${id} ${outcome}` }) as ProbeResult;

/** The verdicts on RTO and RPO for a recovery whose disaster was `secondsAgo` ago, against an RTO target of `rtoTargetMs`. */
async function objectives(results: ProbeResult[], options: { secondsAgo: number; rtoTargetMs: number }) {
  const rungs: Array<Pick<Rung, 'check' | 'outcome' | 'summary'>> = [];
  const journal = { timing: {} } as Journal;
  // The judging alone: the recovery's inputs, the drill's targets and what the check records.
  const context = {
    stack: { workspace: { harnessDir: '/nonexistent', root: '/nonexistent' } },
    scratch: { recovery: { disasterAt: new Date(Date.now() - options.secondsAgo * 1000) } },
    drill: { targets: { rtoMs: options.rtoTargetMs, rpoMs: 60_000 }, journal },
    evidence: { blocks: [{ blockIndex: 3, durationMs: 1_500 }], setTimings: () => undefined },
    mode: 'order',
    procedure: { id: 'dr-recovery' },
    pass: (_rung: string, check: string, summary: string) => rungs.push({ check, outcome: 'passed', summary }),
    fail: (_rung: string, check: string, summary: string) => rungs.push({ check, outcome: 'failed', summary }),
    rung: (rung: Rung) => rungs.push(rung),
  } as unknown as ProcedureContext;
  await measureRecoveryObjectives(context, results);
  const verdict = (check: RegExp) => rungs.find((rung) => check.test(rung.check));
  return { rto: verdict(/^RTO/), rpo: verdict(/^RPO/), journal };
}

describe('measureRecoveryObjectives: the RTO against its target', () => {
  const green = [probe('api-docs', 'passed'), probe('ui-loads', 'skipped'), probe('admin-login', 'passed')];

  it('passes when every probe is green within the target, and records the drill RTO', async () => {
    const { rto, journal } = await objectives(green, { secondsAgo: 2, rtoTargetMs: 900_000 });
    expect(rto).toMatchObject({
      outcome: 'passed',
      summary: expect.stringMatching(/^2\.\d s \(restore 1\.5 s\) within the 900\.0 s target$/),
    });
    expect(journal.timing.rto).toMatchObject({ measuredMs: expect.any(Number), targetMs: 900_000 });
  });

  it('fails (seeded: a 1 s target) when every probe is green but later than the target', async () => {
    const { rto } = await objectives(green, { secondsAgo: 5, rtoTargetMs: 1_000 });
    expect(rto).toMatchObject({ outcome: 'failed', summary: expect.stringMatching(/^5\.\d s exceeds the 1\.0 s target$/) });
  });

  it('fails as not achieved when a probe is red, whatever the time; one that could not be checked leaves it unmeasured', async () => {
    expect((await objectives([...green, probe('worker-running', 'failed')], { secondsAgo: 1, rtoTargetMs: 900_000 })).rto).toMatchObject({
      outcome: 'failed',
      summary: expect.stringMatching(/^not achieved: worker-running not green after 1\.\d s$/),
    });
    expect((await objectives([...green, probe('connector-scan', 'error')], { secondsAgo: 1, rtoTargetMs: 900_000 })).rto).toMatchObject({
      outcome: 'error',
      summary: expect.stringMatching(/^not measured: connector-scan could not be checked/),
    });
  });

  it('leaves the RPO unmeasured, never passed, when no write was made through the api before the disaster', async () => {
    const { rpo } = await objectives(green, { secondsAgo: 1, rtoTargetMs: 900_000 });
    expect(rpo).toMatchObject({ outcome: 'error', summary: 'not measured: no RPO writes were made before the disaster' });
  });
});
