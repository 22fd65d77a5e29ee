import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO } from '../support/drill-harness.ts';

/** What a drill left on the machine: its workspace dirs and any process started from them. */
function leftovers(drillId: string): string[] {
  const dirs = readdirSync(tmpdir()).filter((name) => name.startsWith(`nmia-drill-${drillId}-`));
  const mark = `nmia-drill-${drillId}-`;
  const processes = execaSync('ps', ['-eo', 'pid,args']).stdout.split('\n').filter((line) => line.includes(mark));
  // App services run from the repo, so look at where each process runs too.
  for (const pid of readdirSync('/proc').filter((name) => /^\d+$/.test(name))) {
    try {
      if (readlinkSync(`/proc/${pid}/cwd`).includes(mark)) processes.push(`pid ${pid} runs in ${readlinkSync(`/proc/${pid}/cwd`)}`);
    } catch {
      // The process ended meanwhile, or is not ours to inspect.
    }
  }
  return [...dirs, ...processes];
}

async function interruptAt(marker: RegExp, signal: NodeJS.Signals, reportDir: string) {
  const child = execa('node', [join(REPO, 'bin/nmia-drill.js'), '--scale', '20000', '--isolation', 'order', '--report-dir', reportDir], { cwd: REPO, reject: false, stdin: 'ignore' });
  let output = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`never saw ${marker} in:\n${output}`)), 120_000);
    child.stderr!.on('data', (chunk: Buffer) => {
      output += chunk.toString();
      if (marker.test(output)) {
        clearTimeout(timer);
        resolve();
      }
    });
  });
  child.kill(signal);
  const result = await child;
  const drillId = /drill ([0-9a-f]{8}):/.exec(output)?.[1] ?? '';
  return { result, drillId };
}

describe('an interrupted drill cleans up and still leaves its journal', () => {
  let reports: string;
  beforeAll(async () => {
    reports = await mkdtemp(join(tmpdir(), 'nmia-drill-interrupt-'));
  });
  afterAll(async () => {
    await rm(reports, { recursive: true, force: true });
  });

  for (const [signal, marker, moment] of [
    ['SIGINT', /seeding 20000 identities/, 'while seeding'],
    ['SIGTERM', /▶ restore-custom \(order\)/, 'during the restore'],
  ] as const) {
    it(`${signal} ${moment}: exit 130, no cluster, process or temp dir left, journal marked interrupted`, async () => {
      const dir = join(reports, signal);
      const { result, drillId } = await interruptAt(marker, signal, dir);
      expect(drillId).toMatch(/^[0-9a-f]{8}$/);
      expect(result.exitCode).toBe(130);
      // Give orphaned children a moment to be reaped before looking for them.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(leftovers(drillId)).toEqual([]);
      const [reportDir] = readdirSync(dir);
      const journal = JSON.parse(readFileSync(join(dir, reportDir!, 'journal.json'), 'utf8')) as { outcome: string; interrupted?: boolean; error?: string };
      expect(journal).toMatchObject({ outcome: 'error', interrupted: true, error: `interrupted by ${signal}` });
    });
  }
});
