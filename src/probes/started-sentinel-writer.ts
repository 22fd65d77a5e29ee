import type { AcknowledgedSentinel, SentinelPoint } from './recovery-point.ts';

export interface SentinelWriterStats {
  attempted: number;
  acknowledged: number;
  failed: number;
  /** The newest write the app acknowledged. */
  newest?: AcknowledgedSentinel;
  /** One-line causes (never a password). */
  firstFailure?: string;
  lastFailure?: string;
  /** The longest time between two acknowledged writes, or from the last one to stop(). */
  longestGapMs: number;
  startedAt: string;
  stoppedAt?: string;
}

const HISTORY_LIMIT = 100_000;

/** A running RPO writer (ApiSentinelWriter.start); it survives the app going away (failures are counted, writing goes on). */
export class StartedSentinelWriter {
  private readonly intervalMs: number;
  private readonly history: AcknowledgedSentinel[] = [];
  private readonly counters = { attempted: 0, acknowledged: 0, failed: 0 };
  private firstFailure: string | undefined;
  private lastFailure: string | undefined;
  private longestGapMs = 0;
  private lastAckMs: number;
  private readonly startedAt = new Date();
  private stoppedAt: Date | undefined;
  private stopping = false;
  private paused = false;
  private inFlight: Promise<void> | undefined;
  private loop: Promise<void> | undefined;
  private wake: (() => void) | undefined;
  private readonly stoppedListeners: Array<() => void> = [];

  constructor(
    options: { intervalMs?: number },
    /** One committed write; rejects with a one-line cause. */
    private readonly writeOne: () => Promise<SentinelPoint>,
  ) {
    this.intervalMs = options.intervalMs ?? 200;
    this.lastAckMs = this.startedAt.getTime();
  }

  start(): void {
    this.loop ??= this.run();
  }

  onStopped(listener: () => void): void {
    this.stoppedListeners.push(listener);
  }

  /** The newest write the database acknowledged so far. */
  newest(): AcknowledgedSentinel | undefined {
    return this.history.at(-1);
  }

  /** The newest write acknowledged at or before `at` (e.g. the moment the disaster began). */
  newestAcknowledgedBy(at: Date): AcknowledgedSentinel | undefined {
    const limit = at.getTime();
    for (let i = this.history.length - 1; i >= 0; i--) {
      const entry = this.history[i] as AcknowledgedSentinel;
      if (new Date(entry.acknowledgedAt).getTime() <= limit) return entry;
    }
    return undefined;
  }

  stats(): SentinelWriterStats {
    const newest = this.newest();
    const end = this.stoppedAt?.getTime() ?? Date.now();
    return {
      ...this.counters,
      ...(newest ? { newest } : {}),
      ...(this.firstFailure ? { firstFailure: this.firstFailure } : {}),
      ...(this.lastFailure ? { lastFailure: this.lastFailure } : {}),
      longestGapMs: Math.max(this.longestGapMs, end - this.lastAckMs),
      startedAt: this.startedAt.toISOString(),
      ...(this.stoppedAt ? { stoppedAt: this.stoppedAt.toISOString() } : {}),
    };
  }

  /** Holds writes (from a disaster until its verification is done) once the write in flight has finished. */
  async pause(): Promise<void> {
    this.paused = true;
    await this.inFlight;
  }

  resume(): void {
    this.paused = false;
    this.wake?.();
  }

  /** Stops after the write in flight (bounded by the request timeout); returns the final stats. */
  async stop(): Promise<SentinelWriterStats> {
    if (!this.stopping) {
      this.stopping = true;
      this.wake?.();
      await this.loop;
      this.stoppedAt = new Date();
      for (const listener of this.stoppedListeners) listener();
    } else {
      await this.loop;
    }
    return this.stats();
  }

  private async run(): Promise<void> {
    while (!this.stopping) {
      const started = performance.now();
      if (!this.paused) {
        this.inFlight = this.writeOnce();
        await this.inFlight;
        this.inFlight = undefined;
      }
      const wait = this.intervalMs - (performance.now() - started);
      if (wait > 0 && !this.stopping) {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, wait);
          this.wake = () => {
            clearTimeout(timer);
            resolve();
          };
        });
        this.wake = undefined;
      }
    }
  }

  private async writeOnce(): Promise<void> {
    this.counters.attempted++;
    try {
      const point = await this.writeOne();
      const now = Date.now();
      this.longestGapMs = Math.max(this.longestGapMs, now - this.lastAckMs);
      this.lastAckMs = now;
      this.counters.acknowledged++;
      if (this.history.length >= HISTORY_LIMIT) this.history.splice(0, HISTORY_LIMIT / 2);
      this.history.push({ ...point, acknowledgedAt: new Date(now).toISOString() });
    } catch (error) {
      this.fail((error as Error).message.split('\n')[0] as string);
    }
  }

  private fail(cause: string): void {
    this.counters.failed++;
    this.firstFailure ??= cause;
    this.lastFailure = cause;
  }
}
