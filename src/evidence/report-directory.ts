import { randomBytes } from 'node:crypto';
import { mkdir, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, resolve } from 'node:path';
import { UsageError } from '../errors/drill-error.ts';

/** `reports/20261127-041310-481538f7`: sorts by time, unique by drill id. */
export function reportDirName(startedAt: Date, drillId: string): string {
  return `${startedAt.toISOString().replace(/[-:]/g, '').replace('T', '-').slice(0, 15)}-${drillId}`;
}

function unwritable(root: string, cause: unknown): UsageError {
  const detail = (cause as NodeJS.ErrnoException).code ?? (cause as Error).message;
  return new UsageError(`the reports directory ${root} cannot be written (${detail}); nothing was started`, {
    fix: 'pass --report-dir a directory you can write (it is created if missing), e.g. --report-dir ./reports',
    cause,
  });
}

/**
 * Creates a drill's report directory under `root`, before the drill starts anything: a drill whose
 * evidence cannot be written must not run. Missing parents are made one by one from the nearest
 * existing ancestor (Node's recursive mkdir can spin forever under /proc), and the directory is
 * proven writable with a probe file.
 */
export async function createReportDirectory(root: string, name: string): Promise<string> {
  const absoluteRoot = resolve(root);
  const missing: string[] = [];
  let existing = absoluteRoot;
  for (;;) {
    const info = await stat(existing).catch((error: NodeJS.ErrnoException) =>
      error.code === 'ENOENT' ? undefined : Promise.reject(unwritable(absoluteRoot, error)),
    );
    if (info) {
      if (!info.isDirectory())
        throw unwritable(absoluteRoot, Object.assign(new Error(`${existing} is not a directory`), { code: 'ENOTDIR' }));
      break;
    }
    missing.unshift(existing);
    const parent = dirname(existing);
    if (parent === existing) break;
    existing = parent;
  }
  const dir = join(absoluteRoot, name);
  try {
    for (const path of [...missing, dir])
      await mkdir(path).catch((error: NodeJS.ErrnoException) => (error.code === 'EEXIST' ? undefined : Promise.reject(error)));
    const probe = join(dir, `.write-test-${randomBytes(4).toString('hex')}`);
    await writeFile(probe, '');
    await rm(probe);
  } catch (error) {
    throw unwritable(absoluteRoot, error);
  }
  return dir;
}
