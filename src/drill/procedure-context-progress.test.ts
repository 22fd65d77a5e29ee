import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { BlockActivityWatcher } from '../exec/block-activity-watcher.ts';
import { ProcedureRecorder } from '../evidence/procedure-recorder.ts';
import { Redactor } from '../evidence/redactor.ts';
import type { Runbook } from '../runbook/runbook.ts';
import type { StartedStack } from '../stacks/stack.ts';
import type { DrillReporter } from './drill-reporter.ts';
import type { DrillState, EnvironmentState } from './drill-state.ts';
import type { Procedure } from './procedure.ts';
import { ProcedureContext } from './procedure-context.ts';

const CANARY = 'canary-secret-key-5f1d2e';
const SECTION = 'Recovery › Steps';

/**
 * ProcedureContext feeds a live reporter while a block runs: what the block is on, and files growing
 * in ./backups. Only the parts runBlock touches are real here (bash, the block runner, the files);
 * no stack is started, which is why the stack and drill state are minimal stand-ins.
 */
describe('ProcedureContext live progress', () => {
  let dir: string;
  let context: (reporter?: DrillReporter) => ProcedureContext;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'context-progress-'));
    const projectDir = join(dir, 'nmia');
    await mkdir(join(projectDir, 'backups'), { recursive: true });
    const text = [
      'write_env() { printf "SECRET_KEY=%s\\n" "$1" > .env; sleep 0.6; }',
      'write_env "<original-secret-key>"',
      'grow() { for i in 1 2 3 4; do head -c 200000 /dev/zero >> ./backups/nmia_backup.dump; sleep 0.2; done; }',
      'grow',
    ].join('\n');
    const runbook: Runbook = {
      path: '/r.md',
      sha256: 'x',
      sections: [],
      blocks: [{ sectionTitle: SECTION, sectionPath: ['Recovery', 'Steps'], index: 0, lang: 'bash', line: 12, text, sha256: 'x' }],
    };
    const stack = {
      kind: 'emulated',
      workspace: { projectDir, backupsDir: join(projectDir, 'backups') },
      blockEnv: () => ({ PATH: process.env.PATH ?? '' }),
    } as unknown as StartedStack;
    const drill = { drillId: 'd1', runbook, redactor: new Redactor().add('secret_key', CANARY) } as unknown as DrillState;
    const procedure = { id: 'dr-recovery', section: SECTION } as unknown as Procedure;
    context = (reporter) => {
      const recorder = new ProcedureRecorder(
        { id: 'dr-recovery', title: 'DR recovery', section: SECTION, mode: 'order' },
        { findings: [], redactor: drill.redactor },
      );
      return new ProcedureContext(procedure, recorder, stack, drill, {} as EnvironmentState, join(dir, 'evidence'), reporter);
    };
    await mkdir(join(dir, 'evidence'), { recursive: true });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('tells the reporter the block, each command as bash reaches it (redacted) and the dump growing in ./backups', async () => {
    const steps: string[] = [];
    const bytes: Array<[string, number]> = [];
    const run = await context({
      onProcedureStep: (procedure, step) => steps.push(`${procedure}: ${step}`),
      onBytesProgress: (label, size) => bytes.push([label, size]),
    }).runBlock(0, [{ placeholder: '<original-secret-key>', value: CANARY, reason: 'the key the stack was started with' }]);
    expect(run.exitCode).toBe(0);
    expect(steps[0]).toBe('dr-recovery: block 0 (runbook line 12)');
    expect(steps).toContain('dr-recovery: $ grow');
    const secretStep = steps.find((step) => step.startsWith('dr-recovery: $ write_env'));
    expect(secretStep).toBeDefined();
    expect(secretStep).toContain('[REDACTED');
    expect(steps.join('\n')).not.toContain(CANARY);
    const dump = bytes.filter(([label]) => label === './backups/nmia_backup.dump');
    expect(dump.length).toBeGreaterThanOrEqual(2);
    expect(dump.at(-1)![1]).toBe(800_000);
  });

  it('polls nothing for a reporter that does not ask (plain lines, quiet, tests)', async () => {
    const start = vi.spyOn(BlockActivityWatcher.prototype, 'start');
    try {
      await context({ onStep: () => undefined, onCommand: () => undefined }).runBlock(0, [
        { placeholder: '<original-secret-key>', value: CANARY, reason: 'key' },
      ]);
      await context(undefined).runBlock(0, [{ placeholder: '<original-secret-key>', value: CANARY, reason: 'key' }]);
      expect(start).not.toHaveBeenCalled();
      await context({ onBytesProgress: () => undefined }).runBlock(0, [
        { placeholder: '<original-secret-key>', value: CANARY, reason: 'key' },
      ]);
      expect(start).toHaveBeenCalledTimes(1);
    } finally {
      start.mockRestore();
    }
  });
});
