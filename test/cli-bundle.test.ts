import { cp, mkdir, mkdtemp, readdir, rm, symlink, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from '../src/repo-root.ts';

/**
 * bin/cli-bundle.js in a checkout of its own (two sources, the real node_modules): the CLI must run what the
 * sources say now, never a bundle of what they said before.
 */
let checkout: string;
const cacheDir = () => join(checkout, 'node_modules', '.cache', 'nmia-drill');
const run = () => execa(process.execPath, [join(checkout, 'bin', 'nmia-drill.js')], { cwd: tmpdir(), reject: false });
const main = (word: string) => `export async function runCli(_argv: string[], procedures: string[]): Promise<void> {
  console.log('${word}', procedures.join(','), import.meta.url);
}
`;

beforeAll(async () => {
  checkout = await mkdtemp(join(tmpdir(), 'nmia-cli-bundle-'));
  await cp(join(REPO_ROOT, 'bin'), join(checkout, 'bin'), { recursive: true });
  await mkdir(join(checkout, 'src', 'cli'), { recursive: true });
  await mkdir(join(checkout, 'runbook'));
  await writeFile(join(checkout, 'src', 'cli', 'main.ts'), main('first'));
  await writeFile(join(checkout, 'runbook', 'registry.ts'), "export const PROCEDURES: string[] = ['full-backup'];\n");
  // A node_modules of its own, for the cache; the packages (esbuild) from the real one.
  await mkdir(join(checkout, 'node_modules'));
  await symlink(join(REPO_ROOT, 'node_modules', 'esbuild'), join(checkout, 'node_modules', 'esbuild'));
  await symlink(join(REPO_ROOT, 'node_modules', '@esbuild'), join(checkout, 'node_modules', '@esbuild'));
});
afterAll(async () => {
  await rm(checkout, { recursive: true, force: true });
});

describe('the CLI bundle', () => {
  it('is built on first use, reused while no source changes, and each source keeps its own import.meta.url', async () => {
    const first = await run();
    expect(first.stderr).toBe('');
    expect(first.stdout).toBe(`first full-backup file://${join(checkout, 'src', 'cli', 'main.ts')}`);
    const built = (await readdir(cacheDir())).sort();
    expect(built).toEqual([expect.stringMatching(/^cli-[0-9a-f]{16}\.mjs$/), expect.stringMatching(/\.mjs\.map$/), 'cli.manifest.json']);
    expect((await run()).stdout).toMatch(/^first /);
    expect((await readdir(cacheDir())).sort()).toEqual(built);
  });

  it('is rebuilt when a source changes, even one with the same size and an older time (a checkout of another branch)', async () => {
    await writeFile(join(checkout, 'src', 'cli', 'main.ts'), main('other'));
    const past = new Date(Date.now() - 3_600_000);
    await utimes(join(checkout, 'src', 'cli', 'main.ts'), past, past);
    expect((await run()).stdout).toMatch(/^other full-backup /);
    await writeFile(join(checkout, 'runbook', 'registry.ts'), "export const PROCEDURES: string[] = ['sql-backup'];\n");
    expect((await run()).stdout).toMatch(/^other sql-backup /);
    // The earlier bundles are gone: one bundle, its map and the manifest.
    expect(await readdir(cacheDir())).toHaveLength(3);
  });
});
