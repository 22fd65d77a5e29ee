import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const SHIM_ENTRY = fileURLToPath(new URL('./docker-shim-main.ts', import.meta.url));

/**
 * Bundles the shim into one ESM file. Blocks invoke `docker` many times; a bundle starts in
 * ~0.15 s where a TypeScript loader takes ~0.6 s per call.
 */
export async function bundleShim(outfile: string): Promise<void> {
  await build({
    entryPoints: [SHIM_ENTRY],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outfile,
    // Some dependencies are CommonJS and call require().
    banner: { js: "import { createRequire as __nmiaCreateRequire } from 'node:module'; const require = __nmiaCreateRequire(import.meta.url);" },
    logLevel: 'error',
  });
}
