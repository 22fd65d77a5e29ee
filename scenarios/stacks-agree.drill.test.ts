import { afterAll, describe, expect, it } from 'vitest';
import type { Journal } from '../src/evidence/journal.ts';
import { announceSkip, dockerAvailability } from '../src/docker/docker-availability.ts';
import { drill, GIVEN_RUNBOOK } from './support/drill-harness.ts';

const docker = await dockerAvailability(['postgres:15', 'alpine:latest', 'nmia-drill/node:20']);
const suffix = announceSkip('emulated vs compose drill', docker);

/** What must agree between two stacks: each procedure's outcome and the findings, without run-specific names. */
function verdicts(journal: Journal) {
  const normalize = (text: string) => text.replace(/\d{8}_\d{6}/g, '<ts>').replace(/\(\d+ bytes\)/g, '(<n> bytes)');
  return {
    outcomes: Object.fromEntries(journal.procedures.map((record) => [`${record.mode}/${record.id}`, record.outcome])),
    findings: journal.findings.map((finding) => `${finding.procedure}: ${normalize(finding.title)}`).sort(),
  };
}

/**
 * The emulated stack is only believable if it agrees with real Docker: the whole runbook as given, in
 * runbook order, on both stacks, must give the same outcome for every procedure and the same findings.
 */
describe.skipIf(!docker.available)(`the whole drill on the emulated and the compose stack${suffix}`, () => {
  const cleanups: Array<() => Promise<void>> = [];
  afterAll(async () => {
    for (const cleanup of cleanups) await cleanup();
  });

  it('gives the same outcomes and findings on both stacks', async () => {
    const emulated = await drill({ runbookPath: GIVEN_RUNBOOK, isolation: 'order', stack: 'emulated', scale: 200 });
    cleanups.push(emulated.cleanup);
    const compose = await drill({ runbookPath: GIVEN_RUNBOOK, isolation: 'order', stack: 'compose', scale: 200 });
    cleanups.push(compose.cleanup);
    expect(emulated.journal.stack?.kind).toBe('emulated');
    expect(compose.journal.stack?.kind).toBe('compose');
    expect(verdicts(compose.journal)).toEqual(verdicts(emulated.journal));
    // The runbook as given is not green on either: the comparison is between real findings.
    expect(verdicts(compose.journal).findings.length).toBeGreaterThan(3);
  }, 600_000);
});
