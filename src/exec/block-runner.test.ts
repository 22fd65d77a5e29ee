import { mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Redactor } from '../evidence/redactor.ts';
import type { Block } from '../runbook/runbook.ts';
import { BlockRunner } from './block-runner.ts';
import { BindingError } from './binding.ts';

function block(text: string): Block {
  return { sectionTitle: 'Test › Block', sectionPath: ['Test', 'Block'], index: 0, lang: 'bash', line: 7, text, sha256: 'x' };
}

describe('BlockRunner', () => {
  let dir: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'block-runner-'));
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  const run = (text: string, extra: Partial<Parameters<BlockRunner['run']>[0]> = {}) =>
    new BlockRunner().run({
      block: block(text),
      cwd: dir,
      evidenceDir: dir,
      label: 'b0',
      env: { PATH: process.env.PATH ?? '' },
      redactor: new Redactor(),
      ...extra,
    });

  it('records each command with its exit code and per-command output, stopping at the first failure', async () => {
    const result = await run('# a comment\necho one \\\n  two\nls /definitely-missing\necho never\n');
    expect(result.exitCode).toBe(2);
    expect(result.commands.map((c) => c.text)).toEqual(['echo one two', 'ls /definitely-missing']);
    expect(result.commands[0]).toMatchObject({ exitCode: 0, stdoutTail: 'one two' });
    expect(result.failedCommand).toMatchObject({ text: 'ls /definitely-missing', exitCode: 2 });
    expect(result.failedCommand?.stderrTail).toMatch(/No such file or directory/);
    expect(result.stdoutTail).not.toMatch(/never/);
  });

  it('fails a pipeline whose first element fails (pipefail)', async () => {
    const result = await run('false | cat\necho after\n');
    expect(result.exitCode).toBe(1);
    expect(result.stdoutTail).toBe('');
  });

  it('applies only declared bindings and records them', async () => {
    const result = await run('echo nmia_backup_20250201_020000.dump\n', {
      bindings: [{ placeholder: 'nmia_backup_20250201_020000.dump', value: 'real.dump', reason: 'the file the backup produced' }],
    });
    expect(result.stdoutTail).toBe('real.dump');
    expect(result.bindings).toEqual([expect.objectContaining({ occurrences: 1, value: 'real.dump' })]);
    await expect(run('echo x\n', { bindings: [{ placeholder: '<absent>', value: 'y', reason: 'r' }] })).rejects.toThrow(BindingError);
  });

  it('redacts secrets from commands, output tails and the evidence files', async () => {
    const redactor = new Redactor().add('secret_key', 'CANARY-secret-42');
    const result = await run('echo CANARY-secret-42\necho CANARY-secret-42 >&2\n', { redactor });
    expect(JSON.stringify(result)).not.toContain('CANARY-secret-42');
    for (const file of ['b0.sh', 'b0.stdout', 'b0.stderr', 'b0.trace']) {
      expect(await readFile(join(dir, file), 'utf8')).not.toContain('CANARY-secret-42');
    }
  });

  it('carries the working directory out of the block, as an operator shell would', async () => {
    const result = await run('mkdir -p sub/dir\ncd sub/dir\n');
    expect(result.finalCwd).toBe(join(dir, 'sub/dir'));
    expect(result.commands.map((c) => c.text)).toEqual(['mkdir -p sub/dir', 'cd sub/dir']);
    expect(result.commands.at(-1)?.exitCode).toBe(0);
  });

  it('pauses before a checkpointed command until the harness has looked', async () => {
    const seen: string[] = [];
    const result = await run('echo one > state\necho two > state\n', {
      checkpoints: [{ beforeCommand: 'echo two', run: async () => void seen.push(await readFile(join(dir, 'state'), 'utf8')) }],
    });
    expect(result.exitCode).toBe(0);
    expect(seen).toEqual(['one\n']);
    expect(await readFile(join(dir, 'state'), 'utf8')).toBe('two\n');
  });
});
