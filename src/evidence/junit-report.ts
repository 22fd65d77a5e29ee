import type { ChecklistRecord, Journal, Outcome, ProcedureRecord } from './journal.ts';

/*
 * JUnit XML for CI test tabs: a testsuite per isolation mode, a testcase per procedure
 * (classname = runbook section, name = procedure id), a "checklist" suite when the journal has
 * checklist items, and a "drill" suite for what fails a drill outside any procedure (drift, a crash),
 * so a drill that never ran a procedure cannot show up as all-skipped and green.
 */

// XML 1.0 forbids most C0 controls (ANSI colour codes in stderr, NULs) and lone surrogates.
const ILLEGAL_XML =
  /[\u0000-\u0008\u000B\u000C\u000E-\u001F\uFFFE\uFFFF]|[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;

function clean(text: string): string {
  return text.replace(ILLEGAL_XML, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

function text(value: string): string {
  return clean(value).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

/** Attribute values also keep their newlines and tabs, which parsers would otherwise normalise to spaces. */
function attr(value: string | number): string {
  return text(String(value))
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&apos;')
    .replace(/\n/g, '&#10;')
    .replace(/\r/g, '&#13;')
    .replace(/\t/g, '&#9;');
}

function seconds(ms: number | undefined): string {
  return ((ms ?? 0) / 1000).toFixed(3);
}

interface Case {
  classname: string;
  name: string;
  ms?: number;
  outcome: Outcome;
  message: string;
  body: string;
  out?: string;
}

function renderCase(testcase: Case): string {
  const open = `    <testcase classname="${attr(testcase.classname)}" name="${attr(testcase.name)}" time="${seconds(testcase.ms)}"`;
  const out = testcase.out ? `      <system-out>${text(testcase.out)}</system-out>\n` : '';
  const result = (() => {
    switch (testcase.outcome) {
      case 'passed':
        return '';
      case 'failed':
        return `      <failure message="${attr(testcase.message)}" type="failed">${text(testcase.body)}</failure>\n`;
      case 'error':
        return `      <error message="${attr(testcase.message)}" type="error">${text(testcase.body)}</error>\n`;
      case 'skipped':
      case 'not-run':
        return `      <skipped message="${attr(testcase.message)}"/>\n`;
    }
  })();
  if (!result && !out) return `${open}/>\n`;
  return `${open}>\n${result}${out}    </testcase>\n`;
}

function procedureCase(procedure: ProcedureRecord, journal: Journal): Case {
  const lines = procedure.rungs.map((rung) => `${rung.outcome.toUpperCase()} ${rung.rung}: ${rung.check} — ${rung.summary}`);
  const bad = procedure.rungs.filter((rung) => rung.outcome === procedure.outcome);
  const findings = procedure.findings.flatMap((id) => {
    const finding = journal.findings.find((candidate) => candidate.id === id);
    return finding
      ? [
          `${finding.id} [${finding.severity}] [${finding.kind}] ${finding.title}\n  why: ${finding.whyItMatters}\n  fix: ${finding.suggestedFix}`,
        ]
      : [];
  });
  const failedCommands = procedure.blocks.flatMap((block) =>
    block.failedCommand
      ? [
          `failed command (line ${block.line}), exit ${block.failedCommand.exitCode ?? 'none'}: ${block.failedCommand.text}${block.failedCommand.stderrTail ? `\n${block.failedCommand.stderrTail}` : ''}`,
        ]
      : [],
  );
  const skippedReason =
    procedure.outcome === 'not-run' ? `not run: ${procedure.reason ?? 'no reason recorded'}` : (procedure.reason ?? 'skipped');
  const message =
    procedure.outcome === 'skipped' || procedure.outcome === 'not-run'
      ? skippedReason
      : [procedure.reason, ...bad.map((rung) => `${rung.rung}: ${rung.check} — ${rung.summary}`)].filter(Boolean).join('; ') ||
        procedure.outcome;
  const body = [
    `${procedure.section}${procedure.line ? `:${procedure.line}` : ''} (${procedure.mode})`,
    ...(procedure.reason ? [`reason: ${procedure.reason}`] : []),
    ...lines,
    ...failedCommands,
    ...(findings.length > 0 ? ['findings:', ...findings] : []),
  ].join('\n');
  const artifacts = procedure.artifacts.map(
    (artifact) => `artifact ${artifact.name}: ${artifact.path}, ${artifact.bytes} bytes, sha256 ${artifact.sha256}`,
  );
  return {
    classname: procedure.section,
    name: procedure.id,
    ...(procedure.durationMs !== undefined ? { ms: procedure.durationMs } : {}),
    outcome: procedure.outcome,
    message,
    body,
    // A passing procedure can still carry findings of another kind (an application defect): they go to its output.
    out: [
      ...lines,
      ...(procedure.outcome === 'failed' || procedure.outcome === 'error' || findings.length === 0 ? [] : ['findings:', ...findings]),
      ...artifacts,
    ].join('\n'),
  };
}

function checklistCase(item: ChecklistRecord): Case {
  const attestation = item.attestation
    ? `${item.attestation.method === 'human' ? 'attested' : 'probed'} by ${item.attestation.by} at ${item.attestation.at}: ${item.attestation.statement}`
    : 'no attestation';
  const summary = item.summary ?? item.outcome;
  return {
    classname: item.section,
    name: item.item,
    outcome: item.outcome,
    message: summary,
    body: [`${item.section}${item.line ? `:${item.line}` : ''}`, summary, attestation].join('\n'),
    out: attestation,
  };
}

function drillCases(journal: Journal): Case[] {
  const drifted = journal.runbook.lockState === 'drift' && !journal.runbook.allowDrift;
  const drift = journal.runbook.drift.map((item) => `${item.kind}: ${item.section}:${item.line} block ${item.index}: ${item.message}`);
  return [
    {
      classname: 'runbook',
      name: 'lock',
      outcome: drifted ? 'failed' : 'passed',
      message: drifted ? `runbook drift: ${drift.length} block(s) differ from the lock` : `lock ${journal.runbook.lockState}`,
      body: [
        `runbook ${journal.runbook.path} sha256 ${journal.runbook.sha256}`,
        `lock ${journal.runbook.lockPath}: ${journal.runbook.lockState}`,
        ...drift,
      ].join('\n'),
      ...(drift.length > 0 ? { out: drift.join('\n') } : {}),
    },
    {
      classname: 'drill',
      name: 'completes',
      ...(journal.finishedAt ? { ms: Date.parse(journal.finishedAt) - Date.parse(journal.startedAt) } : {}),
      outcome: journal.error ? 'error' : 'passed',
      message: journal.error ?? 'finished',
      body: [journal.error ?? '', journal.interrupted ? 'interrupted' : ''].filter(Boolean).join('\n'),
    },
  ];
}

function count(cases: Case[], ...outcomes: Outcome[]): number {
  return cases.filter((testcase) => outcomes.includes(testcase.outcome)).length;
}

function renderSuite(name: string, cases: Case[], journal: Journal, id: number): string {
  const ms = cases.reduce((sum, testcase) => sum + (testcase.ms ?? 0), 0);
  const properties = [
    ['drillId', journal.drillId],
    ['drillOutcome', journal.outcome],
    ['runbook', journal.runbook.path],
    ['runbookSha256', journal.runbook.sha256],
    ['lockState', journal.runbook.lockState],
    ['harness', `${journal.harness.version}${journal.harness.commit ? ` ${journal.harness.commit}` : ''}`],
    ['stack', journal.stack?.kind ?? 'none'],
    ['runner', `${journal.runner.user}@${journal.runner.host}`],
  ];
  return [
    `  <testsuite id="${id}" name="${attr(name)}" tests="${cases.length}" failures="${count(cases, 'failed')}" errors="${count(cases, 'error')}" skipped="${count(cases, 'skipped', 'not-run')}" time="${seconds(ms)}" timestamp="${attr(journal.startedAt.slice(0, 19))}" hostname="${attr(journal.runner.host)}">\n`,
    '    <properties>\n',
    ...properties.map(([key, value]) => `      <property name="${attr(key!)}" value="${attr(value!)}"/>\n`),
    '    </properties>\n',
    ...cases.map(renderCase),
    '  </testsuite>\n',
  ].join('');
}

/** JUnit XML rendered from the (already redacted) journal. */
export function renderJunit(journal: Journal): string {
  const suites: [string, Case[]][] = [];
  for (const mode of ['order', 'alone'] as const) {
    const procedures = journal.procedures.filter((procedure) => procedure.mode === mode);
    if (procedures.length > 0) suites.push([mode, procedures.map((procedure) => procedureCase(procedure, journal))]);
  }
  if (journal.checklist && journal.checklist.length > 0) suites.push(['checklist', journal.checklist.map(checklistCase)]);
  suites.push(['drill', drillCases(journal)]);
  const all = suites.flatMap(([, cases]) => cases);
  const ms = journal.finishedAt ? Date.parse(journal.finishedAt) - Date.parse(journal.startedAt) : 0;
  return [
    '<?xml version="1.0" encoding="UTF-8"?>\n',
    `<testsuites name="${attr(`nmia-drill ${journal.drillId}`)}" tests="${all.length}" failures="${count(all, 'failed')}" errors="${count(all, 'error')}" skipped="${count(all, 'skipped', 'not-run')}" time="${seconds(Number.isFinite(ms) ? ms : 0)}">\n`,
    ...suites.map(([name, cases], index) => renderSuite(name, cases, journal, index)),
    '</testsuites>\n',
  ].join('');
}
