import { rm, writeFile } from 'node:fs/promises';
import { HarnessUnavailableError } from '../errors/harness-unavailable-error.ts';
import { HeadlessChromium } from '../probes/headless-chromium.ts';
import type { StartedHeadlessChromium } from '../probes/started-headless-chromium.ts';
import { formatDuration } from './timing-measures.ts';

/*
 * attestation.pdf: the attestation page alone (renderHtmlReport's attestationOnly page, from the redacted
 * journal) printed to A4 by the machine's headless Chromium. Printing is best effort: without a working
 * Chromium the bundle has no PDF and says why in one line; the drill's outcome never depends on it.
 */

export const ATTESTATION_PDF_FILE = 'attestation.pdf';
/** Launch, layout and print together; past it the PDF is "not written", never a hung drill. */
export const ATTESTATION_PDF_TIMEOUT_MS = 30_000;
/** Past it, a browser that will not close or finish launching is left to playwright's exit handler and the cleanup registry. */
const CLOSE_TIMEOUT_MS = 5_000;

export type AttestationPdf = { written: true; path: string } | { written: false; notWritten: string };

/** Pages in a PDF Chromium printed: its page objects (Skia writes them as plain dictionaries). */
export function pdfPageCount(pdf: Buffer): number {
  return pdf.toString('latin1').match(/\/Type\s*\/Page(?![a-zA-Z])/g)?.length ?? 0;
}

function notWritten(cause: string, fix: string): AttestationPdf {
  return { written: false, notWritten: `${ATTESTATION_PDF_FILE} not written: ${cause} (fix: ${fix})` };
}

function within<T>(work: Promise<T>, ms: number): Promise<T | 'timeout'> {
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<'timeout'>((resolve) => {
    timer = setTimeout(() => resolve('timeout'), ms);
  });
  return Promise.race([work, deadline]).finally(() => clearTimeout(timer));
}

/**
 * Prints `html` (a self-contained page, already redacted) to `path` as A4 in one Chromium launch, closed
 * afterwards whatever happens. Never throws: a missing, failing or slow browser gives `notWritten`, the
 * one line (cause and fix) the bundle's attestation.md, summary.md and console carry instead.
 */
export async function printAttestationPdf(
  html: string,
  path: string,
  options: { env?: NodeJS.ProcessEnv; timeoutMs?: number } = {},
): Promise<AttestationPdf> {
  const timeoutMs = options.timeoutMs ?? ATTESTATION_PDF_TIMEOUT_MS;
  // A PDF from an earlier write of this bundle must not outlive a print that fails now.
  await rm(path, { force: true }).catch(() => undefined);
  if (options.env?.NMIA_DRILL_ATTESTATION_PDF === 'off')
    return notWritten('turned off (NMIA_DRILL_ATTESTATION_PDF=off)', 'unset NMIA_DRILL_ATTESTATION_PDF to print it');
  const executablePath = HeadlessChromium.executablePath(options.env);
  const retryFix = `check that ${executablePath} runs headless on this machine, or set NMIA_DRILL_CHROMIUM to a Chromium that does`;
  let browser: StartedHeadlessChromium | undefined;
  let abandoned = false;
  const printing = (async () => {
    const launched = await HeadlessChromium.launch({ executablePath, timeoutMs, part: 'Chromium' });
    if (abandoned) {
      // Started after the deadline: nobody else will close it.
      await launched.close();
      throw new Error('launched after the deadline');
    }
    browser = launched;
    const page = await browser.page();
    // No file and no network: the page is self-contained (its CSP allows inline styles only).
    await page.setContent(html, { waitUntil: 'load', timeout: timeoutMs });
    return page.pdf({ format: 'A4', printBackground: true });
  })();
  // After the deadline its rejection (the browser closed under it) is expected, not unhandled.
  printing.catch(() => undefined);
  try {
    const pdf = await within(printing, timeoutMs);
    if (pdf === 'timeout') return notWritten(`Chromium did not print it within ${formatDuration(timeoutMs)}`, retryFix);
    if (pdf.subarray(0, 5).toString('latin1') !== '%PDF-') return notWritten('Chromium printed something that is not a PDF', retryFix);
    await writeFile(path, pdf);
    return { written: true, path };
  } catch (error) {
    if (error instanceof HarnessUnavailableError) return notWritten(error.message, error.fix);
    return notWritten(`Chromium failed to print it: ${String((error as Error).message).split('\n')[0]}`, retryFix);
  } finally {
    abandoned = true;
    if (browser)
      await within(
        browser.close().catch(() => undefined),
        CLOSE_TIMEOUT_MS,
      );
    // A launch still under way ends by its own timeout, killing the browser and removing its profile: wait for that.
    await within(
      printing.catch(() => undefined),
      CLOSE_TIMEOUT_MS,
    );
  }
}
