import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DrillResult } from '../src/drill/drill-runner.ts';
import { drill, GIVEN_RUNBOOK } from './support/drill-harness.ts';

/**
 * The runbook exactly as the user gave it, every procedure alone and in order. It must yield exactly
 * its findings: no more (the drill invents nothing), no fewer (it masks nothing).
 */
describe('the runbook as given', () => {
  let result: DrillResult & { cleanup: () => Promise<void> };
  beforeAll(async () => {
    result = await drill({ runbookPath: GIVEN_RUNBOOK, isolation: 'both' });
  }, 600_000);
  afterAll(async () => {
    await result?.cleanup();
  });

  const EXPECTED: Array<{ procedure: string; title: RegExp }> = [
    { procedure: 'automated-backup', title: /cron entry executes \/opt\/nmia\/backup\.sh directly/ },
    { procedure: 'automated-backup', title: /a failed run leaves nmia_backup_\d{8}_\d{6}\.dump \(\d+ bytes\)/ },
    { procedure: 'volume-backup', title: /uses volume nmai_pgdata, but the db service's data lives in nmia_pgdata/ },
    { procedure: 'volume-restore', title: /uses volume nmai_pgdata, but the db service's data lives in nmia_pgdata/ },
    { procedure: 'automated-backup', title: /cron entry executes/ },
    { procedure: 'automated-backup', title: /a failed run leaves/ },
    { procedure: 'restore-test-db', title: /restores \/tmp\/nmia_restore\.dump, which only "Restore from Custom Format Dump" copies/ },
    { procedure: 'volume-backup', title: /uses volume nmai_pgdata/ },
    { procedure: 'volume-restore', title: /removes and restores volume nmai_pgdata, but the db service's data lives in nmia_pgdata/ },
    { procedure: 'restore-test-db', title: /passes only after the sections before it/ },
    // Step 3 never waits for the database: in every recovery, alone and in order.
    { procedure: 'dr-recovery', title: /step 3 starts the database but nothing waits for it/ },
    { procedure: 'dr-recovery', title: /step 3 starts the database but nothing waits for it/ },
    { procedure: 'dr-recovery-key-lost', title: /step 3 starts the database but nothing waits for it/ },
    { procedure: 'dr-recovery-key-lost', title: /step 3 starts the database but nothing waits for it/ },
  ];

  it('yields exactly the known findings, each with evidence and a suggested fix', () => {
    const findings = result.journal.findings;
    expect(
      findings.map((finding) => `${finding.procedure}: ${finding.title}`),
      'the findings',
    ).toHaveLength(EXPECTED.length);
    const unmatched = [...findings];
    for (const expected of EXPECTED) {
      const at = unmatched.findIndex((finding) => finding.procedure === expected.procedure && expected.title.test(finding.title));
      expect(at, `${expected.procedure}: ${expected.title}`).toBeGreaterThanOrEqual(0);
      unmatched.splice(at, 1);
    }
    for (const finding of findings) {
      expect(Object.keys(finding.evidence).length).toBeGreaterThan(0);
      expect(finding.suggestedFix.length).toBeGreaterThan(10);
      expect(finding.whyItMatters.length).toBeGreaterThan(10);
    }
  });

  it('gives every procedure an outcome, and every failure a finding', () => {
    const outcomes = Object.fromEntries(result.journal.procedures.map((record) => [`${record.mode}/${record.id}`, record.outcome]));
    expect(outcomes).toEqual({
      'order/full-backup': 'passed',
      'order/sql-backup': 'passed',
      'order/schema-backup': 'passed',
      'order/automated-backup': 'failed',
      'order/restore-custom': 'passed',
      'order/restore-sql': 'passed',
      'order/restore-test-db': 'passed',
      'order/volume-backup': 'failed',
      'order/volume-restore': 'failed',
      'order/config-export': 'passed',
      'order/dr-recovery': 'failed',
      'order/dr-recovery-key-lost': 'failed',
      'alone/full-backup': 'passed',
      'alone/sql-backup': 'passed',
      'alone/schema-backup': 'passed',
      'alone/automated-backup': 'failed',
      'alone/restore-custom': 'passed',
      'alone/restore-sql': 'passed',
      'alone/restore-test-db': 'failed',
      'alone/volume-backup': 'failed',
      'alone/volume-restore': 'failed',
      'alone/config-export': 'passed',
      'alone/dr-recovery': 'failed',
      'alone/dr-recovery-key-lost': 'failed',
    });
    for (const record of result.journal.procedures.filter((candidate) => candidate.outcome === 'failed'))
      expect(record.findings.length, record.id).toBeGreaterThan(0);
    expect(result.journal.outcome).toBe('failed');
    // The volume restore in order leaves the database damaged; the environment is rebuilt, and that is recorded.
    // After a recovery that lost its race with the database, the environment is rebuilt before the next one too.
    const resets = result.journal.environmentResets.map((reset) => reset.before);
    expect(resets[0]).toBe('config-export');
    expect(resets.slice(1).every((before) => before === 'dr-recovery-key-lost')).toBe(true);
  });
});
