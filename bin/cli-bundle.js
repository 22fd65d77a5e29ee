// The CLI's TypeScript sources as one ESM bundle, rebuilt by esbuild (~0.3 s) whenever a source it was built from
// changes. A bundle starts in ~0.5 s of CPU where tsx's loader takes ~1.5 s, and the CLI is spawned often: by
// operators' scripts, by CI, and ~90 times by the test suite. Plain JavaScript: it runs before any TypeScript can.
import { randomBytes, createHash } from 'node:crypto';
import { existsSync, mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
const CACHE_DIR = join(REPO_ROOT, 'node_modules', '.cache', 'nmia-drill');
/** Which bundle is current, and the files it was built from. */
const MANIFEST = join(CACHE_DIR, 'cli.manifest.json');
// bin/ is where the engine meets the runbook's procedures: src/ never imports runbook/, the registry is handed in here.
const ENTRY = [
  "import { PROCEDURES } from './runbook/registry.ts';",
  "import { runCli } from './src/cli/main.ts';",
  'await runCli(process.argv, PROCEDURES);',
].join('\n');

/** The path of an up-to-date bundle of the CLI, built first if a source changed since the last one. */
export async function cliBundle() {
  const current = readManifest();
  if (current && current.fingerprint === fingerprint(current.inputs)) {
    const bundle = join(CACHE_DIR, current.bundle);
    if (existsSync(bundle)) return bundle;
  }
  return build();
}

function readManifest() {
  try {
    return JSON.parse(readFileSync(MANIFEST, 'utf8'));
  } catch {
    return undefined;
  }
}

/** Size and modification time of every input: an edit, a checkout or a new import changes it. */
function fingerprint(inputs) {
  const hash = createHash('sha256');
  for (const input of inputs) {
    try {
      const stat = statSync(join(REPO_ROOT, input));
      hash.update(`${input}\0${stat.size}\0${stat.mtimeMs}\n`);
    } catch {
      hash.update(`${input}\0missing\n`);
    }
  }
  return hash.digest('hex');
}

async function build() {
  const { build: esbuild, transform } = await import('esbuild');
  mkdirSync(CACHE_DIR, { recursive: true });
  const partial = join(CACHE_DIR, `cli-${process.pid}-${randomBytes(4).toString('hex')}.partial.mjs`);
  const result = await esbuild({
    stdin: { contents: ENTRY, resolveDir: REPO_ROOT, sourcefile: 'bin/cli-entry.ts', loader: 'ts' },
    // The metafile's input paths are relative to this, whatever directory the CLI was started in.
    absWorkingDir: REPO_ROOT,
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    // Dependencies stay in node_modules, resolved from the bundle's place inside it.
    packages: 'external',
    outfile: partial,
    // Beside the bundle, read only when an error's stack is printed: stacks name the TypeScript sources.
    sourcemap: 'linked',
    metafile: true,
    logLevel: 'error',
    plugins: [moduleUrlPerSource(transform)],
  });
  const inputs = Object.keys(result.metafile.inputs)
    .filter((input) => !input.startsWith('<') && !input.includes('node_modules/'))
    .sort();
  const print = fingerprint(inputs);
  const name = `cli-${print.slice(0, 16)}.mjs`;
  // Renames are atomic: processes building at the same time each put a whole, identical file in place.
  writeFileSync(partial, readFileSync(partial, 'utf8').replace(/sourceMappingURL=\S+$/m, `sourceMappingURL=${name}.map`));
  renameSync(`${partial}.map`, join(CACHE_DIR, `${name}.map`));
  renameSync(partial, join(CACHE_DIR, name));
  const manifest = join(CACHE_DIR, `cli-${process.pid}.manifest.partial`);
  writeFileSync(manifest, JSON.stringify({ fingerprint: print, bundle: name, inputs }));
  renameSync(manifest, MANIFEST);
  removeStale(name);
  return join(CACHE_DIR, name);
}

/**
 * Each source keeps its own import.meta.url (paths to fixtures and entry points are relative to it), where a
 * bundle would give them all the bundle's. esbuild's define replaces the expression, never the same text in a string.
 */
function moduleUrlPerSource(transform) {
  return {
    name: 'module-url-per-source',
    setup(builder) {
      builder.onLoad({ filter: /\.ts$/ }, async (args) => {
        if (args.path.includes('/node_modules/')) return undefined;
        const source = readFileSync(args.path, 'utf8');
        const { code } = await transform(source, {
          loader: 'ts',
          format: 'esm',
          target: 'node20',
          sourcemap: 'inline',
          sourcefile: relative(REPO_ROOT, args.path),
          define: { 'import.meta.url': JSON.stringify(pathToFileURL(args.path).href) },
        });
        return { contents: code, loader: 'js' };
      });
    },
  };
}

/** Earlier bundles, and partial files a killed build left; a bundle already loaded by a running CLI is unaffected. */
function removeStale(keep) {
  for (const file of readdirSync(CACHE_DIR)) {
    if (file === keep || file === `${keep}.map` || file === 'cli.manifest.json' || !file.startsWith('cli-')) continue;
    try {
      // A partial file (bundle, map or manifest) may be another build's, still being written.
      if (file.includes('.partial') && Date.now() - statSync(join(CACHE_DIR, file)).mtimeMs < 60_000) continue;
      rmSync(join(CACHE_DIR, file), { force: true });
    } catch {
      // Another process removed it first.
    }
  }
}
