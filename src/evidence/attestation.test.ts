import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROCEDURES } from '../../runbook/registry.ts';
import { syntheticJournal } from '../../test-support/synthetic-journal.ts';
import { buildAttestation, renderAttestationMarkdown } from './attestation.ts';
import { assessControls, controlMap, parseControlMap } from './control-mapping.ts';
import { writeEvidence } from './evidence-writer.ts';
import { renderHtmlReport } from './html-report.ts';
import type { Journal, ProcedureRecord } from './journal.ts';
import { Redactor } from './redactor.ts';
import { recordUnmeasured } from './timing-measures.ts';

/** A drill that backed up, then recovered from that backup 40 s later, with every control's evidence passing. */
function recoveredJournal(): Journal {
  const journal = syntheticJournal({
    outcome: 'passed',
    findings: [],
    options: { seed: 42, scale: 200, isolation: 'both', only: [], skip: [] },
  });
  const backup = journal.procedures[0]!;
  backup.artifacts[0]!.name = 'custom-dump';
  const recovery = (mode: 'order' | 'alone', startedAt: string): ProcedureRecord => ({
    id: 'dr-recovery',
    title: 'Recovery Steps',
    section: 'Disaster Recovery Checklist › Recovery Steps',
    line: 250,
    mode,
    outcome: 'passed',
    startedAt,
    durationMs: 5000,
    blocks: [],
    harnessActions: [],
    artifacts: [],
    rungs: (['restorability', 'structure', 'content', 'application'] as const).map((rung) => ({
      rung,
      check: `${rung} check`,
      outcome: 'passed' as const,
      summary: 'ok',
    })),
    findings: [],
  });
  journal.procedures = [backup, recovery('order', '2026-01-10T02:00:42.800Z'), recovery('alone', '2026-01-10T02:01:30.000Z')];
  journal.timing = { rto: { measuredMs: 4200, targetMs: 900_000 }, rpo: { measuredMs: 0, targetMs: 3_600_000 } };
  journal.checklist = journal.checklist!.filter((item) => item.outcome === 'passed');
  return journal;
}

describe('the attestation', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('opens report.html and is written as attestation.md: verdict, scope, not tested, RTO/RPO, backup, findings, controls, sign-offs', async () => {
    const root = await mkdtemp(join(tmpdir(), 'nmia-drill-attestation-'));
    dirs.push(root);
    const dir = join(root, '20260110-020000-synth001');
    await mkdir(dir);
    const files = await writeEvidence(syntheticJournal(), dir, new Redactor(), { NMIA_DRILL_SIGNING: 'off' });
    const page = await readFile(files.html, 'utf8');
    const body = page.slice(page.indexOf('<body>') + '<body>'.length).trimStart();
    expect(body.startsWith('<section id="attestation">')).toBe(true);
    expect(page.indexOf('id="findings"')).toBeGreaterThan(page.indexOf('</section>'));
    const markdown = await readFile(files.attestation!, 'utf8');
    for (const heading of [
      'Scope',
      'Not tested, and why',
      'Recovery objectives',
      'Backup restored',
      'Findings by kind',
      'Controls',
      'Sign-offs',
    ])
      expect(markdown).toContain(`## ${heading}`);
    expect(markdown).toContain('**Verdict:** ERROR: the drill could not finish; this is no verdict on the runbook');
    expect(markdown).toContain('- **RPO:** 2 h against a target of 1 h: MISSED');
    expect(markdown).toContain('config-export: SKIP: skipped by --skip');
    expect(markdown).toContain('| Runbook defects | 2 | 1 critical, 1 medium |');
    expect(markdown).toContain('**Operator:** octo, ops@jump-1 in github-actions, run https://github.example/acme/nmia/actions/runs/1');
    // Journal text is text: no markup reaches a Markdown viewer.
    expect(markdown).not.toContain('<script>');
  });

  it('names the backup restored with its provenance and age, and gives controls their evidence when every check passed', () => {
    const attestation = buildAttestation(recoveredJournal());
    expect(attestation.verdict).toBe('PASSED: every procedure that ran passed with the runbook as written.');
    expect(attestation.signOffs[0]).toMatchObject({ role: 'Operator', who: 'octo' });
    const named = recoveredJournal();
    named.runner.operator = 'Dana Ops';
    expect(buildAttestation(named).signOffs[0]).toMatchObject({ role: 'Operator', who: 'Dana Ops' });
    expect(attestation.backup).toMatchObject({
      name: 'custom-dump',
      path: './backups/nmia_backup_20260110_020002.dump',
      restoredBy: 'order/dr-recovery',
      age: '40.0 s old when the restore started (a fresh drill backup, not a production one)',
    });
    expect(attestation.backup!.provenance).toContain('made by the runbook\'s "Database Backup › Full Backup (Recommended)" (line 33)');
    expect(attestation.controls.map((control) => [control.id, control.status])).toEqual(
      ['A1.2', 'A1.3', 'A.8.13', 'A.5.30', 'CP-4', 'CP-4(4)', 'CP-9(1)', 'CP-9(2)', 'CP-10', 'Art. 11', 'Art. 12'].map((id) => [
        id,
        'evidence',
      ]),
    );
  });

  it('says nothing affirmative beside a failed or errored check', () => {
    const journal = recoveredJournal();
    const recovery = journal.procedures[1]!;
    recovery.outcome = 'error';
    recovery.rungs[3] = { rung: 'application', check: 'UI loads', outcome: 'error', summary: 'could not probe' };
    journal.outcome = 'error';
    journal.checklist![0] = {
      ...journal.checklist![0]!,
      outcome: 'error',
      attestation: { by: 'nmia-drill probe', at: '2026-01-10T02:00:08.000Z', method: 'probe', statement: 'probed: UI loads' },
    };
    const page = renderHtmlReport(journal);
    expect(page).not.toContain('probed: UI loads');
    expect(page).toContain('not attested: the check ERROR');
    const controls = Object.fromEntries(assessControls(journal).map((control) => [control.id, control]));
    // One errored application check contradicts the passed one: CP-10 is not claimed.
    expect(controls['CP-10']!.status).toBe('failed');
    expect(controls['CP-4(4)']!.requirements.find((requirement) => requirement.id === 'post-recovery-checklist')!.state).toBe('failed');
    expect(buildAttestation(journal).verdict).toMatch(/^ERROR: /);
  });

  it('always records RTO/RPO targets, with the reason when they were not measured', () => {
    const journal = syntheticJournal({ timing: {} });
    recordUnmeasured(journal, { rtoMs: 900_000, rpoMs: 86_400_000 });
    expect(journal.timing.rto).toEqual({
      targetMs: 900_000,
      detail: 'not measured: no recovery procedure (dr-recovery) was selected in this drill',
    });
    const measures = buildAttestation(journal).measures;
    expect(measures[0]!.text).toBe(
      'not measured; target 15 min: not measured: no recovery procedure (dr-recovery) was selected in this drill',
    );
    expect(measures[1]!.text).toMatch(/^not measured; target 24 h/);
    // A measurement already recorded is never overwritten.
    const measured = syntheticJournal();
    recordUnmeasured(measured, { rtoMs: 1, rpoMs: 1 });
    expect(measured.timing.rto).toMatchObject({ measuredMs: 4200, targetMs: 900_000 });
  });
});

describe('the control mapping (controls/control-map.yaml)', () => {
  it('covers the controls the issue names, cites them by id only, and names only procedures the registry has', () => {
    const map = controlMap();
    expect(map.controls.map((control) => control.id)).toEqual([
      'A1.2',
      'A1.3',
      'A.8.13',
      'A.5.30',
      'CP-4',
      'CP-4(4)',
      'CP-9(1)',
      'CP-9(2)',
      'CP-10',
      'Art. 11',
      'Art. 12',
    ]);
    const known = new Set(PROCEDURES.map((procedure) => procedure.id));
    for (const control of map.controls)
      for (const requirement of control.requirements)
        for (const id of requirement.procedures ?? []) expect(known.has(id), `${control.id}: ${id}`).toBe(true);
  });

  it('refuses a requirement that names no evidence, or two kinds at once, or an unknown rung', () => {
    const base = (requirement: string) =>
      `version: 1\ncontrols:\n  - id: X\n    framework: Y\n    requirements:\n      - id: r\n        description: d\n${requirement}`;
    expect(() => parseControlMap(base('        rung: content\n'))).not.toThrow();
    expect(() => parseControlMap(base(''))).toThrow(/exactly one kind of evidence/);
    expect(() => parseControlMap(base('        rung: content\n        timing: rto\n'))).toThrow(/exactly one kind of evidence/);
    expect(() => parseControlMap(base('        rung: vibes\n'))).toThrow();
  });

  it('shows per control what is missing when a drill ran only part of the runbook', () => {
    const journal = recoveredJournal();
    journal.procedures = journal.procedures.slice(0, 1);
    const markdown = renderAttestationMarkdown(buildAttestation(journal));
    expect(markdown).toMatch(/\| CP-10 \| NIST SP 800-53 Rev\. 5 \| no evidence \| — \| recovery-tested \(missing: dr-recovery: not run\)/);
    expect(markdown).toMatch(/\| A1\.2 \| SOC 2 [^|]+\| evidence produced \| backup-taken, backup-readable \| — \|/);
  });
});
