import type { BrowserContext, Page } from 'playwright-core';
import type { CleanupHandle } from '../lifecycle/cleanup-registry.ts';

/** A running headless Chromium with its own temp profile; `close()` ends it and removes the profile. */
export class StartedHeadlessChromium {
  constructor(
    readonly context: BrowserContext,
    readonly profileDir: string,
    readonly executablePath: string,
    private readonly cleanup: CleanupHandle,
  ) {}

  async page(): Promise<Page> {
    return this.context.pages()[0] ?? (await this.context.newPage());
  }

  async close(): Promise<void> {
    await this.cleanup.run();
  }
}
