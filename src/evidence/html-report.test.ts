import { describe, expect, it } from 'vitest';
import { externalReferences, renderHtmlReport } from './html-report.ts';
import { HOSTILE, syntheticJournal } from '../../test-support/synthetic-journal.ts';

/** Tags the page itself opens (escaped journal text shows as &lt;…, never as a tag). */
function tags(page: string): Set<string> {
  return new Set([...page.matchAll(/<([a-zA-Z][a-zA-Z0-9-]*)/g)].map((match) => match[1]!.toLowerCase()));
}

describe('renderHtmlReport', () => {
  const journal = syntheticJournal();
  const page = renderHtmlReport(journal);

  it('references nothing outside the file: no http(s) src/href, no CSS url() or @import, only in-page anchors', () => {
    expect(externalReferences(page)).toEqual([]);
    expect(page).toMatch(/href="#finding-F01"/);
    // The checker itself catches what it must, or the assertion above proves nothing.
    expect(
      externalReferences('<img src="https://cdn.example/x.png"><a href="http://x">x</a><style>a{background:url(x.png)}</style>'),
    ).toHaveLength(3);
  });

  it('renders hostile journal text as text: no script, no injected tag or attribute', () => {
    expect(page.toLowerCase()).not.toContain('<script');
    expect(page).not.toMatch(/<[^>]*onerror/i);
    expect([...tags(page)].filter((tag) => ['script', 'img', 'iframe', 'object', 'embed', 'link'].includes(tag))).toEqual([]);
    expect(page).toContain('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;');
    expect(page).toContain('onerror=&#39;alert(1)&#39;');
    expect(page).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/);
    expect(page).toContain('\\u001b[31mred');
    // A CSP forbids scripts and fetches even if escaping ever failed.
    expect(page).toContain(`content="default-src 'none'; style-src 'unsafe-inline'; img-src data:"`);
    // Seeded defect: a string that bypasses escaping shows up in the tag set.
    expect(tags(`${page}${HOSTILE}`)).toContain('script');
  });

  it('puts the header first, then findings and failures, then timeline, procedures, RTO/RPO and checklist', () => {
    const order = ['<header>', 'id="findings"', 'id="timeline"', 'id="procedures"', 'id="timing"', 'id="checklist"'].map((marker) =>
      page.indexOf(marker),
    );
    expect(order.every((position) => position >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
  });

  it('says who, when and where: runner, CI, harness commit, runbook path, sha256 and lock state, stack versions', () => {
    const header = page.slice(page.indexOf('<header>'), page.indexOf('</header>'));
    for (const expected of [
      'ops@jump-1',
      'github-actions',
      'octo',
      'd'.repeat(40),
      '/work/runbook/backup-restore.md',
      'e'.repeat(64),
      '<strong>clean</strong>',
      'emulated',
      'pg_dump',
      '2026-01-10T02:00:00.000Z',
      'synth001',
      'o-error',
    ]) {
      expect(header).toContain(expected);
    }
    // The CI run URL is text, never a link.
    expect(header).toContain('https://github.example/acme/nmia/actions/runs/1');
  });

  it('lists findings by severity (critical first) with section:line, evidence, why it matters and the fix', () => {
    const findings = page.slice(page.indexOf('id="findings"'), page.indexOf('id="timeline"'));
    expect(findings.indexOf('finding-F01')).toBeLessThan(findings.indexOf('finding-F02'));
    expect(findings).toContain('Docker Volume Backup:185');
    expect(findings).toContain('nmia_pgdata');
    expect(findings).toContain('why it matters');
    expect(findings).toContain('Use nmia_pgdata');
    // Failed and errored procedures are listed here too, with the failing rung and command.
    expect(findings).toContain('order · volume-backup');
    expect(findings).toContain('alone · restore-test-db');
    expect(findings).toContain('the archive holds a complete PostgreSQL data directory');
    expect(findings).toContain('tar: short read');
  });

  it('draws one timeline bar per timed procedure, coloured by outcome, and names those never started', () => {
    const timeline = page.slice(page.indexOf('id="timeline"'), page.indexOf('id="procedures"'));
    const bars = [...timeline.matchAll(/<rect [^>]*fill="(#[0-9a-f]{6})"/g)].map((match) => match[1]);
    expect(bars).toEqual(['#1b7f3b', '#c62828', '#8e24aa']);
    expect(timeline).toContain('Not on the timeline');
    expect(timeline).toContain('config-export');
  });

  it('shows each procedure with rungs, bindings, commands (exit, time, stderr), artifacts and harness actions', () => {
    const procedures = page.slice(page.indexOf('id="procedures"'), page.indexOf('id="timing"'));
    expect(procedures).toContain('id="proc-order-full-backup"');
    expect(procedures).toContain('/tmp/ws/nmia');
    expect(procedures).toContain('b'.repeat(64));
    expect(procedures).toContain('94996');
    expect(procedures).toContain('disaster: stop the db');
    expect(procedures).toMatch(/<td class="num">2<\/td><td class="num">250 ms<\/td>/);
    expect(procedures).toContain('pending in the lock');
  });

  it('gauges RTO and RPO against their targets: met and missed', () => {
    const timing = page.slice(page.indexOf('id="timing"'), page.indexOf('id="checklist"'));
    expect(timing).toContain('4.2 s');
    expect(timing).toContain('MET');
    expect(timing).toContain('<strong>2 h</strong> against a target of 1 h');
    expect(timing).toContain('MISSED');
    expect(timing.match(/<svg /g)).toHaveLength(2);
  });

  it('says "not measured" and draws no gauge when timing has no RTO/RPO, or no target, or an unreadable value', () => {
    const none = renderHtmlReport(syntheticJournal({ timing: {} }));
    const timing = none.slice(none.indexOf('id="timing"'), none.indexOf('id="checklist"'));
    expect(timing.match(/not measured/g)).toHaveLength(2);
    expect(timing).not.toContain('<svg');
    const partial = renderHtmlReport(syntheticJournal({ timing: { rto: 5000, rpo: { detail: 'no backup timestamp' }, other: 1 } }));
    const partialTiming = partial.slice(partial.indexOf('id="timing"'), partial.indexOf('id="checklist"'));
    expect(partialTiming).toContain('no target set');
    expect(partialTiming).toContain('not measured: no backup timestamp');
    expect(partialTiming).not.toContain('<svg');
    const unreadable = renderHtmlReport(syntheticJournal({ timing: { rto: 'fast' } }));
    expect(unreadable).toContain('not measured: timing.rto is not');
  });

  it('lists checklist items with attestations, and says "none recorded" without them', () => {
    const checklist = page.slice(page.indexOf('id="checklist"'));
    expect(checklist).toContain('probed by nmia-drill probe');
    expect(checklist).toContain('attested by ops@example');
    expect(checklist).toContain('no attestation');
    expect(checklist).toContain('Disaster Recovery Checklist › Prerequisites:247');
    const { checklist: _, ...withoutChecklist } = syntheticJournal();
    const none = renderHtmlReport(withoutChecklist);
    expect(none.slice(none.indexOf('id="checklist"'))).toContain('None recorded');
  });

  it('has print CSS and no script at all', () => {
    expect(page).toContain('@media print');
    expect(page).toContain('max-height: none');
    expect(tags(page).has('script')).toBe(false);
  });

  it('renders a drill that stopped before any procedure: drift, no stack, unfinished, no timeline', () => {
    const { stack: _stack, seeding: _seeding, finishedAt: _finished, checklist: _checklist, ...bare } = syntheticJournal();
    const stopped = renderHtmlReport({
      ...bare,
      outcome: 'failed',
      error: 'postgres would not start',
      procedures: [],
      findings: [],
      manifests: {},
      timing: {},
      runbook: {
        ...bare.runbook,
        lockState: 'drift',
        drift: [{ kind: 'hash-mismatch', section: 'Database Backup', index: 0, line: 33, message: 'block changed' }],
      },
    });
    expect(stopped).toContain('unfinished');
    expect(stopped).toContain('no stack was started');
    expect(stopped).toContain('hash-mismatch: Database Backup:33 block 0: block changed');
    expect(stopped).toContain('the drill did not finish');
    expect(stopped).toContain('No findings.');
    expect(stopped).toContain('No procedure ran, so there is no timeline.');
    expect(externalReferences(stopped)).toEqual([]);
  });
});
