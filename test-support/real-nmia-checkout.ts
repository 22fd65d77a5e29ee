import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { type AppCheckout, checkOutApp } from '../src/app/app-checkout.ts';
import { parseAppSource } from '../src/app/app-source.ts';
import { REPO_ROOT } from '../src/repo-root.ts';

/** Where the real NMIA comes from: NMIA_DRILL_APP_REPO (as .ci/provision-docker.sh reads it), else the shared bundle. */
export function realNmiaSource(): string | undefined {
  const given = process.env.NMIA_DRILL_APP_REPO;
  if (given) return given;
  return [resolve(REPO_ROOT, '../shared/nmia/nmia.bundle'), '/work/shared/nmia/nmia.bundle'].find((path) => existsSync(path));
}

/** A fresh clone of the real NMIA for a test (its code is run, never changed); `remove()` deletes it. */
export async function cloneRealNmia(): Promise<AppCheckout & { remove: () => Promise<void> }> {
  const source = realNmiaSource();
  if (!source) throw new Error('no real NMIA repository: set NMIA_DRILL_APP_REPO or put the bundle at ../shared/nmia/nmia.bundle');
  const parsed = parseAppSource(source, process.cwd());
  if (parsed.kind !== 'repository') throw new Error(`NMIA_DRILL_APP_REPO=${source} is not a repository`);
  const parent = await mkdtemp(join(tmpdir(), 'nmia-drill-real-nmia-'));
  try {
    const checkout = await checkOutApp(parsed, join(parent, 'nmia'));
    return { ...checkout, remove: () => rm(parent, { recursive: true, force: true }) };
  } catch (error) {
    await rm(parent, { recursive: true, force: true });
    throw error;
  }
}
