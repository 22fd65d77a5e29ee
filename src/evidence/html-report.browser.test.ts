import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pdfPageCount } from './attestation-pdf.ts';
import { renderHtmlReport } from './html-report.ts';
import { HOSTILE, syntheticJournal } from '../../test-support/synthetic-journal.ts';
import type { Journal } from './journal.ts';

/** A heavy drill for the page budget: many findings of every kind, many procedures left out, long reasons. */
function heavyJournal(): Journal {
  const journal = syntheticJournal();
  const [template] = journal.findings;
  journal.findings = Array.from({ length: 40 }, (_, index) => ({
    ...template!,
    id: `F${String(index + 1).padStart(2, '0')}`,
    kind: (['runbook', 'application', 'environment'] as const)[index % 3]!,
    title: `finding ${index + 1}: ${'a long title that wraps over the line '.repeat(3)}`,
  }));
  for (let index = 0; index < 12; index++)
    journal.procedures.push({
      ...journal.procedures[0]!,
      id: `proc-${index}`,
      mode: index % 2 === 0 ? 'order' : 'alone',
      outcome: 'not-run',
      reason: `not selected: ${'a reason long enough to wrap '.repeat(3)}${index}`,
    });
  return journal;
}

/*
 * The report in a real headless browser: it must load with no request but its own file, run no script
 * even with hostile journal text, lay out its charts, and print. Needs Debian's chromium and
 * playwright-core (never a downloaded browser); without them the test says so and skips.
 */
const CHROMIUM = process.env.NMIA_DRILL_CHROMIUM ?? '/usr/bin/chromium';
const playwright = await import('playwright-core').catch(() => undefined);
const skipReason = !existsSync(CHROMIUM)
  ? `no browser at ${CHROMIUM} (apt-get install chromium)`
  : !playwright
    ? 'playwright-core is not installed'
    : undefined;
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-first-run',
];

describe(`report.html in headless chromium${skipReason ? ` (skipped: ${skipReason})` : ''}`, () => {
  let work: string;
  /** Kept after the run on purpose (one fixed dir, overwritten each run): the screenshot and PDF are for a person to look at. */
  const keep = join(tmpdir(), 'nmia-drill-html-screenshot');
  let browser: Awaited<ReturnType<NonNullable<typeof playwright>['chromium']['launch']>> | undefined;

  beforeAll(async () => {
    if (skipReason) return;
    work = await mkdtemp(join(tmpdir(), 'nmia-drill-html-'));
    await mkdir(keep, { recursive: true });
    browser = await playwright!.chromium.launch({ executablePath: CHROMIUM, args: FLAGS });
  }, 60_000);

  afterAll(async () => {
    await browser?.close();
    if (work) await rm(work, { recursive: true, force: true });
  });

  it.skipIf(skipReason !== undefined)(
    'loads with no other request, runs no script, shows hostile text as text, lays out the charts and prints',
    async () => {
      const file = join(work, 'report.html');
      await writeFile(file, renderHtmlReport(syntheticJournal()));
      const page = await browser!.newPage({ viewport: { width: 1200, height: 900 } });
      const requests: string[] = [];
      const dialogs: string[] = [];
      page.on('request', (request) => requests.push(request.url()));
      page.on('dialog', (dialog) => {
        dialogs.push(dialog.message());
        void dialog.dismiss();
      });
      await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });

      expect(requests).toEqual([pathToFileURL(file).href]);
      expect(dialogs).toEqual([]);
      // A string, because this project's TypeScript has no DOM types; it runs in the page.
      const dom = (await page.evaluate(`({
      scripts: document.scripts.length,
      images: document.images.length,
      text: document.body.innerText,
      bars: [...document.querySelectorAll('#timeline rect')].map((rect) => rect.getBoundingClientRect().width),
      gauges: document.querySelectorAll('#timing svg').length,
      findingsTop: document.querySelector('#findings').getBoundingClientRect().top,
      timelineTop: document.querySelector('#timeline').getBoundingClientRect().top,
    })`)) as { scripts: number; images: number; text: string; bars: number[]; gauges: number; findingsTop: number; timelineTop: number };
      expect(dom.scripts).toBe(0);
      expect(dom.images).toBe(0);
      expect(dom.text).toContain('<script>alert("x")</script>');
      expect(dom.text).toContain(HOSTILE.slice(0, 40));
      expect(dom.bars).toHaveLength(3);
      expect(dom.bars.every((width) => width > 1)).toBe(true);
      expect(dom.gauges).toBe(2);
      expect(dom.findingsTop).toBeLessThan(dom.timelineTop);

      const screenshot = join(keep, 'report.png');
      await page.screenshot({ path: screenshot, fullPage: true });
      expect((await stat(screenshot)).size).toBeGreaterThan(10_000);

      await page.emulateMedia({ media: 'print' });
      expect(await page.evaluate(`getComputedStyle(document.querySelector('pre')).maxHeight`)).toBe('none');
      const pdf = join(keep, 'report.pdf');
      await page.pdf({ path: pdf, format: 'A4', printBackground: true });
      expect((await stat(pdf)).size).toBeGreaterThan(10_000);
      console.info(`report.html screenshot and PDF kept in ${keep}`);
      await page.close();
    },
    60_000,
  );

  it.skipIf(skipReason !== undefined)(
    'the attestation prints on at most two A4 pages, even for a heavy drill; the long report follows on its own pages',
    async () => {
      const page = await browser!.newPage();
      const print = async (markup: string, name: string) => {
        const file = join(work, `${name}.html`);
        await writeFile(file, markup);
        await page.goto(pathToFileURL(file).href, { waitUntil: 'load' });
        const path = join(keep, `${name}.pdf`);
        await page.pdf({ path, format: 'A4', printBackground: true });
        return pdfPageCount(await readFile(path));
      };
      const attestations = [await print(renderHtmlReport(syntheticJournal(), { attestationOnly: true }), 'attestation')];
      attestations.push(await print(renderHtmlReport(heavyJournal(), { attestationOnly: true }), 'attestation-heavy'));
      const full = await print(renderHtmlReport(heavyJournal()), 'report-heavy');
      expect(
        attestations.every((pages) => pages >= 1 && pages <= 2),
        `attestation pages: ${attestations.join(', ')}`,
      ).toBe(true);
      // The counter sees more than two pages where there are: the full report is much longer.
      expect(full).toBeGreaterThan(attestations[1]! + 1);
      // In the full report the attestation comes first and ends its page.
      await page.goto(pathToFileURL(join(work, 'report-heavy.html')).href, { waitUntil: 'load' });
      await page.emulateMedia({ media: 'print' });
      expect(await page.evaluate(`document.body.firstElementChild.id`)).toBe('attestation');
      expect(await page.evaluate(`getComputedStyle(document.querySelector('#attestation')).breakAfter`)).toBe('page');
      console.info(`attestation PDFs (${attestations.join(', ')} pages; full report ${full}) kept in ${keep}`);
      await page.close();
    },
    60_000,
  );
});
