import { existsSync, rmSync } from 'node:fs';
import { copyFile, cp, mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { cleanupRegistry } from '../../lifecycle/cleanup-registry.ts';
import { REFERENCE_SERVICE_ENTRIES } from '../reference-app.ts';

const SHIM_ENTRY = fileURLToPath(new URL('./docker-shim-main.ts', import.meta.url));
const GUARD_ENTRY = fileURLToPath(new URL('../../safety/docker-guard-main.ts', import.meta.url));

/**
 * Bundles the shim into one ESM file. Blocks invoke `docker` many times; a bundle starts in
 * ~0.15 s where a TypeScript loader takes ~0.6 s per call.
 */
export async function bundleShim(outfile: string): Promise<void> {
  await copyFile(
    join(await bundledOnce('shim', (dir) => bundleEntry(SHIM_ENTRY, join(dir, 'docker-shim.mjs'))), 'docker-shim.mjs'),
    outfile,
  );
}

/** The compose stack's ownership guard in front of the real docker CLI, bundled the same way. */
export async function bundleDockerGuard(outfile: string): Promise<void> {
  await copyFile(
    join(await bundledOnce('guard', (dir) => bundleEntry(GUARD_ENTRY, join(dir, 'docker-guard.mjs'))), 'docker-guard.mjs'),
    outfile,
  );
}

/**
 * Bundles every service into `<outdir>/<service>.mjs`. A service restarted by a restore then starts
 * in ~0.3 s instead of ~0.9 s through a TypeScript loader: time the drill would otherwise count
 * against the runbook's recovery (the "app is back" check, the RTO).
 */
export async function bundleServices(outdir: string): Promise<void> {
  const built = await bundledOnce('services', async (dir) => {
    await build({ ...BUILD_OPTIONS, entryPoints: REFERENCE_SERVICE_ENTRIES, outdir: dir, outExtension: { '.js': '.mjs' } });
  });
  await cp(built, outdir, { recursive: true });
}

/**
 * Each bundle is built once per process and copied into every environment: the code does not change while
 * the process runs, and a drill starts an environment per procedure alone (esbuild costs ~0.3 s of CPU each time).
 * The copies live in one temp dir the cleanup registry removes; a removed one is built again.
 */
const bundles = new Map<string, { dir?: string; made: Promise<string> }>();
let bundleRoot: string | undefined;

function bundledOnce(name: string, make: (dir: string) => Promise<void>): Promise<string> {
  const known = bundles.get(name);
  // Being built, or built and still there.
  if (known && (known.dir === undefined || existsSync(known.dir))) return known.made;
  const entry: { dir?: string; made: Promise<string> } = { made: Promise.resolve('') };
  entry.made = (async () => {
    const dir = join(await bundleRootDir(), name);
    await make(dir);
    entry.dir = dir;
    return dir;
  })();
  entry.made.catch(() => {
    if (bundles.get(name) === entry) bundles.delete(name);
  });
  bundles.set(name, entry);
  return entry.made;
}

async function bundleRootDir(): Promise<string> {
  if (bundleRoot && existsSync(bundleRoot)) return bundleRoot;
  const dir = await mkdtemp(join(tmpdir(), 'nmia-drill-bundles-'));
  cleanupRegistry.register(
    `esbuild bundles ${dir}`,
    () => rm(dir, { recursive: true, force: true }),
    () => rmSync(dir, { recursive: true, force: true }),
  );
  bundleRoot = dir;
  return dir;
}

const BUILD_OPTIONS = {
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  // Some dependencies are CommonJS and call require().
  banner: {
    js: "import { createRequire as __nmiaCreateRequire } from 'node:module'; const require = __nmiaCreateRequire(import.meta.url);",
  },
  logLevel: 'error',
} as const;

async function bundleEntry(entry: string, outfile: string): Promise<void> {
  await build({ ...BUILD_OPTIONS, entryPoints: [entry], outfile });
}
