import { rmSync } from 'node:fs';
import { access, constants, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { HarnessUnavailableError } from '../errors/harness-unavailable-error.ts';
import { onPath, withSystemPath } from '../prerequisites/system-prerequisites.ts';
import { cleanupRegistry } from '../lifecycle/cleanup-registry.ts';
import { StartedHeadlessChromium } from './started-headless-chromium.ts';

export const CHROMIUM_ARGS: readonly string[] = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];
const CHROMIUM = 'Chromium (the "UI loads" checklist item)';
const INSTALL_FIX = 'apt-get install -y --no-install-recommends chromium, or set NMIA_DRILL_CHROMIUM to a Chromium binary';

/**
 * The machine's own Chromium, driven by playwright-core. Nothing here ever downloads a browser:
 * the binary is `NMIA_DRILL_CHROMIUM` or /usr/bin/chromium, and a missing one is an EnvironmentError.
 */
export class HeadlessChromium {
  /** NMIA_DRILL_CHROMIUM, else `chromium` on PATH, as the prerequisite check finds it. */
  static executablePath(env: NodeJS.ProcessEnv = process.env): string {
    return env.NMIA_DRILL_CHROMIUM || onPath('chromium', withSystemPath(env)) || '/usr/bin/chromium';
  }

  /**
   * A fresh profile in a temp dir (removed by close(), also on Ctrl-C and exit). `part` names what the browser
   * is for in the HarnessUnavailableError a missing or failing one raises.
   */
  static async launch(options: { executablePath?: string; timeoutMs?: number; part?: string } = {}): Promise<StartedHeadlessChromium> {
    const executablePath = options.executablePath ?? HeadlessChromium.executablePath();
    const part = options.part ?? CHROMIUM;
    try {
      await access(executablePath, constants.X_OK);
    } catch {
      throw new HarnessUnavailableError(part, `no executable at ${executablePath}`, INSTALL_FIX);
    }
    const profileDir = await mkdtemp(join(tmpdir(), 'nmia-drill-chromium-'));
    let started: StartedHeadlessChromium | undefined;
    const cleanup = cleanupRegistry.register(
      `chromium profile ${profileDir}`,
      async () => {
        await started?.context.close().catch(() => undefined);
        await rm(profileDir, { recursive: true, force: true });
      },
      () => rmSync(profileDir, { recursive: true, force: true }),
    );
    try {
      // Loaded on demand: playwright-core is a large module graph only the UI probe and attestation.pdf need.
      const { chromium } = await import('playwright-core');
      const context = await chromium.launchPersistentContext(profileDir, {
        executablePath,
        headless: true,
        args: [...CHROMIUM_ARGS],
        timeout: options.timeoutMs ?? 30_000,
        // No downloads, no service workers: nothing leaves the page we point it at.
        acceptDownloads: false,
        serviceWorkers: 'block',
        // Chromium keeps its singleton socket in a dir of its own under TMPDIR, left behind when it is killed:
        // inside the profile, it goes with the profile.
        env: { ...process.env, TMPDIR: profileDir },
      });
      started = new StartedHeadlessChromium(context, profileDir, executablePath, cleanup);
      return started;
    } catch (error) {
      await cleanup.run().catch(() => undefined);
      throw new HarnessUnavailableError(
        part,
        `${executablePath} did not start: ${(error as Error).message.split('\n')[0]}`,
        INSTALL_FIX,
        error,
      );
    }
  }
}
