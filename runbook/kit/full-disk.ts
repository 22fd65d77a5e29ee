import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { cleanupRegistry } from '../../src/lifecycle/cleanup-registry.ts';

export type TmpfsSupport = { ok: true } | { ok: false; reason: string };

let support: TmpfsSupport | undefined;

/** Whether this process can mount a size-limited tmpfs: root, in a kernel or container that permits the mount. */
export function tmpfsSupport(): TmpfsSupport {
  if (support) return support;
  if (process.getuid?.() !== 0) return (support = { ok: false, reason: 'mounting a size-limited tmpfs needs root' });
  const probe = mkdtempSync(join(tmpdir(), 'nmia-drill-tmpfs-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k', 'tmpfs', probe], { stdio: 'pipe' });
    execFileSync('umount', [probe]);
    support = { ok: true };
  } catch (error) {
    support = { ok: false, reason: `mount -t tmpfs is not permitted here: ${(error as Error).message.split('\n')[0]}` };
  } finally {
    rmdirSync(probe);
  }
  return support;
}

/**
 * Runs `run` with `dir` on a filesystem with room for almost nothing: a tmpfs of `sizeKiB` (one page by default,
 * less than any dump) mounted over it (its own
 * files are hidden meanwhile and back afterwards). Unmounted after `run`, when it throws, and on Ctrl-C.
 */
export async function onFullDisk<T>(dir: string, run: () => Promise<T>, sizeKiB = 4): Promise<T> {
  execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeKiB}k,mode=0755`, 'tmpfs', dir], { stdio: 'pipe' });
  const unmount = (): void => {
    execFileSync('umount', ['-l', dir], { stdio: 'pipe' });
  };
  const cleanup = cleanupRegistry.register(`tmpfs over ${dir}`, async () => unmount(), unmount);
  try {
    return await run();
  } finally {
    await cleanup.run();
  }
}
