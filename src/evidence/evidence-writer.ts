import { appendFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { appendToIndex } from './drill-history.ts';
import { redactBundleFiles, writeSha256Sums } from './evidence-bundle.ts';
import { renderHtmlReport } from './html-report.ts';
import { JournalSchema, type Journal } from './journal.ts';
import { renderJunit } from './junit-report.ts';
import { renderMarkdownSummary } from './markdown-summary.ts';
import type { Redactor } from './redactor.ts';

export interface EvidenceFiles {
  reportDir: string;
  journal: string;
  summary: string;
  html: string;
  junit: string;
  /** SHA256SUMS over every file of the bundle; written after everything else in it. */
  sha256sums: string;
  /** SHA256SUMS.sig, when NMIA_DRILL_SIGNING_KEY is set. */
  signature?: string;
  /** reports/index.json (the parent of reportDir). */
  index: string;
  /** Bundle files that held a registered secret and were redacted in place: each is a leak in whatever wrote it. */
  redactedFiles: string[];
}

/**
 * Writes the journal (validated against its schema) and the renderings made from it, all from the
 * redacted journal; then SHA256SUMS over the whole bundle (and its signature), then the history index.
 */
export async function writeEvidence(journal: Journal, reportDir: string, redactor: Redactor): Promise<EvidenceFiles> {
  const redacted = redactor.redactDeep(journal);
  const parsed = JournalSchema.safeParse(redacted);
  if (!parsed.success) {
    throw new Error(
      `internal error: the journal does not match its schema: ${parsed.error.issues
        .slice(0, 3)
        .map((issue) => `${issue.path.join('.')}: ${issue.message}`)
        .join('; ')}`,
    );
  }
  const files = {
    reportDir,
    journal: join(reportDir, 'journal.json'),
    summary: join(reportDir, 'summary.md'),
    html: join(reportDir, 'report.html'),
    junit: join(reportDir, 'junit.xml'),
  };
  await writeFile(files.journal, `${JSON.stringify(redacted, null, 2)}\n`);
  const summary = renderMarkdownSummary(redacted);
  await writeFile(files.summary, summary);
  if (process.env.GITHUB_STEP_SUMMARY) await appendFile(process.env.GITHUB_STEP_SUMMARY, summary).catch(() => undefined);
  await writeFile(files.html, renderHtmlReport(redacted));
  await writeFile(files.junit, renderJunit(redacted));
  // Other components write into the bundle too (block traces); nothing is hashed, and so vouched for, unredacted.
  const redactedFiles = await redactBundleFiles(reportDir, redactor);
  const sums = await writeSha256Sums(reportDir);
  const index = await appendToIndex(dirname(resolve(reportDir)), redacted, resolve(reportDir));
  return { ...files, sha256sums: sums.sums, ...(sums.signature ? { signature: sums.signature } : {}), index, redactedFiles };
}
