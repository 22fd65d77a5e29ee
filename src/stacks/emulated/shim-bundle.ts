import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';
import { REFERENCE_SERVICE_ENTRIES } from '../reference-app.ts';

const SHIM_ENTRY = fileURLToPath(new URL('./docker-shim-main.ts', import.meta.url));
const GUARD_ENTRY = fileURLToPath(new URL('../../safety/docker-guard-main.ts', import.meta.url));

/**
 * Bundles the shim into one ESM file. Blocks invoke `docker` many times; a bundle starts in
 * ~0.15 s where a TypeScript loader takes ~0.6 s per call.
 */
export async function bundleShim(outfile: string): Promise<void> {
  await bundleEntry(SHIM_ENTRY, outfile);
}

/** The compose stack's ownership guard in front of the real docker CLI, bundled the same way. */
export async function bundleDockerGuard(outfile: string): Promise<void> {
  await bundleEntry(GUARD_ENTRY, outfile);
}

/**
 * Bundles every service into `<outdir>/<service>.mjs`. A service restarted by a restore then starts
 * in ~0.3 s instead of ~0.9 s through a TypeScript loader: time the drill would otherwise count
 * against the runbook's recovery (the "app is back" check, the RTO).
 */
export async function bundleServices(outdir: string): Promise<void> {
  await build({ ...BUILD_OPTIONS, entryPoints: REFERENCE_SERVICE_ENTRIES, outdir, outExtension: { '.js': '.mjs' } });
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
