import { appendFile, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { appendToIndex } from './drill-history.ts';
import { sign } from 'node:crypto';
import { bundleFiles, PUBLIC_KEY_FILE, redactBundleFiles, writeSha256Sums } from './evidence-bundle.ts';
import { signingKeyFor } from './signing-key.ts';
import { buildAttestation, renderAttestationMarkdown } from './attestation.ts';
import { ATTESTATION_PDF_FILE, printAttestationPdf } from './attestation-pdf.ts';
import { renderHtmlReport } from './html-report.ts';
import { JournalSchema, type Journal } from './journal.ts';
import { renderJunit } from './junit-report.ts';
import { renderMarkdownSummary } from './markdown-summary.ts';
import { OSCAL_FILE, renderOscalAssessmentResults } from './oscal-export.ts';
import type { Redactor } from './redactor.ts';

export interface EvidenceFiles {
  reportDir: string;
  journal: string;
  summary: string;
  html: string;
  junit: string;
  /** The one-page attestation (also the first section of report.html). */
  attestation?: string;
  /** The attestation alone printed to A4 by headless Chromium; absent when it could not be printed. */
  attestationPdf?: string;
  /** Why attestation.pdf is absent, and the fix, in one line (also in attestation.md and summary.md). */
  attestationPdfNotWritten?: string;
  /** The OSCAL assessment-results document (validated against NIST's schema), linking to the files above. */
  oscal?: string;
  /** SHA256SUMS over every file of the bundle; written after everything else in it. */
  sha256sums: string;
  /** SHA256SUMS.sig, unless signing is off (NMIA_DRILL_SIGNING=off). */
  signature?: string;
  /** The key that signed it: fingerprint, where it is kept, and whether this drill made it. */
  signing?: { fingerprint: string; source: string; generated: boolean };
  /** reports/index.json (the parent of reportDir). */
  index: string;
  /** Bundle files that held a registered secret and were redacted in place: each is a leak in whatever wrote it. */
  redactedFiles: string[];
}

/**
 * Writes the journal (validated against its schema) and the renderings made from it, all from the
 * redacted journal; then SHA256SUMS over the whole bundle (and its signature), then the history index.
 */
export async function writeEvidence(
  journal: Journal,
  reportDir: string,
  redactor: Redactor,
  env: NodeJS.ProcessEnv = process.env,
): Promise<EvidenceFiles> {
  // Signing is on by default; the key's fingerprint is part of what is signed.
  const key = await signingKeyFor(env);
  if (key) journal.signing = { algorithm: 'ed25519', fingerprint: key.fingerprint, publicKeyFile: PUBLIC_KEY_FILE };
  else delete journal.signing;
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
    attestation: join(reportDir, 'attestation.md'),
    oscal: join(reportDir, OSCAL_FILE),
  };
  // Started first, as the browser's launch is most of a bundle's time. A PDF cannot be scrubbed after
  // writing as the text files are, so its page goes through the redactor here, before printing.
  const pdf = printAttestationPdf(
    redactor.redact(renderHtmlReport(redacted, { attestationOnly: true })),
    join(reportDir, ATTESTATION_PDF_FILE),
    { env },
  );
  await writeFile(files.journal, `${JSON.stringify(redacted, null, 2)}\n`);
  await writeFile(files.html, renderHtmlReport(redacted));
  await writeFile(files.junit, renderJunit(redacted));
  if (key) await writeFile(join(reportDir, PUBLIC_KEY_FILE), key.publicPem);
  const printed = await pdf;
  const pdfNote = printed.written ? [] : [printed.notWritten];
  const summary = renderMarkdownSummary(redacted, pdfNote);
  await writeFile(files.summary, summary);
  if (process.env.GITHUB_STEP_SUMMARY) await appendFile(process.env.GITHUB_STEP_SUMMARY, summary).catch(() => undefined);
  await writeFile(files.attestation, renderAttestationMarkdown(buildAttestation(redacted), pdfNote));
  // Last of the renderings: its observations link to the files already in the bundle.
  await writeFile(files.oscal, renderOscalAssessmentResults(redacted, await bundleFiles(reportDir)));
  // Other components write into the bundle too (block traces); nothing is hashed, and so vouched for, unredacted.
  const redactedFiles = await redactBundleFiles(reportDir, redactor);
  const sums = await writeSha256Sums(reportDir, { env, signingKey: key ?? null });
  const index = await appendToIndex(
    dirname(resolve(reportDir)),
    redacted,
    resolve(reportDir),
    key ? (bytes) => sign(null, bytes, key.key) : undefined,
  );
  return {
    ...files,
    ...(printed.written ? { attestationPdf: printed.path } : { attestationPdfNotWritten: printed.notWritten }),
    sha256sums: sums.sums,
    ...(sums.signature ? { signature: sums.signature } : {}),
    ...(key ? { signing: { fingerprint: key.fingerprint, source: key.source, generated: key.generated } } : {}),
    index,
    redactedFiles,
  };
}
