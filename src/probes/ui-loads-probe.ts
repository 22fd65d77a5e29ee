import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { Page } from 'playwright-core';
import { DrillError } from '../errors/drill-error.ts';
import { HeadlessChromium } from './headless-chromium.ts';
import { ProbeFailure } from './probe-failure.ts';
import { ProbeHttp } from './probe-http.ts';
import type { ProbeSession } from './probe-session.ts';
import { type ChecklistProbe, NMIA_API_ROUTES, NMIA_UI, type ProbeVerdict } from './probe.ts';

/**
 * "UI loads at http://host:5173", and an admin signs in through it: a real headless Chromium opens the
 * login page, types the pre-disaster credentials into the form and submits it, as a person would.
 * Signed in (the page leaves the login path), it opens the enclaves page, and the enclave rows it
 * renders must be the enclaves GET /api/v1/enclaves/ returns. A screenshot is kept either way. Paths
 * and selectors are the real NMIA UI's (NMIA_UI) unless the target names others (probes.ui in a config).
 */
export class UiLoadsProbe implements ChecklistProbe {
  readonly id = 'ui-loads' as const;

  item(session: ProbeSession): string {
    return `UI loads at ${ProbeHttp.displayUrl(session.uiUrl('/'))} and the admin signs in through its login page`;
  }

  async check(session: ProbeSession): Promise<ProbeVerdict> {
    // Plain HTTP first: "connection refused" is clearer from here than from a browser.
    const page0 = await session.http.request('GET', session.uiUrl('/'), { service: 'ui' });
    ProbeHttp.expectStatus(page0, 200);

    const settings = session.target.ui ?? {};
    const loginPath = settings.loginPath ?? NMIA_UI.loginPath;
    const enclavesPath = settings.enclavesPath ?? NMIA_UI.enclavesPath;
    const tokenKey = settings.tokenKey ?? NMIA_UI.tokenKey;
    const selectors = { ...NMIA_UI.selectors, ...settings.selectors };
    let browser;
    try {
      browser = await HeadlessChromium.launch({ timeoutMs: session.timeouts.uiMs });
    } catch (error) {
      const fix = error instanceof DrillError ? ` (fix: ${error.fix})` : '';
      throw ProbeFailure.error(`${(error as Error).message}${fix}`);
    }
    const evidence: Record<string, unknown> = {};
    const started = performance.now();
    const left = (): number => Math.max(1, session.timeouts.uiMs - (performance.now() - started));
    try {
      const page = await browser.page();
      const blocked = await UiLoadsProbe.confineTo(page, [new URL(session.target.uiUrl).origin, new URL(session.target.apiUrl).origin]);
      const consoleErrors: string[] = [];
      page.on('console', (message) => {
        if (message.type() === 'error' && consoleErrors.length < 5) consoleErrors.push(message.text().slice(0, 200));
      });
      const apiCalls: string[] = [];
      page.on('response', (response) => {
        const url = new URL(response.url());
        if (url.pathname.startsWith('/api') && apiCalls.length < 10)
          apiCalls.push(`${response.request().method()} ${url.pathname} ${response.status()}`);
      });
      const fail = async (summary: string): Promise<never> => {
        evidence.url = ProbeHttp.displayUrl(page.url());
        evidence.messages = await UiLoadsProbe.messages(page);
        evidence.screenshot = await UiLoadsProbe.screenshot(page, session.target.evidenceDir);
        if (apiCalls.length > 0) evidence.apiCalls = apiCalls;
        if (consoleErrors.length > 0) evidence.consoleErrors = consoleErrors;
        if (blocked.length > 0) evidence.blockedRequests = blocked.slice(0, 5);
        throw ProbeFailure.failed(summary, evidence);
      };

      // 1. The login page and its form.
      const loginUrl = session.uiUrl(loginPath);
      try {
        const response = await page.goto(loginUrl, { timeout: left(), waitUntil: 'domcontentloaded' });
        evidence.loginPageStatus = response?.status() ?? null;
        await page.waitForSelector(selectors.username, { timeout: left() });
      } catch (error) {
        return await fail(
          `the login page ${ProbeHttp.displayUrl(loginUrl)} shows no sign-in form (${selectors.username}): ${oneLine(error)}`,
        );
      }

      // 2. Sign in as a person would: type, then submit.
      const { username, password } = session.target.admin;
      try {
        await page.fill(selectors.username, username, { timeout: left() });
        await page.fill(selectors.password, password, { timeout: left() });
        await page.click(selectors.submit, { timeout: left() });
      } catch (error) {
        return await fail(`the sign-in form could not be filled in and submitted: ${oneLine(error)}`);
      }
      const signedIn = await Promise.race([
        page.waitForURL((url) => !url.pathname.startsWith(loginPath), { timeout: left() }).then(() => true),
        page.waitForSelector(selectors.error, { timeout: left() }).then(() => false),
      ]).catch(() => undefined);
      evidence.signInMs = Math.round(performance.now() - started);
      if (signedIn !== true) {
        const errors = await UiLoadsProbe.messages(page, selectors.error);
        const why =
          signedIn === false
            ? `the UI refused the sign-in: ${errors.join(' | ') || 'an error alert'}`
            : await UiLoadsProbe.stuck(page, session.timeouts.uiMs);
        return await fail(`${username} could not sign in through the UI: ${why}`);
      }
      evidence.afterSignIn = new URL(page.url()).pathname;
      evidence.tokenStored = await page.evaluate<boolean>(`localStorage.getItem(${JSON.stringify(tokenKey)}) !== null`).catch(() => null);

      // 3. The enclaves page, compared with the api.
      const enclavesUrl = session.uiUrl(enclavesPath);
      try {
        await page.goto(enclavesUrl, { timeout: left(), waitUntil: 'domcontentloaded' });
        await page.waitForSelector(`${selectors.enclaveRow}, ${selectors.error}`, { timeout: left() });
      } catch (error) {
        const rowsSeen = await page
          .locator(selectors.enclaveRow)
          .count()
          .catch(() => 0);
        return await fail(`signed in, but ${ProbeHttp.displayUrl(enclavesUrl)} rendered no enclave rows (${rowsSeen}): ${oneLine(error)}`);
      }
      evidence.renderMs = Math.round(performance.now() - started);
      evidence.browser = /(?:Headless)?Chrome\/[\d.]+/.exec(await page.evaluate<string>('navigator.userAgent'))?.[0] ?? 'unknown';
      if ((await page.locator(selectors.error).count()) > 0) {
        return await fail(
          `signed in, but the enclaves page shows an error: ${(await UiLoadsProbe.messages(page, selectors.error)).join(' | ')}`,
        );
      }
      const rows = (await page.locator(selectors.enclaveRow).allTextContents()).map((text) => text.trim());
      evidence.rowsSeen = rows.length;
      evidence.screenshot = await UiLoadsProbe.screenshot(page, session.target.evidenceDir);
      if (blocked.length > 0) evidence.blockedRequests = blocked.slice(0, 5);
      if (consoleErrors.length > 0) evidence.consoleErrors = consoleErrors;

      let apiNames: string[];
      try {
        const { body } = await session.getJson<Array<{ name?: unknown }>>(NMIA_API_ROUTES.enclaves);
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
        summary: `${username} signed in through the login form; Chromium rendered ${rows.length} enclave rows, the same as GET ${NMIA_API_ROUTES.enclaves}, in ${String(evidence.renderMs)} ms`,
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

  /** The texts of the page's alerts (MUI Alerts have role=alert), or of `selector`'s elements. */
  private static async messages(page: Page, selector = '[role=alert]'): Promise<string[]> {
    const texts = await page
      .locator(selector)
      .allTextContents()
      .catch(() => [] as string[]);
    return texts
      .map((text) => text.trim().slice(0, 200))
      .filter((text) => text !== '')
      .slice(0, 5);
  }

  /** Why a submitted form led nowhere: a blank page (the app crashed) or a form still waiting. */
  private static async stuck(page: Page, timeoutMs: number): Promise<string> {
    // What a person sees (innerText: no script text), so an app that unmounted itself reads as blank.
    const text = await page.evaluate<string>('document.body ? document.body.innerText : ""').catch(() => '');
    if (text.trim() === '') return 'the page went blank after submitting (the UI crashed)';
    return `still on the login page after ${timeoutMs} ms`;
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

function oneLine(error: unknown): string {
  return (error instanceof Error ? error.message : String(error)).split('\n')[0] ?? '';
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
