/**
 * Everything a drill creates registers how to remove it here, so cleanup runs on success,
 * on failure, on Ctrl-C and even when the process exits abruptly.
 */
export interface CleanupHandle {
  readonly name: string;
  /** Runs the cleanup once; later calls are no-ops. */
  run(): Promise<void>;
  /** Forget the cleanup without running it (the owner already cleaned up). */
  release(): void;
}

interface Entry {
  name: string;
  cleanup: () => Promise<void>;
  /** Last resort during process 'exit', where nothing async can run. */
  emergency?: () => void;
  done: boolean;
}

export class CleanupRegistry {
  private readonly entries: Entry[] = [];
  private exitHookInstalled = false;

  register(name: string, cleanup: () => Promise<void>, emergency?: () => void): CleanupHandle {
    const entry: Entry = emergency ? { name, cleanup, emergency, done: false } : { name, cleanup, done: false };
    this.entries.push(entry);
    this.installExitHook();
    return {
      name,
      run: async () => {
        if (entry.done) return;
        entry.done = true;
        this.remove(entry);
        await entry.cleanup();
      },
      release: () => {
        entry.done = true;
        this.remove(entry);
      },
    };
  }

  get pending(): string[] {
    return this.entries.map((entry) => entry.name);
  }

  /** Runs every pending cleanup, newest first, collecting failures instead of stopping at the first. */
  async runAll(): Promise<Error[]> {
    const failures: Error[] = [];
    while (this.entries.length > 0) {
      const entry = this.entries.pop()!;
      if (entry.done) continue;
      entry.done = true;
      try {
        await entry.cleanup();
      } catch (error) {
        failures.push(new Error(`cleanup of ${entry.name} failed: ${(error as Error).message}`, { cause: error }));
      }
    }
    return failures;
  }

  private remove(entry: Entry): void {
    const at = this.entries.indexOf(entry);
    if (at >= 0) this.entries.splice(at, 1);
  }

  private installExitHook(): void {
    if (this.exitHookInstalled) return;
    this.exitHookInstalled = true;
    process.on('exit', () => {
      for (const entry of [...this.entries].reverse()) {
        if (entry.done || !entry.emergency) continue;
        try {
          entry.emergency();
        } catch {
          // Nothing more can be done while the process is exiting.
        }
      }
    });
  }
}

/** One registry per process: signal handlers and providers must agree on it. */
export const cleanupRegistry = new CleanupRegistry();
