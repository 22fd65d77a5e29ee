import { describeApp, describeSubstitutions } from './app-description.ts';
import { findingsByKind, outcomeSymbol, type Journal } from './journal.ts';
import { formatDuration, parallelRestoreTiming, timingMeasures, verdictOf, type TimingMeasure } from './timing-measures.ts';
import { groupFindings } from './finding-lifecycle.ts';

function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\n/g, ' ');
}

function seconds(ms: number | undefined): string {
  return ms === undefined ? '' : `${(ms / 1000).toFixed(1)} s`;
}

/**
 * The Markdown summary: outcome, findings first, then per-procedure rungs. Suitable for a CI job summary.
 * `bundleNotes`: one line each about the bundle itself (a file that could not be written), under the header.
 */
export function renderMarkdownSummary(journal: Journal, bundleNotes: readonly string[] = []): string {
  const lines: string[] = [];
  const t = journal.totals;
  lines.push(`# nmia-drill ${journal.drillId}: ${outcomeSymbol(journal.outcome)}`, '');
  lines.push(
    `- runbook: \`${journal.runbook.path}\` (sha256 \`${journal.runbook.sha256.slice(0, 12)}…\`, lock ${journal.runbook.lockState})`,
  );
  lines.push(
    `- ran by ${journal.runner.user}@${journal.runner.host}${journal.runner.ci ? ` in ${journal.runner.ci.provider}${journal.runner.ci.runUrl ? ` (${journal.runner.ci.runUrl})` : ''}` : ''}, ${journal.startedAt} → ${journal.finishedAt ?? 'unfinished'}`,
  );
  if (journal.stack) lines.push(`- stack: ${journal.stack.kind} (${journal.stack.reason})`);
  if (journal.app) lines.push(`- app: ${describeApp(journal.app)}`);
  for (const substitution of describeSubstitutions(journal.app)) lines.push(`  - instead of as written: ${substitution}`);
  lines.push(`- seed ${journal.options.seed}, scale ${journal.options.scale} identities, isolation ${journal.options.isolation}`);
  lines.push(`- procedures: ${t.passed} passed, ${t.failed} failed, ${t.error} error, ${t.skipped} skipped, ${t.notRun} not run`);
  if (journal.error) lines.push(`- error: ${journal.error}`);
  lines.push(...objectiveLines(journal));
  lines.push(...bundleNotes.map((note) => `- ${cell(note)}`));
  lines.push('');
  if (journal.findings.length > 0) lines.push('## Findings', '');
  // One row per defect: its order and alone copies (one stable id) together, with the modes it showed in.
  for (const group of findingsByKind(groupFindings(journal))) {
    lines.push(`### ${group.title}`, '', '| id | severity | procedure | finding | seen in | suggested fix |', '|---|---|---|---|---|---|');
    for (const finding of group.findings) {
      const seen = `${finding.modes.join(' + ') || 'no mode'}${finding.journalIds.length > 1 ? ` (${finding.journalIds.join(', ')})` : ''}`;
      lines.push(
        `| ${finding.journalIds[0]} | ${finding.severity} | ${cell(finding.procedure)} | ${cell(finding.title)} | ${seen} | ${cell(finding.suggestedFix)} |`,
      );
    }
    lines.push('');
  }
  lines.push('## Procedures', '', '| outcome | mode | procedure | section | time | checks |', '|---|---|---|---|---|---|');
  for (const procedure of journal.procedures) {
    const checks = procedure.rungs.map((rung) => `${outcomeSymbol(rung.outcome)} ${rung.rung}`).join(', ') || cell(procedure.reason ?? '');
    lines.push(
      `| ${outcomeSymbol(procedure.outcome)} | ${procedure.mode} | ${cell(procedure.id)} | ${cell(procedure.section)} | ${seconds(procedure.durationMs)} | ${checks} |`,
    );
  }
  lines.push('');
  for (const procedure of journal.procedures.filter((candidate) => candidate.rungs.length > 0)) {
    lines.push(`### ${procedure.mode} · ${procedure.id}: ${outcomeSymbol(procedure.outcome)}`, '');
    for (const binding of procedure.blocks.flatMap((block) => block.bindings))
      lines.push(`- binding \`${cell(binding.placeholder)}\` → \`${cell(binding.value)}\` (${binding.reason})`);
    for (const rung of procedure.rungs)
      lines.push(`- ${outcomeSymbol(rung.outcome)} **${rung.rung}**: ${rung.check} — ${cell(rung.summary)}`);
    lines.push('');
  }
  return `${lines.join('\n')}\n`;
}

function objectiveLine(label: string, measure: TimingMeasure | undefined): string[] {
  if (!measure) return [];
  if (measure.unreadable) return [`- ${label}: ${measure.unreadable}`];
  const measured = measure.measuredMs === undefined ? 'not measured' : formatDuration(measure.measuredMs);
  const target = measure.targetMs === undefined ? '' : ` (target ${formatDuration(measure.targetMs)}: ${verdictOf(measure)})`;
  return [`- ${label}: ${measured}${target}${measure.detail ? ` — ${cell(measure.detail)}` : ''}`];
}

/** RTO, RPO and the measured restore lever: what an auditor asks first after "did it pass". */
function objectiveLines(journal: Journal): string[] {
  const { rto, rpo } = timingMeasures(journal);
  const lever = parallelRestoreTiming(journal.timing);
  return [
    ...objectiveLine('RTO', rto),
    ...objectiveLine('RPO', rpo),
    ...(lever ? [`- RTO lever (${cell(lever.dump)}): ${'error' in lever ? `not measured: ${cell(lever.error)}` : cell(lever.hint)}`] : []),
  ];
}
