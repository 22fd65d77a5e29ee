import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type DrillError, ExitCode } from '../errors/drill-error.ts';
import { checkOutApp } from './app-checkout.ts';
import { parseAppSource } from './app-source.ts';

/** A small NMIA-shaped repository with two commits, and a bundle of it (as ../shared/nmia holds the real one). */
let root: string;
let repo: string;
let bundle: string;
let firstCommit: string;

async function git(args: string[], cwd: string): Promise<string> {
  return String(
    (
      await execa('git', args, {
        cwd,
        env: { GIT_AUTHOR_NAME: 't', GIT_AUTHOR_EMAIL: 't@t', GIT_COMMITTER_NAME: 't', GIT_COMMITTER_EMAIL: 't@t' },
      })
    ).stdout,
  ).trim();
}

beforeAll(async () => {
  root = await mkdtemp(join(tmpdir(), 'nmia-app-'));
  repo = join(root, 'nmia-src');
  await execa('git', ['init', '--quiet', '-b', 'main', repo]);
  await writeFile(join(repo, 'docker-compose.yml'), 'services:\n  db:\n    image: postgres:16-alpine\n');
  await git(['add', '.'], repo);
  await git(['commit', '--quiet', '-m', 'first'], repo);
  firstCommit = await git(['rev-parse', 'HEAD'], repo);
  await writeFile(join(repo, 'README.md'), 'second\n');
  await git(['add', '.'], repo);
  await git(['commit', '--quiet', '-m', 'second'], repo);
  await git(['tag', 'v1', firstCommit], repo);
  bundle = join(root, 'nmia.bundle');
  await git(['bundle', 'create', bundle, '--all'], repo);
});
afterAll(async () => {
  await rm(root, { recursive: true, force: true });
});

describe('--app', () => {
  it('is the reference app when absent', () => {
    expect(parseAppSource(undefined)).toEqual({ kind: 'reference' });
  });

  it('takes a path relative to the working directory, a bundle, a URL and a #ref', () => {
    expect(parseAppSource('nmia.bundle#v1', root)).toEqual({ kind: 'repository', location: bundle, ref: 'v1', local: true });
    expect(parseAppSource('https://github.com/jimwalker53/NMAI.git#main')).toEqual({
      kind: 'repository',
      location: 'https://github.com/jimwalker53/NMAI.git',
      ref: 'main',
      local: false,
    });
    expect(parseAppSource('git@github.com:jimwalker53/NMAI.git')).toMatchObject({ local: false });
  });

  it('refuses a path that does not exist, and a ref that is no ref, as usage errors', () => {
    const missing = (() => {
      try {
        parseAppSource(join(root, 'nope'));
      } catch (error) {
        return error as DrillError;
      }
    })();
    expect(missing?.exitCode).toBe(ExitCode.usage);
    expect(missing?.message).toMatch(/no such file or directory/);
    expect(() => parseAppSource(`${bundle}#a b`)).toThrow(/is not a branch, tag or commit/);
  });

  it('clones a bundle at its default branch, or at a ref, and records the commit', async () => {
    const head = await checkOutApp(parseAppSource(bundle) as never, join(root, 'head', 'nmia'));
    expect(head.commit).toBe(await git(['rev-parse', 'HEAD'], repo));
    expect(head.ref).toBe('main');
    const tagged = await checkOutApp(parseAppSource(`${bundle}#v1`) as never, join(root, 'tagged', 'nmia'));
    expect(tagged.commit).toBe(firstCommit);
    expect(tagged.composeFile).toBe(join(root, 'tagged', 'nmia', 'docker-compose.yml'));
  });

  it('says what is wrong with a ref that does not exist, or a repository without a compose file', async () => {
    await expect(checkOutApp(parseAppSource(`${bundle}#no-such-branch`) as never, join(root, 'bad-ref', 'nmia'))).rejects.toThrow(
      /#no-such-branch: .*no-such-branch/,
    );
    const empty = join(root, 'empty');
    await execa('git', ['init', '--quiet', empty]);
    await writeFile(join(empty, 'x'), 'x');
    await git(['add', '.'], empty);
    await git(['commit', '--quiet', '-m', 'x'], empty);
    await expect(checkOutApp(parseAppSource(empty) as never, join(root, 'no-compose', 'nmia'))).rejects.toThrow(/no docker-compose.yml/);
  });
});
