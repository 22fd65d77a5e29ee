import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import type { AppSource } from './app-source.ts';

/**
 * The app's docker-compose.yml as a drill would find it, for `plan`: read from the repository without
 * touching it (`git show <ref>:docker-compose.yml` for a checkout or bare repository), or from a
 * throwaway clone removed at once (a bundle or URL). Undefined, with the reason, when it cannot be read.
 */
export async function previewComposeFile(
  source: Extract<AppSource, { kind: 'repository' }>,
): Promise<{ text: string } | { unavailable: string }> {
  const git = (args: string[], cwd?: string) =>
    execa('git', args, { reject: false, stdin: 'ignore', timeout: 120_000, env: { GIT_TERMINAL_PROMPT: '0' }, ...(cwd ? { cwd } : {}) });
  const ref = source.ref ?? 'HEAD';
  if (source.local) {
    const shown = await git(['-C', source.location, 'show', `${ref}:docker-compose.yml`]);
    if (shown.exitCode === 0) return { text: String(shown.stdout) };
  }
  const dir = await mkdtemp(join(tmpdir(), 'nmia-drill-plan-'));
  try {
    const cloned = await git(['clone', '--quiet', '--no-checkout', source.location, join(dir, 'app')]);
    if (cloned.exitCode !== 0)
      return { unavailable: `git clone ${source.location} failed: ${String(cloned.stderr).trim().split('\n').at(-1)}` };
    const shown = await git(['show', `${ref}:docker-compose.yml`], join(dir, 'app'));
    if (shown.exitCode !== 0) return { unavailable: `${ref}:docker-compose.yml: ${String(shown.stderr).trim().split('\n').at(-1)}` };
    return { text: String(shown.stdout) };
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
