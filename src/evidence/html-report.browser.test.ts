import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { renderHtmlReport } from './html-report.ts';
import { HOSTILE, syntheticJournal } from '../../test-support/synthetic-journal.ts';

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
});
