import { Command } from 'commander';
import { describe, expect, it } from 'vitest';
import { commandFirst } from './command-first.ts';

/** The shape of the real CLI: a default `run`, `plan` with the same options, and commands with arguments. */
function program(): Command {
  const root = new Command('nmia-drill');
  for (const name of ['run', 'plan']) {
    root
      .command(name, name === 'run' ? { isDefault: true } : {})
      .option('--config <path>')
      .option('--runbook <path>')
      .option('--quiet')
      .option('--parallel-restore-hint [jobs]');
  }
  root.command('list').option('--runbook <path>');
  root.command('verify-evidence').argument('<dir>');
  return root;
}

describe('commandFirst', () => {
  it.each([
    [
      ['--config', 'drill.json', 'plan'],
      ['plan', '--config', 'drill.json'],
    ],
    [
      ['--config=drill.json', '--quiet', 'plan', '--runbook', 'x.md'],
      ['plan', '--config=drill.json', '--quiet', '--runbook', 'x.md'],
    ],
    [
      ['--quiet', 'list'],
      ['list', '--quiet'],
    ],
    [
      ['--parallel-restore-hint', 'plan'],
      ['plan', '--parallel-restore-hint'],
    ],
    [
      ['--parallel-restore-hint', '3', 'plan'],
      ['plan', '--parallel-restore-hint', '3'],
    ],
  ])('moves the command typed after options to the front: %j', (args, expected) => {
    expect(commandFirst(args, program())).toEqual(expected);
  });

  it.each([
    [['plan', '--config', 'drill.json']],
    [['--runbook', 'plan']],
    [['verify-evidence', 'list']],
    [['--quiet', 'extra', 'plan']],
    [['--quiet', '--', 'plan']],
    [[]],
  ])('leaves everything else alone: %j', (args) => {
    expect(commandFirst(args, program())).toEqual(args);
  });
});
