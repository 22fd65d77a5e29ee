import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { setTimeout as sleep } from 'node:timers/promises';

export interface GateWait {
  before: string;
  waitedMs: number;
  /** Cores busy over the last 3 s sample, machine-wide (the bench is idle while it waits). */
  busyCores: number;
  quiet: boolean;
}

const SAMPLE_MS = 3_000;
/** Less than this, machine-wide, is a quiet machine: the bench's own idle services stay well below it. */
const QUIET_BUSY_CORES = 0.35;

async function cpuTicks(): Promise<{ busy: number; total: number }> {
  // First line of /proc/stat: cpu user nice system idle iowait irq softirq steal guest guest_nice.
  const fields = ((await readFile('/proc/stat', 'utf8')).split('\n')[0] ?? '').trim().split(/\s+/).slice(1, 9).map(Number);
  const total = fields.reduce((sum, value) => sum + value, 0);
  const idle = (fields[3] ?? 0) + (fields[4] ?? 0);
  return { busy: total - idle, total };
}

async function busyCores(): Promise<number> {
  const before = await cpuTicks();
  await sleep(SAMPLE_MS);
  const after = await cpuTicks();
  const total = after.total - before.total;
  return total > 0 ? ((after.busy - before.busy) / total) * availableParallelism() : 0;
}

/**
 * Other helpers share this machine; a timing taken while they compile or run drills measures them.
 * Before each measurement the bench waits (up to a bound) until the machine's CPUs are nearly idle
 * (the bench itself is idle then), and records what it saw, so RESULTS.md says how quiet each number was.
 */
export class QuietGate {
  readonly waits: GateWait[] = [];

  private waitedMs = 0;

  /** `maxWaitMs` bounds each wait, `budgetMs` all of them together, so a busy machine cannot stall a run. */
  constructor(
    private readonly maxWaitMs: number,
    private readonly budgetMs: number,
    private readonly log: (line: string) => void,
  ) {}

  async pass(before: string): Promise<void> {
    if (this.maxWaitMs <= 0) return;
    const started = performance.now();
    const limit = Math.min(this.maxWaitMs, Math.max(0, this.budgetMs - this.waitedMs));
    let busy = await busyCores();
    let announced = false;
    while (busy >= QUIET_BUSY_CORES && performance.now() - started < limit) {
      if (!announced) this.log(`    waiting for a quiet machine before ${before} (${busy.toFixed(2)} cores busy)`);
      announced = true;
      busy = await busyCores();
    }
    const waitedMs = performance.now() - started;
    this.waitedMs += waitedMs;
    this.waits.push({ before, waitedMs, busyCores: Math.round(busy * 100) / 100, quiet: busy < QUIET_BUSY_CORES });
  }
}
