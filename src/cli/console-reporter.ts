import type { DrillReporter } from '../drill/drill-reporter.ts';
import { groupFindings } from '../evidence/finding-lifecycle.ts';
import { findingsByKind, outcomeSymbol } from '../evidence/journal.ts';
import type { EvidenceFiles } from '../evidence/evidence-writer.ts';
import type { Journal } from '../evidence/journal.ts';

/** Plain, timestamped progress lines: readable in a terminal and in CI logs alike. */
export class ConsoleReporter implements DrillReporter {
  private readonly started = Date.now();
  private lastSeedReport = 0;

  constructor(
    private readonly write: (line: string) => void = (line) => process.stderr.write(`${line}\n`),
    private readonly quiet = false,
  ) {}

  private line(text: string): void {
    if (this.quiet) return;
    const elapsed = ((Date.now() - this.started) / 1000).toFixed(1).padStart(6);
    this.write(`[${new Date().toISOString().slice(11, 19)} +${elapsed}s] ${text}`);
  }

  onDrillStart(info: { drillId: string; runbook: string; reportDir: string }): void {
    this.line(`drill ${info.drillId}: ${info.runbook}`);
  }

  onStep(message: string): void {
    this.line(message);
  }

  onSeedProgress(progress: { table: string; rows: number; totalRows: number }): void {
    const now = Date.now();
    if (progress.rows < progress.totalRows && now - this.lastSeedReport < 1000) return;
    this.lastSeedReport = now;
    this.line(`  seeding ${progress.table}: ${progress.rows}/${progress.totalRows}`);
  }

  onProcedureStart(procedure: { id: string; title: string; mode: 'order' | 'alone' }): void {
    this.line(`▶ ${procedure.id} (${procedure.mode}): ${procedure.title}`);
  }

  onCommand(_procedure: string, command: { text: string; exitCode: number | null; durationMs: number }): void {
    const text = command.text.length > 110 ? `${command.text.slice(0, 107)}…` : command.text;
    this.line(`    $ ${text}  → exit ${command.exitCode ?? '?'} (${command.durationMs} ms)`);
  }

  onRung(
    _procedure: string,
    rung: { rung: string; outcome: 'passed' | 'failed' | 'error' | 'skipped' | 'not-run'; check: string; summary: string },
  ): void {
    this.line(
      `    ${outcomeSymbol(rung.outcome).padEnd(4)} ${rung.rung}: ${rung.check} — ${rung.summary.length > 140 ? `${rung.summary.slice(0, 137)}…` : rung.summary}`,
    );
  }

  onProcedureEnd(record: {
    id: string;
    outcome: 'passed' | 'failed' | 'error' | 'skipped' | 'not-run';
    durationMs?: number;
    reason?: string;
  }): void {
    this.line(
      `◀ ${record.id}: ${outcomeSymbol(record.outcome)} in ${((record.durationMs ?? 0) / 1000).toFixed(1)} s${record.reason ? ` (${record.reason})` : ''}`,
    );
  }

  onDrillEnd(journal: Journal, files: EvidenceFiles): void {
    for (const text of drillEndText(journal, files)) this.write(text);
  }
}

/** What every progress style leaves at the end: the summary table with the findings, and where the evidence is. */
export function drillEndText(journal: Journal, files: EvidenceFiles): string[] {
  const texts = [
    renderSummaryTable(journal),
    `${files.attestation ? `attestation: ${files.attestation}\n` : ''}${files.attestationPdf ? `attestation PDF: ${files.attestationPdf}\n` : ''}report:  ${files.html}\njournal: ${files.journal}\nsummary: ${files.summary}`,
  ];
  if (files.attestationPdfNotWritten) texts.push(files.attestationPdfNotWritten);
  texts.push(
    files.signing
      ? `signed:  ${files.sha256sums}.sig with ed25519 key ${files.signing.fingerprint} (${files.signing.source}${files.signing.generated ? '; made now on first use: keep it, and give reviewers its public half' : ''})`
      : `unsigned: ${files.sha256sums} is integrity only (signing is off)`,
  );
  // The bundle is scrubbed as a last line of defence; anything it had to scrub is a leak in its writer.
  if (files.redactedFiles.length > 0)
    texts.push(
      `warning: secrets were scrubbed from ${files.redactedFiles.length} evidence file(s) after writing: ${files.redactedFiles.join(', ')}`,
    );
  return texts;
}

export function renderSummaryTable(journal: Journal): string {
  const rows = journal.procedures.map((procedure) => [
    outcomeSymbol(procedure.outcome),
    procedure.mode,
    procedure.id,
    procedure.durationMs === undefined ? '' : `${(procedure.durationMs / 1000).toFixed(1)}s`,
    procedure.findings.join(','),
  ]);
  const header = ['OUTCOME', 'MODE', 'PROCEDURE', 'TIME', 'FINDINGS'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  const format = (row: string[]) =>
    row
      .map((value, column) => value.padEnd(widths[column]!))
      .join('  ')
      .trimEnd();
  const lines = ['', format(header), ...rows.map(format)];
  // One line per defect: its copies from the two modes (the same stable id) are one finding, with the modes it showed in.
  for (const group of findingsByKind(groupFindings(journal))) {
    lines.push('', `${group.title}:`);
    for (const finding of group.findings) {
      const seen = `${finding.modes.join(' + ') || 'no mode'}${finding.journalIds.length > 1 ? `: ${finding.journalIds.join(', ')}` : ''}`;
      lines.push(
        `  ${finding.journalIds[0]} [${finding.severity}] ${finding.procedure}: ${finding.title} (${seen})\n       fix: ${finding.suggestedFix}`,
      );
    }
  }
  const t = journal.totals;
  lines.push(
    '',
    `drill ${journal.drillId}: ${outcomeSymbol(journal.outcome)} — ${t.passed} passed, ${t.failed} failed, ${t.error} error, ${t.skipped} skipped, ${t.notRun} not run${journal.error ? ` — ${journal.error}` : ''}`,
  );
  return lines.join('\n');
}
