import { appendFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { JournalSchema, type Journal } from './journal.ts';
import { renderMarkdownSummary } from './markdown-summary.ts';
import type { Redactor } from './redactor.ts';

export interface EvidenceFiles {
  reportDir: string;
  journal: string;
  summary: string;
}

/** Writes the journal (validated against its schema) and the renderings made from it; everything redacted. */
export async function writeEvidence(journal: Journal, reportDir: string, redactor: Redactor): Promise<EvidenceFiles> {
  const redacted = redactor.redactDeep(journal);
  const parsed = JournalSchema.safeParse(redacted);
  if (!parsed.success) {
    throw new Error(`internal error: the journal does not match its schema: ${parsed.error.issues.slice(0, 3).map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`);
  }
  const files: EvidenceFiles = { reportDir, journal: join(reportDir, 'journal.json'), summary: join(reportDir, 'summary.md') };
  await writeFile(files.journal, `${JSON.stringify(redacted, null, 2)}\n`);
  const summary = renderMarkdownSummary(redacted);
  await writeFile(files.summary, summary);
  if (process.env.GITHUB_STEP_SUMMARY) await appendFile(process.env.GITHUB_STEP_SUMMARY, summary).catch(() => undefined);
  return files;
}
