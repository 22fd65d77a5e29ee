import { describe, expect, it } from 'vitest';
import type { ProbeResult } from '../../src/probes/probe.ts';
import { againstBaseline } from './recovery-checklist.ts';

const result = (outcome: ProbeResult['outcome'], summary: string = outcome): ProbeResult => ({
  id: 'ui-loads',
  item: 'UI loads',
  outcome,
  summary,
  evidence: {},
  durationMs: 1,
});

describe('a checklist item against its pre-disaster baseline', () => {
  it('turns a failure the application also had before the disaster into a skipped item with the application defect', () => {
    const judged = againstBaseline(result('failed', 'no enclave rows'), result('failed', 'no enclave rows before'));
    expect(judged.outcome).toBe('skipped');
    expect(judged.summary).toContain('before the disaster too (no enclave rows before)');
    expect(judged.applicationDefect?.summary).toBe('no enclave rows before');
  });

  it('leaves a failure the recovery caused (the item passed before) as a failure: that is the runbook’s', () => {
    expect(againstBaseline(result('failed'), result('passed'))).toEqual(result('failed'));
    expect(againstBaseline(result('failed'), undefined)).toEqual(result('failed'));
  });

  it('never turns a harness error into an application defect', () => {
    expect(againstBaseline(result('error'), result('error'))).toEqual(result('error'));
    expect(againstBaseline(result('failed'), result('error')).outcome).toBe('failed');
  });
});
