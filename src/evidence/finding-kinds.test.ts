import { describe, expect, it } from 'vitest';
import { renderSummaryTable } from '../cli/console-reporter.ts';
import { syntheticJournal } from '../../test-support/synthetic-journal.ts';
import { renderHtmlReport } from './html-report.ts';
import { FINDING_KIND_TITLES, findingsByKind, overallOutcome } from './journal.ts';
import { renderJunit } from './junit-report.ts';
import { renderMarkdownSummary } from './markdown-summary.ts';
import { appendFinding, ProcedureRecorder } from './procedure-recorder.ts';
import { Redactor } from './redactor.ts';

// The synthetic journal holds two runbook findings (F01, F02) and one application finding (F03).
const journal = syntheticJournal();
const APPLICATION = FINDING_KIND_TITLES.application;
const RUNBOOK = FINDING_KIND_TITLES.runbook;

describe('finding kinds', () => {
  it('groups runbook defects first and leaves out kinds with no findings', () => {
    expect(findingsByKind(journal.findings).map((group) => [group.kind, group.findings.map((finding) => finding.id)])).toEqual([
      ['runbook', ['F02', 'F01']],
      ['application', ['F03']],
    ]);
  });

  it('shows each kind under its own heading on the console, in summary.md and in report.html, and in JUnit', () => {
    const consoleText = renderSummaryTable(journal);
    expect(consoleText.indexOf(`${RUNBOOK}:`)).toBeLessThan(consoleText.indexOf(`${APPLICATION}:`));
    expect(consoleText.slice(consoleText.indexOf(`${APPLICATION}:`))).toMatch(/^ {2}F03 \[medium\] full-backup: UI loads/m);

    const markdown = renderMarkdownSummary(journal);
    expect(markdown).toContain(`### ${RUNBOOK}`);
    expect(markdown.slice(markdown.indexOf(`### ${APPLICATION}`))).toMatch(/^\| F03 \| medium \|/m);

    const page = renderHtmlReport(journal);
    const applicationSection = page.slice(page.indexOf('id="findings-application"'), page.indexOf('Failed procedures ('));
    expect(page.indexOf('id="findings-runbook"')).toBeGreaterThan(0);
    expect(applicationSection.indexOf('finding-F03')).toBeGreaterThan(0);
    expect(applicationSection.indexOf('finding-F01')).toBe(-1);

    expect(renderJunit(journal)).toContain('F03 [medium] [application] UI loads');
  });

  it('lists a defect found in both modes once on the console, with the modes and both ids (F01 in order, F04 alone)', () => {
    const both = structuredClone(journal);
    const volumeBackup = both.procedures.find((record) => record.id === 'volume-backup')!;
    both.procedures.push({ ...structuredClone(volumeBackup), mode: 'alone', findings: ['F04'] });
    both.findings.push({ ...structuredClone(both.findings.find((finding) => finding.id === 'F01')!), id: 'F04' });
    const consoleText = renderSummaryTable(both);
    const lines = consoleText.split('\n').filter((line) => /^ {2}F\d\d \[/.test(line));
    expect(lines.filter((line) => line.includes('volume-backup:'))).toEqual([
      expect.stringMatching(/^ {2}F01 \[critical\] volume-backup: the section uses volume nmai_pgdata .* \(order \+ alone: F01, F04\)$/),
    ]);
    // A defect seen in one mode says which.
    expect(lines.find((line) => line.includes('restore-test-db:'))).toMatch(/\(alone\)$/);
    // report.html keeps a card per journal id (procedures link to them), each naming the defect and its other copy.
    const page = renderHtmlReport(both);
    const card = page.slice(page.indexOf('id="finding-F01"'), page.indexOf('</article>', page.indexOf('id="finding-F01"')));
    expect(card).toMatch(
      /seen in<\/span> order \+ alone · <span class="label">defect<\/span> <span class="mono">NF-[0-9a-f]{12}<\/span> \(also <a href="#finding-F04"/,
    );
    // summary.md likewise: one row, seen in both modes.
    const rows = renderMarkdownSummary(both)
      .split('\n')
      .filter((row) => /^\| F\d\d \|/.test(row) && row.includes('| volume-backup |'));
    expect(rows).toEqual([expect.stringMatching(/^\| F01 \| critical \| volume-backup \| .* \| order \+ alone \(F01, F04\) \| /)]);
  });

  it('counts only runbook defects against the verdict: a procedure with an application finding still passes', () => {
    const findings = [] as typeof journal.findings;
    const recorder = new ProcedureRecorder(
      { id: 'dr-recovery', title: 'DR', section: 'Disaster Recovery Checklist', mode: 'order' },
      {
        findings,
        redactor: new Redactor(),
      },
    );
    recorder.pass('application', 'API responds', 'GET /docs → 200');
    // What the checklist records for an item the app fails before the disaster too: skipped, with an application finding.
    recorder.rung({
      rung: 'application',
      check: 'UI loads',
      outcome: 'skipped',
      summary: 'application defect F01: fails before the disaster too',
    });
    recorder.finding({
      kind: 'application',
      severity: 'medium',
      title: 'UI loads: fails before the disaster too',
      evidence: {},
      whyItMatters: 'the app fails it whatever the runbook does',
      suggestedFix: 'Fix the UI so it renders the enclaves before any disaster',
    });
    expect(recorder.settle()).toBe('passed');
    expect(overallOutcome([recorder.record], false)).toBe('passed');
    expect(findings.map((finding) => finding.kind)).toEqual(['application']);
    expect(renderSummaryTable({ ...journal, findings, procedures: [recorder.record] })).toContain(`${APPLICATION}:`);
  });

  it('gives a finding the runbook kind unless it names another', () => {
    const findings = [] as typeof journal.findings;
    const base = {
      procedure: 'p',
      section: 's',
      severity: 'high',
      title: 't',
      evidence: {},
      whyItMatters: 'w',
      suggestedFix: 'f',
    } as const;
    expect(appendFinding(findings, base)).toMatchObject({ id: 'F01', kind: 'runbook' });
    expect(appendFinding(findings, { ...base, kind: 'environment' })).toMatchObject({ id: 'F02', kind: 'environment' });
  });
});
