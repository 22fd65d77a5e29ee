import type { Attestation } from './attestation.ts';
import type { ControlResult } from './control-mapping.ts';
import { outcomeSymbol } from './journal.ts';
import { html, type SafeHtml } from './safe-html.ts';

/** The attestation's own styles, added to the report's; printed, it ends with a page break before the long report. */
export const ATTESTATION_CSS = `
#attestation { border: 2px solid var(--fg); border-radius: 6px; padding: 12px 16px; margin-bottom: 24px; font-size: 13px; }
#attestation h2 { margin: 12px 0 6px; font-size: 15px; border-bottom: 1px solid var(--line); }
#attestation h2:first-of-type { margin-top: 4px; }
#attestation .verdict { font-size: 15px; margin: 6px 0; }
#attestation table { margin: 2px 0 4px; } #attestation td.mono { white-space: nowrap; } #attestation th, #attestation td { padding: 2px 5px; }
#attestation ul { margin: 2px 0; padding-left: 18px; }
#attestation .meta { grid-template-columns: 110px 1fr; margin: 4px 0; gap: 2px 10px; }
.c-evidence { background: #1b7f3b; } .c-partial { background: #ef6c00; } .c-failed { background: #c62828; } .c-missing { background: #78909c; }
@media print {
  #attestation { border: none; padding: 0; margin: 0; font-size: 9.5px; break-after: page; }
  #attestation h2 { font-size: 11.5px; margin: 7px 0 3px; }
  #attestation .verdict { font-size: 12px; }
  #attestation h1 { font-size: 17px; }
  #attestation .badge { font-size: 8.5px; padding: 0 4px; }
  #attestation .mono, #attestation code { font-size: 9px; }
}
`;

const CONTROL_LABEL: Record<ControlResult['status'], string> = {
  evidence: 'EVIDENCE',
  partial: 'PARTIAL',
  failed: 'FAILED',
  missing: 'NONE',
};

/**
 * The one-page attestation: first in report.html, or alone (`standalone`, printed as attestation.pdf); every
 * value escaped by the `html` tag.
 */
export function renderAttestationSection(attestation: Attestation, options: { standalone?: boolean } = {}): SafeHtml {
  const backup = attestation.backup;
  return html`<section id="attestation">
<h1>Attestation: DR drill <span class="mono">${attestation.drillId}</span> <span class="badge o-${attestation.outcome}">${outcomeSymbol(attestation.outcome)}</span></h1>
<p class="verdict"><strong>Verdict:</strong> ${attestation.verdict}</p>
<h2>Scope</h2>
<dl class="meta">${attestation.scope.map((item) => html`<dt>${item.label}</dt><dd>${item.value}</dd>`)}</dl>
<h2>Not tested, and why</h2>
${attestation.notTested.length > 0 ? html`<ul>${attestation.notTested.map((line) => html`<li>${line}</li>`)}</ul>` : html`<p>Nothing left out: every procedure of the runbook ran.</p>`}
<h2>Recovery objectives</h2>
<ul>${attestation.measures.map((measure) => html`<li><strong>${measure.name}:</strong> ${measure.text}</li>`)}</ul>
<h2>Backup restored</h2>
${
  backup
    ? html`<dl class="meta"><dt>File</dt><dd><span class="mono">${backup.path}</span> (${backup.format}, ${backup.bytes} bytes, sha256 <span class="mono">${backup.sha256.slice(0, 16)}…</span>)</dd><dt>Provenance</dt><dd>${backup.provenance}</dd><dt>Age</dt><dd>${backup.age}</dd><dt>Restored by</dt><dd class="mono">${backup.restoredBy}</dd></dl>`
    : html`<p class="none">${attestation.backupNote ?? 'none'}</p>`
}
<h2>Findings by kind</h2>
<table><thead><tr><th>kind</th><th class="num">count</th><th>severities</th><th>findings</th></tr></thead><tbody>${attestation.findings.map(
    (group) =>
      html`<tr><td>${group.title}</td><td class="num">${group.count}</td><td>${group.bySeverity || '—'}</td><td>${group.items.length > 0 ? html`${group.items.slice(0, 4).map((item, index) => html`${index > 0 ? html`<br>` : ''}${item}`)}${group.items.length > 4 ? html`<br>… ${group.items.length - 4} more below` : ''}` : '—'}</td></tr>`,
  )}</tbody></table>
<h2>Procedures</h2>
<p>${attestation.procedures.map(
    (procedure, index) =>
      html`${index > 0 ? ' · ' : ''}<span class="mono">${procedure.id}</span> ${procedure.outcomes.map((outcome) => html`<span class="badge o-${outcome.outcome}" title="${outcome.mode}">${outcome.mode === 'alone' ? 'alone ' : ''}${outcomeSymbol(outcome.outcome)}</span> `)}`,
  )}</p>
<h2>Controls</h2>
<p class="muted">What this drill gives evidence for, per control (mapping: controls/control-map.yaml, reviewed like code; controls cited by id only; details in attestation.md).</p>
<table><thead><tr><th>control</th><th>framework</th><th>status</th><th>evidence produced</th><th>missing or failed</th></tr></thead><tbody>${attestation.controls.map(
    (control) =>
      html`<tr><td class="mono">${control.id}</td><td>${control.framework}</td><td><span class="badge c-${control.status}">${CONTROL_LABEL[control.status]}</span></td><td>${
        control.requirements
          .filter((requirement) => requirement.state === 'produced')
          .map((requirement) => requirement.id)
          .join(', ') || '—'
      }</td><td>${
        control.requirements
          .filter((requirement) => requirement.state !== 'produced')
          .map((requirement) => `${requirement.id} (${requirement.state})`)
          .join(', ') || '—'
      }</td></tr>`,
  )}</tbody></table>
<h2>Sign-offs</h2>
<ul>${attestation.signOffs.map((signOff) => html`<li><strong>${signOff.role}:</strong> ${signOff.who}, ${signOff.detail}</li>`)}</ul>
<p class="muted">${attestation.signing ?? 'SHA256SUMS only: integrity only, unsigned.'} ${options.standalone ? 'The full report is report.html, in the same bundle.' : 'The full report follows.'}</p>
</section>`;
}
