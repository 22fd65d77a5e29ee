import { describeApp, describeSubstitutions } from './app-description.ts';
import {
  findingsByKind,
  outcomeSymbol,
  type ChecklistRecord,
  type Finding,
  type Journal,
  type Outcome,
  type ProcedureRecord,
  type Severity,
} from './journal.ts';
import { buildAttestation } from './attestation.ts';
import { ATTESTATION_CSS, renderAttestationSection } from './attestation-html.ts';
import { html, trusted, type SafeHtml } from './safe-html.ts';
import { formatDuration, parallelRestoreTiming, timingMeasures, verdictOf, type TimingMeasure } from './timing-measures.ts';
import { type GroupedFinding, groupFindings } from './finding-lifecycle.ts';

/*
 * One self-contained HTML file rendered from the (already redacted) journal: no script, no external
 * asset, inline CSS and SVG only, so it reads the same offline, archived, or printed years later.
 * Every journal string goes through the `html` tag, which escapes it.
 */

const OUTCOME_COLORS: Record<Outcome, string> = {
  passed: '#1b7f3b',
  failed: '#c62828',
  error: '#8e24aa',
  skipped: '#78909c',
  'not-run': '#b0bec5',
};
const SEVERITY_ORDER: Severity[] = ['critical', 'high', 'medium', 'low', 'info'];
/** Evidence past this many characters is cut in the HTML; journal.json keeps all of it. */
const EVIDENCE_LIMIT = 6000;

const CSS = `
:root { --fg: #1c2330; --muted: #5b6675; --line: #d5dbe3; --bg-soft: #f4f6f9; }
* { box-sizing: border-box; }
body { font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial, sans-serif; color: var(--fg); margin: 0 auto; max-width: 1180px; padding: 24px; }
h1 { font-size: 24px; margin: 0 0 4px; display: flex; gap: 12px; align-items: center; flex-wrap: wrap; }
h2 { font-size: 19px; margin: 32px 0 10px; padding-bottom: 4px; border-bottom: 2px solid var(--fg); }
h3 { font-size: 16px; margin: 0 0 8px; display: flex; gap: 8px; align-items: center; flex-wrap: wrap; }
h4 { font-size: 14px; margin: 14px 0 6px; color: var(--muted); text-transform: uppercase; letter-spacing: .04em; }
code, pre, .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, "Liberation Mono", monospace; font-size: 12.5px; }
pre { background: var(--bg-soft); border: 1px solid var(--line); border-radius: 4px; padding: 8px; margin: 4px 0; white-space: pre-wrap; overflow-wrap: anywhere; max-height: 320px; overflow: auto; }
table { border-collapse: collapse; width: 100%; margin: 4px 0 8px; }
th, td { border: 1px solid var(--line); padding: 4px 6px; text-align: left; vertical-align: top; overflow-wrap: anywhere; }
th { background: var(--bg-soft); font-weight: 600; white-space: nowrap; }
td.num { text-align: right; white-space: nowrap; }
.badge { display: inline-block; border-radius: 3px; padding: 1px 7px; color: #fff; font-weight: 700; font-size: 12px; letter-spacing: .03em; white-space: nowrap; }
h1 .badge { font-size: 16px; padding: 3px 10px; }
.o-passed { background: ${OUTCOME_COLORS.passed}; } .o-failed { background: ${OUTCOME_COLORS.failed}; } .o-error { background: ${OUTCOME_COLORS.error}; }
.o-skipped { background: ${OUTCOME_COLORS.skipped}; } .o-not-run { background: ${OUTCOME_COLORS['not-run']}; color: #263238; }
.s-critical { background: #7f0000; } .s-high { background: #c62828; } .s-medium { background: #ef6c00; } .s-low { background: #f9a825; color: #263238; } .s-info { background: #546e7a; }
.meta { display: grid; grid-template-columns: 150px 1fr; gap: 4px 14px; margin: 14px 0; }
.meta dt { color: var(--muted); font-weight: 600; } .meta dd { margin: 0; overflow-wrap: anywhere; }
.card { border: 1px solid var(--line); border-left: 5px solid var(--line); border-radius: 4px; padding: 10px 14px; margin: 10px 0; break-inside: avoid-page; }
.card.sev-critical, .card.sev-high, .card.o-line-failed { border-left-color: #c62828; } .card.sev-medium { border-left-color: #ef6c00; }
.card.sev-low { border-left-color: #f9a825; } .card.o-line-error { border-left-color: #8e24aa; } .card.o-line-passed { border-left-color: #1b7f3b; }
.label { color: var(--muted); font-weight: 600; }
.muted { color: var(--muted); }
.none { color: var(--muted); font-style: italic; }
.gauges { display: grid; grid-template-columns: 1fr 1fr; gap: 16px; }
svg text { font: 12px system-ui, Arial, sans-serif; fill: var(--fg); }
svg .small { font-size: 11px; fill: var(--muted); }
footer { margin-top: 40px; color: var(--muted); font-size: 12px; border-top: 1px solid var(--line); padding-top: 8px; }
@media print {
  body { max-width: none; padding: 0; font-size: 11px; }
  * { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
  pre { max-height: none; overflow: visible; }
  h2 { break-after: avoid-page; }
  tr, .card, svg { break-inside: avoid-page; }
  .gauges { grid-template-columns: 1fr 1fr; }
  a { color: inherit; text-decoration: none; }
}
@page { margin: 14mm; }
`;

function badge(outcome: Outcome): SafeHtml {
  return html`<span class="badge o-${outcome}">${outcomeSymbol(outcome)}</span>`;
}

function severityBadge(severity: Severity): SafeHtml {
  return html`<span class="badge s-${severity}">${severity.toUpperCase()}</span>`;
}

/** Fragment ids from free text (pending sections carry spaces and "›"). */
function anchor(...parts: string[]): string {
  return parts.join('-').replace(/[^A-Za-z0-9_-]+/g, '-');
}

export function procedureAnchor(procedure: Pick<ProcedureRecord, 'mode' | 'id'>): string {
  return anchor('proc', procedure.mode, procedure.id);
}

function where(section: string, line: number | undefined): string {
  return line === undefined ? section : `${section}:${line}`;
}

function json(value: unknown, limit = EVIDENCE_LIMIT): SafeHtml {
  const text = JSON.stringify(value, null, 2) ?? 'undefined';
  if (text.length <= limit) return html`<pre>${text}</pre>`;
  return html`<pre>${text.slice(0, limit)}\n… (${text.length - limit} more characters: see journal.json)</pre>`;
}

function duration(ms: number | undefined): string {
  return ms === undefined ? '' : formatDuration(ms);
}

function timeSpan(journal: Journal): string {
  if (!journal.finishedAt) return `${journal.startedAt} → unfinished`;
  const ms = Date.parse(journal.finishedAt) - Date.parse(journal.startedAt);
  return `${journal.startedAt} → ${journal.finishedAt}${Number.isFinite(ms) ? ` (${formatDuration(ms)})` : ''}`;
}

function renderHeader(journal: Journal): SafeHtml {
  const t = journal.totals;
  const ci = journal.runner.ci;
  const versions = Object.entries(journal.stack?.versions ?? {});
  const seededRows = Object.values(journal.seeding?.rows ?? {}).reduce((sum, rows) => sum + rows, 0);
  return html`<header>
<h1>nmia-drill DR drill <span class="mono">${journal.drillId}</span> ${badge(journal.outcome)}</h1>
<p class="muted">${t.passed} passed, ${t.failed} failed, ${t.error} error, ${t.skipped} skipped, ${t.notRun} not run · ${journal.findings.length} finding${journal.findings.length === 1 ? '' : 's'}</p>
<dl class="meta">
<dt>Outcome</dt><dd>${badge(journal.outcome)}${journal.interrupted ? html` <strong>interrupted</strong>` : ''}${journal.error ? html` <span class="label">error:</span> ${journal.error}` : ''}</dd>
<dt>Run by</dt><dd><span class="mono">${journal.runner.user}@${journal.runner.host}</span>${ci ? html` in ${ci.provider}${ci.actor ? html`, actor <span class="mono">${ci.actor}</span>` : ''}${ci.workflow ? html`, workflow ${ci.workflow}` : ''}${ci.runUrl ? html`, run <span class="mono">${ci.runUrl}</span>` : ''}` : ''}</dd>
<dt>When</dt><dd>${timeSpan(journal)}</dd>
<dt>Harness</dt><dd>nmia-drill ${journal.harness.version}, commit <span class="mono">${journal.harness.commit ?? 'unknown (not a git checkout)'}</span>, Node ${journal.harness.node}</dd>
<dt>Runbook</dt><dd><span class="mono">${journal.runbook.path}</span><br>sha256 <span class="mono">${journal.runbook.sha256}</span><br>lock <strong>${journal.runbook.lockState}</strong> (<span class="mono">${journal.runbook.lockPath}</span>)${journal.runbook.allowDrift ? ', run with --allow-drift' : ''}${journal.runbook.drift.length > 0 ? html`<ul>${journal.runbook.drift.map((drift) => html`<li>${drift.kind}: ${where(drift.section, drift.line)} block ${drift.index}: ${drift.message}</li>`)}</ul>` : ''}</dd>
<dt>Stack</dt><dd>${journal.stack ? html`<strong>${journal.stack.kind}</strong>: ${journal.stack.reason}${versions.length > 0 ? html`<br>${versions.map(([name, version], index) => html`${index > 0 ? ', ' : ''}${name} <span class="mono">${version}</span>`)}` : ''}` : html`<span class="none">no stack was started</span>`}</dd>
${journal.app ? html`<dt>App</dt><dd>${describeApp(journal.app)}${describeSubstitutions(journal.app).map((line) => html`<br>instead of as written: ${line}`)}</dd>` : ''}
<dt>Options</dt><dd>seed ${journal.options.seed}, scale ${journal.options.scale} identities, isolation ${journal.options.isolation}${journal.options.only.length > 0 ? `, only ${journal.options.only.join(', ')}` : ''}${journal.options.skip.length > 0 ? `, skip ${journal.options.skip.join(', ')}` : ''}</dd>
${journal.seeding ? html`<dt>Seeded data</dt><dd>${seededRows} rows in ${Object.keys(journal.seeding.rows).length} tables, ${formatDuration(journal.seeding.durationMs)}</dd>` : ''}
${journal.environmentResets.length > 0 ? html`<dt>Environment resets</dt><dd><ul>${journal.environmentResets.map((reset) => html`<li>before <span class="mono">${reset.before}</span>: ${reset.reason}</li>`)}</ul></dd>` : ''}
</dl>
</header>`;
}

function renderFinding(finding: Finding, journal: Journal, defects: readonly GroupedFinding[]): SafeHtml {
  const record =
    journal.procedures.find((procedure) => procedure.id === finding.procedure && procedure.findings.includes(finding.id)) ??
    journal.procedures.find((procedure) => procedure.id === finding.procedure);
  // The same defect in the other mode is the same finding (one stable id): named, so it does not read as a copy.
  const defect = defects.find((group) => group.journalIds.includes(finding.id));
  const alsoAs = defect?.journalIds.filter((id) => id !== finding.id) ?? [];
  return html`<article class="card sev-${finding.severity}" id="${anchor('finding', finding.id)}">
<h3>${severityBadge(finding.severity)} <span class="mono">${finding.id}</span> <span class="label">${finding.kind}</span> ${finding.title}</h3>
<p><span class="label">procedure</span> ${record ? html`<a href="#${procedureAnchor(record)}" class="mono">${finding.procedure}</a>` : html`<span class="mono">${finding.procedure}</span>`} · <span class="label">where</span> <span class="mono">${where(finding.section, finding.line)}</span>${defect ? html` · <span class="label">seen in</span> ${defect.modes.join(' + ') || 'no mode'} · <span class="label">defect</span> <span class="mono">${defect.id}</span>${alsoAs.length > 0 ? html` (also ${alsoAs.map((id, index) => html`${index > 0 ? ', ' : ''}<a href="#${anchor('finding', id)}" class="mono">${id}</a>`)})` : ''}` : ''}</p>
${finding.command ? html`<p class="label">failing command</p><pre>${finding.command}</pre>` : ''}
<p class="label">evidence</p>${json(finding.evidence, Number.POSITIVE_INFINITY)}
<p><span class="label">why it matters:</span> ${finding.whyItMatters}</p>
<p><span class="label">suggested fix:</span> ${finding.suggestedFix}</p>
</article>`;
}

function renderFailure(procedure: ProcedureRecord): SafeHtml {
  const rungs = procedure.rungs.filter((rung) => rung.outcome === 'failed' || rung.outcome === 'error');
  const failedCommands = procedure.blocks.flatMap((block) => (block.failedCommand ? [{ block, command: block.failedCommand }] : []));
  return html`<article class="card o-line-${procedure.outcome}">
<h3>${badge(procedure.outcome)} <a href="#${procedureAnchor(procedure)}" class="mono">${procedure.mode} · ${procedure.id}</a> <span class="muted">${where(procedure.section, procedure.line)}</span></h3>
${procedure.reason ? html`<p>${procedure.reason}</p>` : ''}
${rungs.length > 0 ? html`<ul>${rungs.map((rung) => html`<li>${badge(rung.outcome)} <strong>${rung.rung}</strong>: ${rung.check} — ${rung.summary}</li>`)}</ul>` : ''}
${failedCommands.map(({ block, command }) => html`<p><span class="label">failed command</span> (block ${block.blockIndex}, line ${block.line}), exit ${command.exitCode ?? 'none'}${block.signal ? `, signal ${block.signal}` : ''}:</p><pre>${command.text}</pre>${command.stderrTail ? html`<pre>${command.stderrTail}</pre>` : ''}`)}
${procedure.findings.length > 0 ? html`<p><span class="label">findings</span> ${procedure.findings.map((id, index) => html`${index > 0 ? ', ' : ''}<a href="#${anchor('finding', id)}" class="mono">${id}</a>`)}</p>` : ''}
</article>`;
}

function renderFindingsAndFailures(journal: Journal): SafeHtml {
  const defects = groupFindings(journal);
  const findings = [...journal.findings].sort(
    (a, b) => SEVERITY_ORDER.indexOf(a.severity) - SEVERITY_ORDER.indexOf(b.severity) || a.id.localeCompare(b.id),
  );
  const failures = journal.procedures.filter((procedure) => procedure.outcome === 'failed' || procedure.outcome === 'error');
  return html`<section id="findings">
<h2>Findings and failures</h2>
${journal.error ? html`<article class="card o-line-error"><h3>${badge('error')} the drill did not finish</h3><pre>${journal.error}</pre></article>` : ''}
<h4>Findings (${findings.length})</h4>
${findings.length > 0 ? findingsByKind(findings).map((group) => html`<h4 id="${anchor('findings', group.kind)}">${group.title} (${group.findings.length})</h4>${group.findings.map((finding) => renderFinding(finding, journal, defects))}`) : html`<p class="none">No findings.</p>`}
<h4>Failed procedures (${failures.length})</h4>
${failures.length > 0 ? failures.map(renderFailure) : html`<p class="none">No procedure failed.</p>`}
</section>`;
}

function tickStep(spanMs: number): number {
  const steps = [100, 200, 500, 1000, 2000, 5000, 10_000, 15_000, 30_000, 60_000, 120_000, 300_000, 600_000, 900_000, 1_800_000, 3_600_000];
  return steps.find((step) => spanMs / step <= 8) ?? Math.ceil(spanMs / 8 / 3_600_000) * 3_600_000;
}

function renderTimeline(journal: Journal): SafeHtml {
  const timed = journal.procedures.flatMap((procedure) => {
    const start = procedure.startedAt ? Date.parse(procedure.startedAt) : Number.NaN;
    return Number.isFinite(start) && procedure.durationMs !== undefined ? [{ procedure, start, end: start + procedure.durationMs }] : [];
  });
  const untimed = journal.procedures.filter((procedure) => !timed.some((entry) => entry.procedure === procedure));
  if (timed.length === 0) {
    return html`<section id="timeline"><h2>Timeline</h2><p class="none">No procedure ran, so there is no timeline.</p></section>`;
  }
  const drillStart = Date.parse(journal.startedAt);
  const drillEnd = journal.finishedAt ? Date.parse(journal.finishedAt) : Number.NaN;
  const t0 = Math.min(...timed.map((entry) => entry.start), ...(Number.isFinite(drillStart) ? [drillStart] : []));
  const t1 = Math.max(...timed.map((entry) => entry.end), ...(Number.isFinite(drillEnd) ? [drillEnd] : []));
  const span = Math.max(t1 - t0, 1);
  const labelWidth = 250;
  const chartWidth = 640;
  const rowHeight = 24;
  const top = 26;
  const width = labelWidth + chartWidth + 120;
  const height = top + timed.length * rowHeight + 10;
  const x = (ms: number) => labelWidth + (ms / span) * chartWidth;
  const step = tickStep(span);
  const ticks: number[] = [];
  for (let at = 0; at <= span; at += step) ticks.push(at);
  return html`<section id="timeline">
<h2>Timeline</h2>
<p class="muted">Procedures by start time and duration, from the drill's start (${journal.startedAt}); colour and label give the outcome.</p>
<svg viewBox="0 0 ${width} ${height}" width="100%" role="img" aria-label="Timeline of procedures by start time and duration">
${ticks.map((at) => html`<line x1="${x(at).toFixed(1)}" y1="${top - 6}" x2="${x(at).toFixed(1)}" y2="${height - 6}" stroke="#e0e4ea" stroke-width="1"/><text x="${x(at).toFixed(1)}" y="${top - 10}" text-anchor="middle" class="small">+${formatDuration(at)}</text>`)}
${timed.map(({ procedure, start, end }, row) => {
  const y = top + row * rowHeight;
  const barX = x(start - t0);
  const barWidth = Math.max(2, x(end - t0) - barX);
  const label = `${procedure.mode} · ${procedure.id}`;
  return html`<g><title>${label}: ${outcomeSymbol(procedure.outcome)}, started +${formatDuration(start - t0)}, took ${duration(procedure.durationMs)}</title>
<text x="${labelWidth - 8}" y="${y + 15}" text-anchor="end">${label.length > 38 ? `${label.slice(0, 37)}…` : label}</text>
<rect x="${barX.toFixed(1)}" y="${y + 3}" width="${barWidth.toFixed(1)}" height="${rowHeight - 7}" rx="2" fill="${OUTCOME_COLORS[procedure.outcome]}"/>
<text x="${(barX + barWidth + 6).toFixed(1)}" y="${y + 15}" class="small">${outcomeSymbol(procedure.outcome)} ${duration(procedure.durationMs)}</text></g>`;
})}
</svg>
${untimed.length > 0 ? html`<p class="muted">Not on the timeline (never started): ${untimed.map((procedure, index) => html`${index > 0 ? ', ' : ''}<span class="mono">${procedure.id}</span> (${outcomeSymbol(procedure.outcome)})`)}</p>` : ''}
</section>`;
}

function renderProcedure(procedure: ProcedureRecord, journal: Journal): SafeHtml {
  const bindings = procedure.blocks.flatMap((block) => block.bindings.map((binding) => ({ block, binding })));
  const timings = Object.entries(procedure.timings ?? {});
  return html`<article class="card o-line-${procedure.outcome}" id="${procedureAnchor(procedure)}">
<h3>${badge(procedure.outcome)} <span class="mono">${procedure.mode} · ${procedure.id}</span> ${procedure.title}</h3>
<p class="muted"><span class="mono">${where(procedure.section, procedure.line)}</span>${procedure.startedAt ? ` · started ${procedure.startedAt}` : ''}${procedure.durationMs !== undefined ? ` · took ${formatDuration(procedure.durationMs)}` : ''}</p>
${procedure.reason ? html`<p><span class="label">reason:</span> ${procedure.reason}</p>` : ''}
${
  procedure.findings.length > 0
    ? html`<p><span class="label">findings</span> ${procedure.findings.map(
        (id, index) =>
          html`${index > 0 ? ', ' : ''}<a href="#${anchor('finding', id)}" class="mono">${id}</a>${(() => {
            const finding = journal.findings.find((candidate) => candidate.id === id);
            return finding ? html` ${severityBadge(finding.severity)} ${finding.title}` : '';
          })()}`,
      )}</p>`
    : ''
}
<h4>Verification ladder</h4>
${
  procedure.rungs.length > 0
    ? html`<table><thead><tr><th>outcome</th><th>rung</th><th>check</th><th>result</th></tr></thead><tbody>${procedure.rungs.map((rung) => html`<tr><td>${badge(rung.outcome)}</td><td>${rung.rung}</td><td>${rung.check}</td><td>${rung.summary}${rung.evidence ? json(rung.evidence) : ''}</td></tr>`)}</tbody></table>`
    : html`<p class="none">No rung was checked.</p>`
}
<h4>Bindings</h4>
${
  bindings.length > 0
    ? html`<table><thead><tr><th>block</th><th>placeholder in the runbook</th><th>bound to</th><th>why</th><th class="num">occurrences</th></tr></thead><tbody>${bindings.map(({ block, binding }) => html`<tr><td>${block.blockIndex} (line ${block.line})</td><td class="mono">${binding.placeholder}</td><td class="mono">${binding.value}</td><td>${binding.reason}</td><td class="num">${binding.occurrences}</td></tr>`)}</tbody></table>`
    : html`<p class="none">None: the blocks ran exactly as written.</p>`
}
<h4>Commands</h4>
${
  procedure.blocks.length > 0
    ? procedure.blocks.map(
        (
          block,
        ) => html`<p><span class="label">block ${block.blockIndex}</span> at line ${block.line}, sha256 <span class="mono">${block.sha256}</span>: exit ${block.exitCode ?? 'none'}${block.signal ? `, signal ${block.signal}` : ''}, ${formatDuration(block.durationMs)}</p>
<table><thead><tr><th>#</th><th>command</th><th class="num">exit</th><th class="num">time</th><th>stderr (tail)</th></tr></thead><tbody>${block.commands.map((command) => html`<tr><td class="num">${command.index}</td><td class="mono">${command.text}</td><td class="num">${command.exitCode ?? 'none'}</td><td class="num">${formatDuration(command.durationMs)}</td><td>${command.stderrTail ? html`<pre>${command.stderrTail}</pre>` : ''}</td></tr>`)}</tbody></table>
${block.commands.length === 0 && block.stderrTail ? html`<pre>${block.stderrTail}</pre>` : ''}`,
      )
    : html`<p class="none">No runbook block ran.</p>`
}
<h4>Artifacts</h4>
${
  procedure.artifacts.length > 0
    ? html`<table><thead><tr><th>name</th><th>path</th><th class="num">bytes</th><th>sha256</th><th>format</th><th>reads back</th></tr></thead><tbody>${procedure.artifacts.map((artifact) => html`<tr><td>${artifact.name}</td><td class="mono">${artifact.path}</td><td class="num">${artifact.bytes}</td><td class="mono">${artifact.sha256}</td><td>${artifact.format}</td><td>${artifact.readable ? 'yes' : html`<strong>no</strong>`}: ${artifact.detail}</td></tr>`)}</tbody></table>`
    : html`<p class="none">None.</p>`
}
<h4>Harness actions</h4>
${
  procedure.harnessActions.length > 0
    ? html`<table><thead><tr><th>why</th><th>command</th><th class="num">exit</th><th class="num">time</th><th>detail</th></tr></thead><tbody>${procedure.harnessActions.map((action) => html`<tr><td>${action.purpose}</td><td class="mono">${action.command}</td><td class="num">${action.exitCode ?? 'none'}</td><td class="num">${formatDuration(action.durationMs)}</td><td>${action.judgedBy ? `judged by “${action.judgedBy}”${action.detail ? ': ' : ''}` : ''}${action.detail ?? ''}</td></tr>`)}</tbody></table>`
    : html`<p class="none">None: the harness did nothing besides the runbook's blocks.</p>`
}
${timings.length > 0 ? html`<h4>Timings</h4><p>${timings.map(([name, ms], index) => html`${index > 0 ? ', ' : ''}${name} ${formatDuration(ms)}`)}</p>` : ''}
</article>`;
}

function renderProcedures(journal: Journal): SafeHtml {
  const detailed = journal.procedures.filter(
    (procedure) => procedure.blocks.length + procedure.rungs.length + procedure.artifacts.length + procedure.harnessActions.length > 0,
  );
  const bare = journal.procedures.filter((procedure) => !detailed.includes(procedure));
  return html`<section id="procedures">
<h2>Procedures</h2>
${detailed.length > 0 ? detailed.map((procedure) => renderProcedure(procedure, journal)) : html`<p class="none">No procedure ran.</p>`}
${
  bare.length > 0
    ? html`<h4>Not run or skipped</h4><table><thead><tr><th>outcome</th><th>mode</th><th>procedure</th><th>section</th><th>reason</th></tr></thead><tbody>${bare.map((procedure) => html`<tr id="${procedureAnchor(procedure)}"><td>${badge(procedure.outcome)}</td><td>${procedure.mode}</td><td class="mono">${procedure.id}</td><td>${where(procedure.section, procedure.line)}</td><td>${procedure.reason ?? ''}</td></tr>`)}</tbody></table>`
    : ''
}
</section>`;
}

function renderGauge(label: string, measure: TimingMeasure | undefined): SafeHtml {
  const verdict = verdictOf(measure);
  const title = html`<h3>${label}</h3>`;
  if (measure?.unreadable) return html`<div class="card">${title}<p class="none">not measured: ${measure.unreadable}</p></div>`;
  if (!measure || measure.measuredMs === undefined) {
    return html`<div class="card">${title}<p class="none">not measured${measure?.detail ? `: ${measure.detail}` : ' in this drill'}</p></div>`;
  }
  const measured = measure.measuredMs;
  if (verdict === 'no-target' || measure.targetMs === undefined) {
    return html`<div class="card">${title}<p><strong>${formatDuration(measured)}</strong> — no target set, so there is nothing to gauge it against.</p>${measure.detail ? html`<p class="muted">${measure.detail}</p>` : ''}</div>`;
  }
  const target = measure.targetMs;
  const scale = Math.max(target, measured) * 1.25;
  const width = 440;
  const x = (ms: number) => 10 + (ms / scale) * (width - 20);
  const color = verdict === 'met' ? OUTCOME_COLORS.passed : OUTCOME_COLORS.failed;
  return html`<div class="card ${verdict === 'met' ? 'o-line-passed' : 'o-line-failed'}">${title}
<p><strong>${formatDuration(measured)}</strong> against a target of ${formatDuration(target)}: <span class="badge ${verdict === 'met' ? 'o-passed' : 'o-failed'}">${verdict === 'met' ? 'MET' : 'MISSED'}</span></p>
<svg viewBox="0 0 ${width} 58" width="100%" role="img" aria-label="${label}: ${formatDuration(measured)} against a target of ${formatDuration(target)}">
<rect x="10" y="14" width="${width - 20}" height="16" rx="3" fill="#eceff1"/>
<rect x="10" y="14" width="${(x(measured) - 10).toFixed(1)}" height="16" rx="3" fill="${color}"/>
<line x1="${x(target).toFixed(1)}" y1="8" x2="${x(target).toFixed(1)}" y2="36" stroke="#263238" stroke-width="2"/>
<text x="${x(target).toFixed(1)}" y="50" text-anchor="middle" class="small">target ${formatDuration(target)}</text>
<text x="10" y="50" class="small">0</text>
</svg>
${measure.detail ? html`<p class="muted">${measure.detail}</p>` : ''}</div>`;
}

function renderTiming(journal: Journal): SafeHtml {
  const { rto, rpo } = timingMeasures(journal);
  const lever = parallelRestoreTiming(journal.timing);
  return html`<section id="timing">
<h2>Recovery objectives</h2>
<div class="gauges">${renderGauge('RTO (recovery time)', rto)}${renderGauge('RPO (data loss window)', rpo)}</div>
${lever ? html`<p id="restore-lever"><strong>RTO lever</strong> (<span class="mono">${lever.dump}</span>): ${'error' in lever ? html`not measured: ${lever.error}` : lever.hint}</p>` : ''}
</section>`;
}

function renderChecklistItem(item: ChecklistRecord): SafeHtml {
  const attestation = item.attestation;
  return html`<tr><td>${badge(item.outcome)}</td><td>${item.item}</td><td class="mono">${where(item.section, item.line)}</td><td>${item.summary ?? ''}${item.evidence ? json(item.evidence) : ''}</td><td>${attestation && item.outcome === 'passed' ? html`<strong>${attestation.method === 'human' ? 'attested by' : 'probed by'} ${attestation.by}</strong> at ${attestation.at}: ${attestation.statement}` : attestation ? html`<span class="none">not attested: the check ${outcomeSymbol(item.outcome)}</span>` : html`<span class="none">no attestation</span>`}</td></tr>`;
}

function renderChecklist(journal: Journal): SafeHtml {
  const items = journal.checklist ?? [];
  return html`<section id="checklist">
<h2>Checklist</h2>
${
  items.length > 0
    ? html`<table><thead><tr><th>outcome</th><th>item</th><th>where</th><th>result</th><th>attestation</th></tr></thead><tbody>${items.map(renderChecklistItem)}</tbody></table>`
    : html`<p class="none">None recorded: this drill checked no checklist item.</p>`
}
</section>`;
}

interface ManifestLike {
  database?: string;
  serverVersion?: string;
  takenAt?: string;
  tables?: Record<string, { rows?: number; hash?: string }>;
  schema?: { fingerprint?: string };
}

function renderManifests(journal: Journal): SafeHtml {
  const entries = Object.entries(journal.manifests);
  if (entries.length === 0) return html``;
  return html`<section id="manifests">
<h2>Manifests compared</h2>
<p class="muted">Row counts and content hashes computed inside PostgreSQL; the full manifests are in journal.json.</p>
${entries.map(([label, value]) => {
  const manifest = (value && typeof value === 'object' ? value : {}) as ManifestLike;
  const tables = Object.entries(manifest.tables ?? {});
  return html`<div class="card"><h3 class="mono">${label}</h3>
<p class="muted">database ${manifest.database ?? '?'}, server ${manifest.serverVersion ?? '?'}, taken ${manifest.takenAt ?? '?'}, schema fingerprint <span class="mono">${manifest.schema?.fingerprint ?? '?'}</span></p>
${tables.length > 0 ? html`<table><thead><tr><th>table</th><th class="num">rows</th><th>content hash</th></tr></thead><tbody>${tables.map(([name, table]) => html`<tr><td class="mono">${name}</td><td class="num">${table.rows ?? ''}</td><td class="mono">${table.hash ?? ''}</td></tr>`)}</tbody></table>` : ''}</div>`;
})}
</section>`;
}

/**
 * Every reference in the page's own tags that would make a browser fetch something (src, href, srcset…
 * not pointing at an in-page anchor), and any CSS url() or @import. Escaped journal text is not a tag.
 */
export function externalReferences(page: string): string[] {
  const found: string[] = [];
  for (const tag of page.matchAll(/<[a-zA-Z][^>]*>/g)) {
    for (const match of tag[0].matchAll(
      /\s(?:src|href|xlink:href|srcset|poster|data|action|formaction|background)\s*=\s*("[^"]*"|'[^']*'|[^\s>]+)/gi,
    )) {
      const value = match[1]!.replace(/^["']|["']$/g, '');
      if (!value.startsWith('#')) found.push(match[0].trim());
    }
  }
  for (const match of page.matchAll(/url\(|@import/gi)) found.push(page.slice(match.index, match.index + 60));
  return found;
}

/**
 * The audit report: the one-page attestation first, then findings and failures, the timeline, each procedure,
 * RTO/RPO and the checklist. `attestationOnly` renders the attestation alone: the page attestation.pdf is printed from.
 */
export function renderHtmlReport(journal: Journal, options: { attestationOnly?: boolean } = {}): string {
  const attestation = renderAttestationSection(buildAttestation(journal), { standalone: options.attestationOnly === true });
  const page = html`<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta name="generator" content="nmia-drill ${journal.harness.version}">
<title>nmia-drill ${journal.drillId}: ${outcomeSymbol(journal.outcome)}</title>
<style>${trusted(CSS)}${trusted(ATTESTATION_CSS)}</style>
</head>
<body>
${attestation}
${
  options.attestationOnly
    ? ''
    : html`${renderHeader(journal)}
${renderFindingsAndFailures(journal)}
${renderTimeline(journal)}
${renderProcedures(journal)}
${renderTiming(journal)}
${renderChecklist(journal)}
${renderManifests(journal)}`
}
${options.attestationOnly ? '' : html`<footer>Rendered from journal.json (journal version ${journal.journalVersion}) of drill ${journal.drillId}. Check the bundle's integrity with <span class="mono">sha256sum -c SHA256SUMS</span> or <span class="mono">nmia-drill verify-evidence &lt;dir&gt;</span>.</footer>`}
</body>
</html>
`;
  return page.value;
}
