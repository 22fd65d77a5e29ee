import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { DrillError } from '../errors/drill-error.ts';
import { HeadlessChromium } from './headless-chromium.ts';
import { ProbeFailure } from './probe-failure.ts';
import { ProbeHttp } from './probe-http.ts';
import type { ProbeSession } from './probe-session.ts';
import { REFERENCE_UI, type ChecklistProbe, type ProbeVerdict } from './probe.ts';

/**
 * "UI loads at http://host:5173": a real headless Chromium signs in through the page
 * (`/#username=…&password=…`), waits for body[data-state=ready], and the enclave rows it renders
 * must be the enclaves GET /api/enclaves returns. A screenshot is kept either way. The sign-in path and
 * the selectors are the reference UI's unless the target names others (probes.ui in a drill config).
 */
export class UiLoadsProbe implements ChecklistProbe {
  readonly id = 'ui-loads' as const;

  item(session: ProbeSession): string {
    return `UI loads at ${ProbeHttp.displayUrl(session.uiUrl('/'))}`;
  }

  async check(session: ProbeSession): Promise<ProbeVerdict> {
    // Plain HTTP first: "connection refused" is clearer from here than from a browser.
    const page0 = await session.http.request('GET', session.uiUrl('/'), { service: 'ui' });
    ProbeHttp.expectStatus(page0, 200);

    const signIn = session.target.ui?.signIn ?? REFERENCE_UI.signIn;
    const selectors = { ...REFERENCE_UI.selectors, ...session.target.ui?.selectors };
    let browser;
    try {
      browser = await HeadlessChromium.launch({ timeoutMs: session.timeouts.uiMs });
    } catch (error) {
      const fix = error instanceof DrillError ? ` (fix: ${error.fix})` : '';
      throw ProbeFailure.error(`${(error as Error).message}${fix}`);
    }
    const evidence: Record<string, unknown> = {};
    try {
      const page = await browser.page();
      const blocked = await UiLoadsProbe.confineTo(page, [new URL(session.target.uiUrl).origin, new URL(session.target.apiUrl).origin]);
      const consoleErrors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' && consoleErrors.length < 5) consoleErrors.push(message.text().slice(0, 200));
      });
      const { username, password } = session.target.admin;
      const url = session.uiUrl(
        signIn.replace('{username}', encodeURIComponent(username)).replace('{password}', encodeURIComponent(password)),
      );
      const started = performance.now();
      try {
        const response = await page.goto(url, { timeout: session.timeouts.uiMs, waitUntil: 'domcontentloaded' });
        evidence.pageStatus = response?.status() ?? null;
        await page.waitForSelector(`${selectors.ready}, ${selectors.error}`, {
          timeout: Math.max(1, session.timeouts.uiMs - (performance.now() - started)),
        });
      } catch (error) {
        evidence.state = await UiLoadsProbe.state(page);
        evidence.statusText = await UiLoadsProbe.statusText(page, selectors.status);
        evidence.screenshot = await UiLoadsProbe.screenshot(page, session.target.evidenceDir);
        const timedOut = (error as Error).name === 'TimeoutError';
        throw ProbeFailure.failed(
          timedOut
            ? `the UI did not reach ${selectors.ready} within ${session.timeouts.uiMs} ms (state ${String(evidence.state ?? 'none')}: ${String(evidence.statusText ?? '')})`
            : `the browser could not load ${ProbeHttp.displayUrl(url)}: ${(error as Error).message.split('\n')[0]}`,
          evidence,
        );
      }
      evidence.renderMs = Math.round(performance.now() - started);
      const failedToLoad = (await page.locator(selectors.error).count()) > 0;
      evidence.state = (await UiLoadsProbe.state(page)) ?? (failedToLoad ? 'error' : 'ready');
      evidence.statusText = await UiLoadsProbe.statusText(page, selectors.status);
      evidence.browser = /(?:Headless)?Chrome\/[\d.]+/.exec(await page.evaluate<string>('navigator.userAgent'))?.[0] ?? 'unknown';
      const rows = (await page.locator(selectors.enclaveRow).allTextContents()).map((text) => text.trim());
      evidence.rowsSeen = rows.length;
      evidence.screenshot = await UiLoadsProbe.screenshot(page, session.target.evidenceDir);
      if (blocked.length > 0) evidence.blockedRequests = blocked.slice(0, 5);
      if (consoleErrors.length > 0) evidence.consoleErrors = consoleErrors;

      if (failedToLoad) throw ProbeFailure.failed(`the UI shows an error after sign-in: ${String(evidence.statusText)}`, evidence);
      if (rows.length === 0) throw ProbeFailure.failed(`the UI is ready but rendered no enclave rows (${selectors.enclaveRow})`, evidence);

      let apiNames: string[];
      try {
        const { body } = await session.getJson<Array<{ name?: unknown }>>('/api/enclaves');
        apiNames = (Array.isArray(body) ? body : []).map((e) => String(e.name ?? '').trim());
      } catch (error) {
        throw ProbeFailure.failed(
          `the UI rendered ${rows.length} enclave rows, but they could not be compared with the api: ${(error as Error).message}`,
          evidence,
        );
      }
      evidence.apiEnclaves = apiNames.length;
      const missing = multisetMinus(apiNames, rows);
      const extra = multisetMinus(rows, apiNames);
      if (missing.length > 0 || extra.length > 0) {
        evidence.missingInUi = missing.slice(0, 5);
        evidence.notInApi = extra.slice(0, 5);
        throw ProbeFailure.failed(
          `the UI shows ${rows.length} enclave rows, the api lists ${apiNames.length}: ${missing.length} missing in the UI, ${extra.length} not from the api`,
          evidence,
        );
      }
      return {
        outcome: 'passed',
        summary: `Chromium rendered ${rows.length} enclave rows, the same as GET /api/enclaves, in ${String(evidence.renderMs)} ms`,
        evidence,
      };
    } finally {
      await browser.close();
    }
  }

  /** Only the ui's and the api's origins are reachable from the page; anything else is aborted and recorded. */
  private static async confineTo(page: Page, origins: string[]): Promise<string[]> {
    const blocked: string[] = [];
    await page.route('**/*', async (route) => {
      const url = route.request().url();
      if (url.startsWith('data:') || url.startsWith('blob:')) return route.continue();
      let requestOrigin: string | undefined;
      try {
        requestOrigin = new URL(url).origin;
      } catch {
        requestOrigin = undefined;
      }
      if (requestOrigin !== undefined && origins.includes(requestOrigin)) return route.continue();
      blocked.push(ProbeHttp.displayUrl(url));
      return route.abort('blockedbyclient');
    });
    return blocked;
  }

  private static async state(page: Page): Promise<string | null> {
    return page
      .locator('body')
      .getAttribute('data-state', { timeout: 1_000 })
      .catch(() => null);
  }

  private static async statusText(page: Page, selector: string): Promise<string | null> {
    return page
      .locator(selector)
      .first()
      .textContent({ timeout: 1_000 })
      .then((text) => text?.trim().slice(0, 200) ?? null)
      .catch(() => null);
  }

  private static async screenshot(page: Page, dir: string): Promise<string | null> {
    await mkdir(dir, { recursive: true });
    const path = join(dir, 'ui-loads.png');
    return page.screenshot({ path, fullPage: true, timeout: 10_000 }).then(
      () => path,
      () => null,
    );
  }
}

/** Items of `a` not matched one-for-one in `b`. */
function multisetMinus(a: string[], b: string[]): string[] {
  const left = new Map<string, number>();
  for (const item of b) left.set(item, (left.get(item) ?? 0) + 1);
  return a.filter((item) => {
    const n = left.get(item) ?? 0;
    if (n === 0) return true;
    left.set(item, n - 1);
    return false;
  });
}
