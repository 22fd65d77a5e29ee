import { JOURNAL_VERSION, totalsOf, type Journal, type ProcedureRecord } from '../src/evidence/journal.ts';

/**
 * A small journal that exercises every renderer branch without running a drill: every outcome, a
 * finding of each kind, bindings, a failed command, RTO met and RPO missed, checklist attestations,
 * and hostile text (markup, quotes, control characters) wherever a journal holds free text.
 * For renderer tests and previews only; real evidence always comes from a DrillRunner.
 */
export const HOSTILE = `<script>alert("x")</script><img src="https://evil.example/p.png" onerror='alert(1)'> ]]> &amp; \u001b[31mred\u001b[0m`;

function procedure(overrides: Partial<ProcedureRecord> & Pick<ProcedureRecord, 'id' | 'outcome'>): ProcedureRecord {
  return {
    title: `title of ${overrides.id}`,
    section: `Section › ${overrides.id}`,
    line: 10,
    mode: 'order',
    blocks: [],
    harnessActions: [],
    artifacts: [],
    rungs: [],
    findings: [],
    ...overrides,
  };
}

export function syntheticJournal(overrides: Partial<Journal> = {}): Journal {
  const procedures: ProcedureRecord[] = [
    procedure({
      id: 'full-backup',
      outcome: 'passed',
      section: 'Database Backup › Full Backup (Recommended)',
      line: 33,
      startedAt: '2026-01-10T02:00:01.000Z',
      durationMs: 1800,
      blocks: [
        {
          section: 'Database Backup › Full Backup (Recommended)',
          blockIndex: 0,
          line: 33,
          sha256: 'a'.repeat(64),
          executedText: 'docker compose exec db pg_dump -U nmia -d nmia -Fc --file=/tmp/nmia_backup.dump',
          bindings: [{ placeholder: '/opt/nmia', value: '/tmp/ws/nmia', reason: `the drill workspace ${HOSTILE}`, occurrences: 1 }],
          commands: [
            {
              index: 0,
              text: 'docker compose exec db pg_dump -U nmia -d nmia -Fc --file=/tmp/nmia_backup.dump',
              exitCode: 0,
              startedAt: '2026-01-10T02:00:01.100Z',
              durationMs: 900,
              stderrTail: '',
              stdoutTail: '',
            },
          ],
          exitCode: 0,
          startedAt: '2026-01-10T02:00:01.050Z',
          durationMs: 1000,
          stdoutTail: '',
          stderrTail: '',
        },
      ],
      artifacts: [
        {
          name: 'custom-dump',
          path: './backups/nmia_backup_20260110_020002.dump',
          bytes: 94996,
          sha256: 'b'.repeat(64),
          format: 'custom',
          readable: true,
          detail: 'pg_restore --list: 145 TOC entries',
          producedBy: 'full-backup',
        },
      ],
      rungs: [
        {
          rung: 'artifact',
          check: 'custom-dump is a readable custom file',
          outcome: 'passed',
          summary: '94996 bytes',
          evidence: { sha256: 'b'.repeat(64) },
        },
        { rung: 'intent', check: 'every command exits 0', outcome: 'passed', summary: '1 command' },
      ],
      // An application defect does not fail the procedure.
      findings: ['F03'],
    }),
    procedure({
      id: 'volume-backup',
      outcome: 'failed',
      section: 'Docker Volume Backup',
      line: 185,
      startedAt: '2026-01-10T02:00:04.000Z',
      durationMs: 2100,
      blocks: [
        {
          section: 'Docker Volume Backup',
          blockIndex: 0,
          line: 185,
          sha256: 'c'.repeat(64),
          executedText: 'docker run --rm -v nmai_pgdata:/data alpine tar czf /backup/x.tar.gz -C /data .',
          bindings: [],
          commands: [
            {
              index: 0,
              text: 'docker compose stop db',
              exitCode: 0,
              startedAt: '2026-01-10T02:00:04.100Z',
              durationMs: 600,
              stderrTail: ' Container nmia-db-1  Stopped',
              stdoutTail: '',
            },
            {
              index: 1,
              text: `docker run --rm -v nmai_pgdata:/data alpine tar czf /backup/x.tar.gz -C /data . ${HOSTILE}`,
              exitCode: 2,
              startedAt: '2026-01-10T02:00:04.700Z',
              durationMs: 250,
              stderrTail: `tar: short read ${HOSTILE}`,
              stdoutTail: '',
            },
          ],
          exitCode: 2,
          startedAt: '2026-01-10T02:00:04.050Z',
          durationMs: 900,
          failedCommand: {
            index: 1,
            text: 'docker run --rm -v nmai_pgdata:/data alpine tar czf /backup/x.tar.gz -C /data .',
            exitCode: 2,
            startedAt: '2026-01-10T02:00:04.700Z',
            durationMs: 250,
            stderrTail: `tar: short read ${HOSTILE}`,
            stdoutTail: '',
          },
          stdoutTail: '',
          stderrTail: 'tar: short read',
        },
      ],
      harnessActions: [
        { purpose: 'disaster: stop the db', command: 'docker compose stop db', exitCode: 0, durationMs: 40, detail: HOSTILE },
      ],
      rungs: [
        { rung: 'artifact', check: 'volume-archive is a readable tar.gz file', outcome: 'passed', summary: '103 bytes' },
        {
          rung: 'intent',
          check: 'the archive holds a complete PostgreSQL data directory',
          outcome: 'failed',
          summary: `missing ./PG_VERSION ${HOSTILE}`,
          evidence: { entries: ['./'], note: HOSTILE },
        },
      ],
      findings: ['F01'],
    }),
    procedure({
      id: 'restore-test-db',
      outcome: 'error',
      mode: 'alone',
      section: 'Database Restore › Restore to a Different Database (for Testing)',
      line: 150,
      startedAt: '2026-01-10T02:00:07.000Z',
      durationMs: 500,
      reason: 'the stack did not start: postgres exited 1',
      rungs: [
        { rung: 'restorability', check: 'every command exits 0', outcome: 'error', summary: 'could not run: the stack did not start' },
      ],
      findings: ['F02'],
    }),
    procedure({ id: 'config-export', outcome: 'skipped', reason: `skipped by --skip ${HOSTILE}` }),
    procedure({
      id: 'pending:Section › Something',
      outcome: 'not-run',
      title: 'Section › Something',
      section: 'Section › Something',
      reason: 'pending in the lock: no procedure drills this section yet',
    }),
  ];
  return {
    journalVersion: JOURNAL_VERSION,
    drillId: 'synth001',
    startedAt: '2026-01-10T02:00:00.000Z',
    finishedAt: '2026-01-10T02:00:09.000Z',
    outcome: 'error',
    runner: {
      user: 'ops',
      host: 'jump-1',
      ci: { provider: 'github-actions', actor: 'octo', workflow: 'dr-drill', runUrl: 'https://github.example/acme/nmia/actions/runs/1' },
    },
    harness: { version: '0.1.0', commit: 'd'.repeat(40), node: 'v20.20.2' },
    runbook: {
      path: '/work/runbook/backup-restore.md',
      sha256: 'e'.repeat(64),
      lockPath: '/work/runbook/backup-restore.lock.json',
      lockState: 'clean',
      drift: [],
      allowDrift: false,
    },
    options: { seed: 42, scale: 200, isolation: 'both', only: [], skip: ['config-export'] },
    stack: { kind: 'emulated', reason: 'auto: no Docker engine answered', versions: { postgres: '15.18', pg_dump: '15.18' } },
    seeding: { rows: { identities: 200, users: 10 }, durationMs: 900 },
    procedures,
    environmentResets: [{ before: 'volume-backup', reason: 'the database was dropped' }],
    findings: [
      {
        id: 'F02',
        kind: 'runbook',
        procedure: 'restore-test-db',
        section: 'Database Restore › Restore to a Different Database (for Testing)',
        line: 150,
        severity: 'medium',
        title: 'passes only after the sections before it',
        evidence: { inOrder: 'passed', alone: 'failed' },
        whyItMatters: 'an operator jumps straight to this section',
        suggestedFix: 'make the section bring everything it needs',
      },
      {
        id: 'F01',
        kind: 'runbook',
        procedure: 'volume-backup',
        section: 'Docker Volume Backup',
        line: 185,
        severity: 'critical',
        title: `the section uses volume nmai_pgdata ${HOSTILE}`,
        command: 'docker run --rm -v nmai_pgdata:/data alpine tar czf /backup/x.tar.gz -C /data .',
        evidence: { volumesInBlock: ['nmai_pgdata'], dbServiceVolume: 'nmia_pgdata', hostile: HOSTILE },
        whyItMatters: `Docker creates an unknown named volume empty ${HOSTILE}`,
        suggestedFix: `Use nmia_pgdata ${HOSTILE}`,
      },
      {
        id: 'F03',
        kind: 'application',
        procedure: 'full-backup',
        section: 'Database Backup › Full Backup (Recommended)',
        severity: 'medium',
        title: 'UI loads: fails before the disaster too',
        evidence: { before: 'failed', after: 'failed' },
        whyItMatters: 'the application fails this item whatever the runbook does',
        suggestedFix: 'Fix the UI so it renders the enclaves before any disaster',
      },
    ],
    manifests: {
      'order/full-backup: just before the blocks': {
        database: 'nmia',
        serverVersion: '15.18',
        takenAt: '2026-01-10T02:00:01.000Z',
        tables: { 'public.identities': { rows: 200, hash: 'f'.repeat(32) } },
        schema: { fingerprint: '0'.repeat(64) },
      },
    },
    timing: {
      rto: { measuredMs: 4200, targetMs: 900_000, detail: 'disaster → all checks green' },
      rpo: { measuredMs: 7_200_000, targetMs: 3_600_000, detail: 'last backup → disaster' },
    },
    totals: totalsOf(procedures),
    checklist: [
      {
        section: 'Disaster Recovery Checklist › Recovery Steps',
        line: 303,
        item: 'API responds at http://host:8000/docs',
        outcome: 'passed',
        summary: 'HTTP 200 in 12 ms',
        evidence: { status: 200 },
        attestation: { by: 'nmia-drill probe', at: '2026-01-10T02:00:08.000Z', method: 'probe', statement: 'GET /docs answered 200' },
      },
      {
        section: 'Disaster Recovery Checklist › Prerequisites',
        line: 247,
        item: `Knowledge of the SECRET_KEY ${HOSTILE}`,
        outcome: 'passed',
        attestation: { by: 'ops@example', at: '2026-01-10T01:59:00.000Z', method: 'human', statement: `kept in the vault ${HOSTILE}` },
      },
      {
        section: 'Disaster Recovery Checklist › Recovery Steps',
        line: 309,
        item: 'Run a test connector scan to verify connectivity',
        outcome: 'failed',
        summary: 'scan did not complete within 30 s',
      },
      {
        section: 'Disaster Recovery Checklist › Post-recovery actions',
        line: 313,
        item: 'Update DNS or load balancer',
        outcome: 'not-run',
        summary: 'outside the drill: needs a person',
      },
    ],
    ...overrides,
  };
}
