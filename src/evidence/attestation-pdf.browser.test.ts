import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { syntheticJournal } from '../../test-support/synthetic-journal.ts';
import { HeadlessChromium } from '../probes/headless-chromium.ts';
import { pdfPageCount, printAttestationPdf } from './attestation-pdf.ts';
import { verifyEvidence } from './evidence-bundle.ts';
import { writeEvidence } from './evidence-writer.ts';
import { Redactor } from './redactor.ts';

// The real printer, watched: what the writer handed Chromium is the page the PDF's text came from.
vi.mock('./attestation-pdf.ts', async (importOriginal) => {
  const actual = await importOriginal<typeof import('./attestation-pdf.ts')>();
  return { ...actual, printAttestationPdf: vi.fn(actual.printAttestationPdf) };
});

/*
 * attestation.pdf in a real bundle, printed by the machine's Chromium (never a downloaded one); without it
 * the test says so and skips (attestation-pdf.test.ts covers the bundle without a browser).
 */
const CHROMIUM = HeadlessChromium.executablePath();
const skipReason = existsSync(CHROMIUM) ? undefined : `no browser at ${CHROMIUM} (apt-get install chromium)`;
const CANARY = 'canary-7f3e9c2a-drill-token';

/** The attestation section of a rendered page. */
function attestationSection(page: string): string {
  return page.slice(page.indexOf('<section id="attestation">'), page.indexOf('</section>') + '</section>'.length);
}

describe(`attestation.pdf in a written bundle${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it.skipIf(skipReason !== undefined)(
    'is the redacted attestation alone, a PDF of one or two A4 pages, covered by SHA256SUMS',
    async () => {
      const root = await mkdtemp(join(tmpdir(), 'nmia-drill-attestation-pdf-'));
      dirs.push(root);
      const dir = join(root, '20260110-020000-synth001');
      await mkdir(dir);
      // The canary sits where the attestation shows it: the verdict quotes the error, the findings their titles.
      const journal = syntheticJournal({ error: `the restore stopped on token ${CANARY}` });
      journal.findings[0]!.title = `${journal.findings[0]!.title} (token ${CANARY})`;
      const env = { NMIA_DRILL_SIGNING: 'off', NMIA_DRILL_CHROMIUM: CHROMIUM };

      const started = performance.now();
      const files = await writeEvidence(journal, dir, new Redactor().add('DRILL_TOKEN', CANARY), env);
      console.info(`bundle with attestation.pdf written in ${Math.round(performance.now() - started)} ms`);

      expect(files.attestationPdfNotWritten).toBeUndefined();
      expect(files.attestationPdf).toBe(join(dir, 'attestation.pdf'));
      const pdf = await readFile(files.attestationPdf!);
      expect(pdf.subarray(0, 5).toString('latin1')).toBe('%PDF-');
      const pages = pdfPageCount(pdf);
      expect(pages >= 1 && pages <= 2, `${pages} pages`).toBe(true);
      expect(await readFile(files.sha256sums, 'utf8')).toMatch(/^[0-9a-f]{64} {2}attestation\.pdf$/m);
      expect(await verifyEvidence(dir, { env: {} })).toMatchObject({ ok: true });

      // PDF text is compressed glyph runs: the page Chromium printed is where the secret would have been.
      expect(printAttestationPdf).toHaveBeenCalledTimes(1);
      const [printed, path] = vi.mocked(printAttestationPdf).mock.calls[0]!;
      expect(path).toBe(files.attestationPdf);
      expect(printed).toContain('[REDACTED:DRILL_TOKEN]');
      expect(printed).not.toContain(CANARY);
      expect(pdf.toString('latin1')).not.toContain(CANARY);
      // The attestation alone, as report.html opens with it (but for where the full report is).
      expect(printed).not.toContain('id="findings"');
      const report = await readFile(files.html, 'utf8');
      expect(attestationSection(printed)).toBe(
        attestationSection(report).replace('The full report follows.', 'The full report is report.html, in the same bundle.'),
      );
      expect(await readFile(files.attestation!, 'utf8')).not.toContain('not written');
    },
    90_000,
  );
});
