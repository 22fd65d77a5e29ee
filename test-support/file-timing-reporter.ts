import { relative } from 'node:path';
import type { Reporter, TestModule } from 'vitest/node';

/**
 * Wall-clock time of each test file from its start to its end, hooks, lock waits and collection included
 * (vitest's own file duration leaves out what runs before the first test). CI prints the slowest files,
 * so a suite that grows past its time budget names its cause.
 */
export default class FileTimingReporter implements Reporter {
  private readonly started = new Map<string, number>();
  private readonly spans: Array<{ file: string; startMs: number; endMs: number }> = [];
  private runStart = Date.now();

  onTestRunStart(): void {
    this.runStart = Date.now();
  }

  onTestModuleQueued(module: TestModule): void {
    this.started.set(module.moduleId, Date.now());
  }

  onTestModuleEnd(module: TestModule): void {
    const startMs = this.started.get(module.moduleId) ?? this.runStart;
    this.spans.push({ file: relative(process.cwd(), module.moduleId), startMs, endMs: Date.now() });
  }

  onTestRunEnd(): void {
    const slowest = [...this.spans].sort((a, b) => b.endMs - b.startMs - (a.endMs - a.startMs)).slice(0, 15);
    if (slowest.length === 0) return;
    const seconds = (ms: number) => `${(ms / 1000).toFixed(0).padStart(5)} s`;
    const lines = slowest.map(
      (span) => `${seconds(span.endMs - span.startMs)}  (from ${seconds(span.startMs - this.runStart).trim()})  ${span.file}`,
    );
    process.stdout.write(`\n[timing] slowest test files, wall clock with hooks:\n${lines.join('\n')}\n`);
  }
}
