import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isAlive, killProcessesReferencing } from './process-liveness.ts';

const idle = (...args: string[]) => spawn(process.execPath, ['-e', 'setTimeout(() => {}, 60_000)', ...args], { stdio: 'ignore' });

describe('killProcessesReferencing (the teardown sweep)', () => {
  let engineRoot: string;
  beforeAll(async () => {
    engineRoot = await mkdtemp(join(tmpdir(), 'nmia-drill-sweep-'));
  });
  afterAll(async () => {
    await rm(engineRoot, { recursive: true, force: true });
  });

  it('kills a process that names the engine directory, such as a service started after the teardown read the state, and nothing else', async () => {
    const stray = idle(join(engineRoot, 'services', 'api.mjs'));
    const bystander = idle(join(tmpdir(), 'someone-else'));
    try {
      await new Promise((resolve) => setTimeout(resolve, 200));
      const exited = new Promise<NodeJS.Signals | null>((resolve) => stray.on('exit', (_code, signal) => resolve(signal)));
      expect(killProcessesReferencing(engineRoot)).toEqual([stray.pid]);
      expect(await exited).toBe('SIGKILL');
      expect(isAlive(bystander.pid)).toBe(true);
    } finally {
      stray.kill('SIGKILL');
      bystander.kill('SIGKILL');
    }
  });
});
