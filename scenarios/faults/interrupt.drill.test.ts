import { existsSync, readdirSync, readFileSync, readlinkSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa, execaSync } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { announceSkip, dockerAvailability } from '../../src/docker/docker-availability.ts';
import { DockerCli, dockerClientEnv } from '../../src/docker/docker-cli.ts';
import { ComposeLock } from '../../src/stacks/compose/compose-lock.ts';
import { DRILL_LABEL } from '../../src/stacks/compose/drill-resources.ts';
import { CORRECTED_RUNBOOK, REPO } from '../support/drill-harness.ts';

/** What a drill left on the machine: its workspace dirs and any process started from them. */
function leftovers(drillId: string): string[] {
  const dirs = readdirSync(tmpdir()).filter((name) => name.startsWith(`nmia-drill-${drillId}-`));
  const mark = `nmia-drill-${drillId}-`;
  const processes = execaSync('ps', ['-eo', 'pid,args'])
    .stdout.split('\n')
    .filter((line) => line.includes(mark));
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

/** Headless Chromium processes (the UI probe's) with no parent left: orphans of a drill that exited. */
function orphanedChromium(before: Set<string>): string[] {
  return execaSync('ps', ['-eo', 'pid=,ppid=,args='])
    .stdout.split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([pid, ppid, ...args]) => !before.has(pid!) && ppid === '1' && args.join(' ').includes('nmia-drill-chromium-'))
    .map(([pid, , ...args]) => `pid ${pid}: ${args.join(' ').slice(0, 120)}`);
}

function chromiumPids(): Set<string> {
  return new Set(
    execaSync('ps', ['-eo', 'pid=,args='])
      .stdout.split('\n')
      .filter((line) => line.includes('nmia-drill-chromium-'))
      .map((line) => line.trim().split(/\s+/)[0]!),
  );
}

/**
 * When to send the signal: a line on the drill's stderr, or a file the drill writes into its report
 * directory at the moment of interest (a block's trace file appears right before bash runs the block;
 * the checklist's screenshot directory once the UI probe has looked at the recovered app).
 */
type Moment = { stderr: RegExp } | { reportFile: string };

function reached(moment: Moment, output: string, reportRoot: string): boolean {
  if ('stderr' in moment) return moment.stderr.test(output);
  if (!existsSync(reportRoot)) return false;
  return readdirSync(reportRoot).some((dir) => existsSync(join(reportRoot, dir, moment.reportFile)));
}

async function interruptAt(
  args: string[],
  moment: Moment,
  signal: NodeJS.Signals,
  reportDir: string,
  stack: 'emulated' | 'compose' = 'emulated',
) {
  const child = execa(
    'node',
    [join(REPO, 'bin/nmia-drill.js'), '--isolation', 'order', '--stack', stack, '--report-dir', reportDir, ...args],
    // What is under test is the interruption: on the emulated stack the reference worker polls every second, not 15 s.
    { cwd: REPO, reject: false, stdin: 'ignore', ...(stack === 'emulated' ? { env: { NMIA_WORKER_POLL_MS: '1000' } } : {}) },
  );
  let output = '';
  child.stderr!.on('data', (chunk: Buffer) => void (output += chunk.toString()));
  // A compose drill may first wait for the compose lock another compose test holds.
  const deadline = Date.now() + (stack === 'compose' ? 360_000 : 150_000);
  while (!reached(moment, output, reportDir)) {
    if (Date.now() > deadline || child.exitCode !== null) {
      child.kill('SIGKILL');
      throw new Error(`never reached ${JSON.stringify('stderr' in moment ? String(moment.stderr) : moment.reportFile)}:\n${output}`);
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  child.kill(signal);
  const result = await child;
  const drillId = /drill ([0-9a-f]{8}):/.exec(output)?.[1] ?? '';
  return { result, drillId, output };
}

describe('an interrupted drill cleans up and still leaves its journal', () => {
  let reports: string;
  beforeAll(async () => {
    reports = await mkdtemp(join(tmpdir(), 'nmia-drill-interrupt-'));
  });
  afterAll(async () => {
    await rm(reports, { recursive: true, force: true });
  });

  const cases: Array<{ signal: NodeJS.Signals; moment: string; args: string[]; at: Moment }> = [
    // Seeding needs some size to be caught in the act; everything else runs at the test scale.
    {
      signal: 'SIGINT',
      moment: 'while seeding',
      args: ['--scale', '20000', '--only', 'full-backup'],
      at: { stderr: /seeding 20000 identities/ },
    },
    {
      signal: 'SIGINT',
      moment: 'during the backup (pg_dump block running)',
      args: ['--runbook', CORRECTED_RUNBOOK, '--scale', '300', '--only', 'full-backup'],
      at: { reportFile: 'procedures/order-full-backup/block-0.trace' },
    },
    {
      signal: 'SIGTERM',
      moment: 'during the restore (dropdb/pg_restore block running)',
      args: ['--scale', '300', '--only', 'restore-custom'],
      at: { reportFile: 'procedures/order-restore-custom/block-0.trace' },
    },
    // The corrected runbook's recovery gets as far as the checklist (the given one stops at step 4).
    {
      signal: 'SIGTERM',
      moment: 'during the DR checklist probes',
      args: ['--runbook', CORRECTED_RUNBOOK, '--scale', '300', '--only', 'dr-recovery'],
      at: { reportFile: 'procedures/order-dr-recovery/checklist' },
    },
  ];

  for (const [index, { signal, moment, args, at }] of cases.entries()) {
    it(`${signal} ${moment}: exit 130, no cluster, process or temp dir left, journal marked interrupted`, async () => {
      const dir = join(reports, `${index}-${signal}`);
      const chromiumBefore = chromiumPids();
      const { result, drillId, output } = await interruptAt(args, at, signal, dir);
      expect(drillId, output).toMatch(/^[0-9a-f]{8}$/);
      expect(result.exitCode, output).toBe(130);
      // The block Ctrl-C killed is no finding about the runbook.
      expect(output).not.toMatch(/fails as written \(exit SIG|FAIL\s+order/);
      // Give orphaned children a moment to be reaped before looking for them.
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(leftovers(drillId)).toEqual([]);
      expect(orphanedChromium(chromiumBefore)).toEqual([]);
      const [reportDir] = readdirSync(dir);
      const journal = JSON.parse(readFileSync(join(dir, reportDir!, 'journal.json'), 'utf8')) as {
        outcome: string;
        interrupted?: boolean;
        error?: string;
      };
      expect(journal).toMatchObject({ outcome: 'error', interrupted: true, error: `interrupted by ${signal}` });
    }, 240_000);
  }
});

const docker = await dockerAvailability(['postgres:15', 'alpine:latest', 'nmia-drill/node:20']);

describe.skipIf(!docker.available)(
  `an interrupted compose drill removes its containers, volumes and network${announceSkip('compose interrupt', docker)}`,
  () => {
    const cli = new DockerCli({ PATH: process.env.PATH ?? '', ...dockerClientEnv() }, '/');
    const list = async (args: string[]) => (await cli.run(args)).stdout.split('\n').filter(Boolean);
    let reports: string;
    beforeAll(async () => {
      reports = await mkdtemp(join(tmpdir(), 'nmia-drill-interrupt-compose-'));
    });
    afterAll(async () => {
      await rm(reports, { recursive: true, force: true });
    });

    it('SIGINT while waiting for the compose lock: exit 130, its workspace (with the .env it wrote) removed', async () => {
      // Another compose drill holds the lock: the interrupted one has made its workspace and no stack owns it yet.
      const held = await ComposeLock.acquire('lock-holder-test');
      const dir = await mkdtemp(join(tmpdir(), 'nmia-drill-interrupt-lock-'));
      try {
        const { result, drillId, output } = await interruptAt(
          ['--runbook', CORRECTED_RUNBOOK, '--scale', '300', '--only', 'full-backup'],
          { stderr: /waiting for drill lock-holder-test/ },
          'SIGINT',
          dir,
          'compose',
        );
        expect(drillId, output).toMatch(/^[0-9a-f]{8}$/);
        expect(result.exitCode, output).toBe(130);
        expect(leftovers(drillId)).toEqual([]);
      } finally {
        await held.unlock();
        await rm(dir, { recursive: true, force: true });
      }
    }, 480_000);

    it('SIGINT during the backup (pg_dump block running on the compose stack): exit 130, nothing of the drill left on the engine or the disk', async () => {
      const { result, drillId, output } = await interruptAt(
        ['--runbook', CORRECTED_RUNBOOK, '--scale', '300', '--only', 'full-backup'],
        { reportFile: 'procedures/order-full-backup/block-0.trace' },
        'SIGINT',
        reports,
        'compose',
      );
      expect(drillId, output).toMatch(/^[0-9a-f]{8}$/);
      expect(result.exitCode, output).toBe(130);
      expect(await list(['ps', '-a', '--filter', `label=${DRILL_LABEL}=${drillId}`, '--format', '{{.Names}}'])).toEqual([]);
      expect(await list(['ps', '-a', '--filter', 'label=com.docker.compose.project=nmia', '--format', '{{.Names}}'])).toEqual([]);
      expect(await list(['volume', 'ls', '--filter', `label=${DRILL_LABEL}=${drillId}`, '--format', '{{.Name}}'])).toEqual([]);
      // The project's volumes are nmia_<name>; compose-stack.test.ts may hold its own nmia_drill_test_foreign_* meanwhile.
      const projectVolume = (name: string) => name.startsWith('nmia_') && !name.startsWith('nmia_drill_test_');
      expect((await list(['volume', 'ls', '--format', '{{.Name}}'])).filter(projectVolume)).toEqual([]);
      expect(await list(['network', 'ls', '--filter', 'label=com.docker.compose.project=nmia', '--format', '{{.Name}}'])).toEqual([]);
      expect(leftovers(drillId)).toEqual([]);
      const [reportDir] = readdirSync(reports);
      const journal = JSON.parse(readFileSync(join(reports, reportDir!, 'journal.json'), 'utf8')) as {
        outcome: string;
        interrupted?: boolean;
        stack?: { kind: string };
      };
      expect(journal).toMatchObject({ outcome: 'error', interrupted: true, stack: { kind: 'compose' } });
    }, 480_000);
  },
);
