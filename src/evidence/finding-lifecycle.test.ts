import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticJournal } from '../../test-support/synthetic-journal.ts';
import { writeEvidence } from './evidence-writer.ts';
import {
  describeFindings,
  FindingReviewSchema,
  findingHistory,
  groupFindings,
  readFindingReview,
  reviewPathFor,
  stableFindingId,
} from './finding-lifecycle.ts';
import type { Finding, Journal } from './journal.ts';
import { Redactor } from './redactor.ts';

const RUNBOOK = '/work/runbook/backup-restore.md';

function finding(id: string, overrides: Partial<Finding> = {}): Finding {
  return {
    id,
    kind: 'runbook',
    procedure: 'restore-test-db',
    section: 'Database Restore › Restore to a Different Database (for Testing)',
    severity: 'high',
    title: 'pg_restore exits 1 after 12 errors',
    evidence: {},
    whyItMatters: 'w',
    suggestedFix: 'f',
    ...overrides,
  };
}

/** Drill 1: one defect seen in both modes (F01 order, F02 alone) and one more (F03). Drill 2: F03 was fixed. */
function drill(drillId: string, startedAt: string, withFixed: boolean): Journal {
  const journal = syntheticJournal({
    drillId,
    startedAt,
    finishedAt: startedAt,
    runbook: { ...syntheticJournal().runbook, path: RUNBOOK },
  });
  const order = journal.procedures.find((procedure) => procedure.id === 'volume-backup')!;
  const alone = journal.procedures.find((procedure) => procedure.id === 'restore-test-db')!;
  order.findings = ['F01', ...(withFixed ? ['F03'] : [])];
  alone.findings = ['F02'];
  journal.findings = [
    finding('F01', { title: `pg_restore exits 1 after ${withFixed ? 12 : 14} errors` }),
    finding('F02', { severity: 'critical' }),
    ...(withFixed
      ? [
          finding('F03', {
            kind: 'environment',
            procedure: 'volume-backup',
            section: 'Docker Volume Backup',
            title: 'volume nmai_pgdata is empty',
          }),
        ]
      : []),
  ];
  return journal;
}

describe('finding lifecycle across two drills', () => {
  let root: string;
  let runbookDir: string;
  const grouped = stableFindingId(finding('F01'));
  const fixed = stableFindingId(
    finding('F03', {
      kind: 'environment',
      procedure: 'volume-backup',
      section: 'Docker Volume Backup',
      title: 'volume nmai_pgdata is empty',
    }),
  );

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'nmia-drill-findings-'));
    runbookDir = await mkdtemp(join(tmpdir(), 'nmia-drill-findings-runbook-'));
    for (const [name, journal] of [
      ['20260110-020000-aaaa0001', drill('aaaa0001', '2026-01-10T02:00:00.000Z', true)],
      ['20260117-020000-aaaa0002', drill('aaaa0002', '2026-01-17T02:00:00.000Z', false)],
    ] as const) {
      await mkdir(join(root, name));
      await writeEvidence(journal, join(root, name), new Redactor(), { NMIA_DRILL_SIGNING: 'off' });
    }
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(runbookDir, { recursive: true, force: true });
  });

  it('gives one stable id to the same defect in both modes and across drills, whatever its counts', () => {
    expect(grouped).toMatch(/^NF-[0-9a-f]{12}$/);
    expect(stableFindingId(finding('F09', { title: 'pg_restore exits 1 after 99 errors' }))).toBe(grouped);
    expect(stableFindingId(finding('F01', { procedure: 'restore-sql' }))).not.toBe(grouped);
    const groups = groupFindings(drill('x', '2026-01-10T02:00:00.000Z', true));
    expect(groups).toHaveLength(2);
    expect(groups[0]).toMatchObject({ id: grouped, modes: ['order', 'alone'], journalIds: ['F01', 'F02'], severity: 'critical' });
  });

  it('reports first and last seen, and a finding fixed in between as gone; the review file adds owner, ticket and status', async () => {
    const review = FindingReviewSchema.parse({
      findings: [
        { id: grouped, owner: 'dba-team', ticket: 'https://tickets.example/DR-12', status: 'open' },
        { id: fixed, owner: 'platform', status: 'fixed' },
      ],
    });
    const history = await findingHistory(root, { runbookPath: RUNBOOK, review });
    expect(history).toMatchObject({ drills: 2, latest: 'aaaa0002' });
    const byId = Object.fromEntries(history.lives.map((life) => [life.id, life]));
    expect(byId[grouped]).toMatchObject({
      state: 'open',
      drills: 2,
      firstSeen: { drillId: 'aaaa0001' },
      lastSeen: { drillId: 'aaaa0002' },
      owner: 'dba-team',
      ticket: 'https://tickets.example/DR-12',
    });
    expect(byId[fixed]).toMatchObject({ state: 'fixed-confirmed', drills: 1, lastSeen: { drillId: 'aaaa0001' } });
    const text = describeFindings(history, true);
    expect(text).toMatch(new RegExp(`^OPEN +${grouped} \\[critical\\] runbook restore-test-db \\(order\\+alone\\)`, 'm'));
    expect(text).toMatch(new RegExp(`^FIXED \\(gone\\) +${fixed}`, 'm'));
    expect(text).toContain('1 open finding(s) across 2 drill(s); newest drill aaaa0002');
    // Without a review, the fixed one is simply gone.
    expect((await findingHistory(root, { runbookPath: RUNBOOK })).lives.find((life) => life.id === fixed)?.state).toBe('gone');
  });

  it('flags a finding marked fixed that the newest drill still finds, and refuses a review entry without what it needs', async () => {
    const path = reviewPathFor(join(runbookDir, 'backup-restore.md'));
    expect(path).toBe(join(runbookDir, 'backup-restore.findings.yaml'));
    await writeFile(path, `findings:\n  - id: ${grouped}\n    status: fixed\n`);
    const history = await findingHistory(root, { runbookPath: RUNBOOK, review: await readFindingReview(path) });
    expect(history.lives.find((life) => life.id === grouped)?.state).toBe('fixed-but-present');
    expect(describeFindings(history)).toMatch(/^FIXED\? STILL PRESENT/m);
    await writeFile(path, `findings:\n  - id: ${grouped}\n    status: accepted-risk\n`);
    await expect(readFindingReview(path)).rejects.toThrow(/an accepted risk needs a reason/);
    await writeFile(path, `findings:\n  - id: F01\n    status: open\n`);
    await expect(readFindingReview(path)).rejects.toThrow(/not a findings review file/);
  });
});
