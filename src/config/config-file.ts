import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { dirname, isAbsolute, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { z } from 'zod';
import { UsageError } from '../errors/drill-error.ts';
import { drillConfigSchema } from './drill-config-schema.ts';

/** Looked for in the current directory, in this order, when no --config is given. */
export const CONFIG_FILE_NAMES = ['drill.config.ts', 'drill.config.json'] as const;

export type ParsedDrillConfig = z.output<typeof drillConfigSchema>;

export interface LoadedConfig {
  /** Absolute path of the file. */
  path: string;
  /** How errors name it: relative to the current directory when inside it. */
  label: string;
  config: ParsedDrillConfig;
}

const EXAMPLE = 'drill.config.example.ts';

/** The config file to use: --config (or NMIA_DRILL_CONFIG), else drill.config.ts / drill.config.json in `cwd`, else none. */
export function findConfigFile(explicit: string | undefined, cwd: string): string | undefined {
  if (explicit !== undefined) {
    const path = resolve(cwd, explicit);
    if (!existsSync(path) || !statSync(path).isFile()) {
      throw new UsageError(`config file not found: ${explicit}`, {
        fix: `pass the path of a drill.config.ts or drill.config.json (see ${EXAMPLE})`,
      });
    }
    return path;
  }
  const found = CONFIG_FILE_NAMES.map((name) => join(cwd, name)).filter((path) => existsSync(path));
  if (found.length > 1)
    throw new UsageError(`both ${CONFIG_FILE_NAMES.join(' and ')} are in ${cwd}`, {
      fix: 'keep one of them, or choose with --config <path>',
    });
  return found[0];
}

/** Reads and validates a config file; every mistake is a usage error naming the file and the key. Never prints a value. */
export async function loadConfigFile(path: string, cwd = process.cwd()): Promise<LoadedConfig> {
  const shown = relative(cwd, path);
  const label = shown.startsWith('..') || isAbsolute(shown) ? path : shown;
  const raw = path.endsWith('.json') ? await readJson(path, label) : await importModule(path, label);
  const parsed = drillConfigSchema.safeParse(raw);
  if (!parsed.success) throw configIssueError(label, parsed.error.issues);
  return { path, label, config: parsed.data };
}

/** Finds and loads the config, or returns undefined when there is none. */
export async function loadDrillConfig(explicit: string | undefined, cwd = process.cwd()): Promise<LoadedConfig | undefined> {
  const path = findConfigFile(explicit, cwd);
  return path === undefined ? undefined : loadConfigFile(path, cwd);
}

/** A path written in a config file is relative to that file. */
export function pathFromConfig(loaded: LoadedConfig, value: string): string {
  return resolve(dirname(loaded.path), value);
}

async function readJson(path: string, label: string): Promise<unknown> {
  const text = await readFile(path, 'utf8');
  try {
    return JSON.parse(text) as unknown;
  } catch (error) {
    throw new UsageError(`${label}: not valid JSON (${(error as Error).message.split('\n')[0]})`, {
      fix: `fix the JSON syntax (see ${EXAMPLE} for every key)`,
    });
  }
}

/** What `import … from 'nmia-drill'` means in a config file, wherever the file sits. */
const PUBLIC_ENTRY = fileURLToPath(new URL('../index.ts', import.meta.url));

/**
 * A TypeScript config is bundled with esbuild (the `nmia-drill` import aliased to this checkout's public
 * entry) and imported from memory: it loads the same inside the checkout and anywhere else (e.g. an ops
 * repo with no package.json, where Node would take a .ts file for CommonJS), and writes no file.
 */
async function importModule(path: string, label: string): Promise<unknown> {
  if (!/\.(ts|mts|js|mjs)$/.test(path))
    throw new UsageError(`${label}: expected a .ts or .json config file`, {
      fix: `name it drill.config.ts or drill.config.json (see ${EXAMPLE})`,
    });
  let module: { default?: unknown };
  try {
    const { build } = await import('esbuild');
    const bundled = await build({
      entryPoints: [path],
      bundle: true,
      platform: 'node',
      format: 'esm',
      target: 'node20',
      write: false,
      alias: { 'nmia-drill': PUBLIC_ENTRY },
      logLevel: 'silent',
    });
    module = (await import(`data:text/javascript;base64,${Buffer.from(bundled.outputFiles[0]!.text).toString('base64')}`)) as {
      default?: unknown;
    };
  } catch (error) {
    const esbuildError = (error as { errors?: Array<{ text: string; location?: { line: number } | null }> }).errors?.[0];
    const cause = esbuildError
      ? `${esbuildError.text}${esbuildError.location ? ` (line ${esbuildError.location.line})` : ''}`
      : (error as Error).message.split('\n')[0];
    throw new UsageError(`${label}: could not be loaded: ${cause}`, {
      fix: `check its syntax and imports; it should be \`import { defineConfig } from 'nmia-drill'; export default defineConfig({ … })\` (see ${EXAMPLE})`,
    });
  }
  if (module.default === undefined) {
    throw new UsageError(`${label}: has no default export`, { fix: `end it with \`export default defineConfig({ … })\` (see ${EXAMPLE})` });
  }
  return module.default;
}

type Issue = z.core.$ZodIssue;

/**
 * One line: the file, the key path and what is wrong; then the fix. A literal password first (it must go),
 * then unknown keys (a typo'd key also makes its intended key "missing"), then the rest.
 */
export function configIssueError(label: string, issues: readonly Issue[]): UsageError {
  const rank = (issue: Issue) => (issue.path.at(-1) === 'password' ? 0 : issue.code === 'unrecognized_keys' ? 1 : 2);
  const ordered = [...issues].sort((a, b) => rank(a) - rank(b));
  const first = ordered[0]!;
  const more = ordered.length > 1 ? ` (+${ordered.length - 1} more)` : '';
  const { where, message, fix } = describeIssue(first);
  return new UsageError(`${label}: ${where}: ${message}${more}`, {
    fix,
    detail: ordered
      .map((issue) => {
        const d = describeIssue(issue);
        return `${d.where}: ${d.message}`;
      })
      .join('\n'),
  });
}

function describeIssue(issue: Issue): { where: string; message: string; fix: string } {
  const keyPath = issue.path.map(String);
  const defaultFix = `correct it (every key is documented in ${EXAMPLE})`;
  if (issue.code === 'unrecognized_keys') {
    const known = knownKeysAt(keyPath);
    const key = issue.keys[0] ?? '';
    const others =
      issue.keys.length > 1
        ? ` (and ${issue.keys
            .slice(1)
            .map((name) => JSON.stringify(name))
            .join(', ')})`
        : '';
    return {
      where: [...keyPath, key].join('.'),
      message: `unknown key${others}`,
      fix: known.length > 0 ? `remove it, or use one of: ${known.join(', ')}` : 'remove it',
    };
  }
  const where = keyPath.length > 0 ? keyPath.join('.') : '(top level)';
  if (keyPath.at(-1) === 'password' && keyPath.at(-2) === 'admin') {
    return {
      where,
      message: issue.message,
      fix: 'remove "password" and name the variable that holds it instead: "passwordEnv": "NMIA_ADMIN_PASSWORD", then export NMIA_ADMIN_PASSWORD=…',
    };
  }
  if (issue.code === 'invalid_type' && issue.message.startsWith('Invalid input: ')) {
    const received = /received (\w+)/.exec(issue.message)?.[1];
    const message =
      received === 'undefined'
        ? `required (expected ${issue.expected})`
        : issue.message.replace('Invalid input: ', '').replace('received', 'got');
    return { where, message, fix: defaultFix };
  }
  return { where, message: issue.message.replace(/^Invalid option: /, ''), fix: defaultFix };
}

/** The keys the schema allows at a path, for "did you mean" fixes. */
function knownKeysAt(keyPath: string[]): string[] {
  let schema: z.core.$ZodType = drillConfigSchema;
  for (const key of keyPath) {
    schema = unwrap(schema);
    const shape = (schema as unknown as { shape?: Record<string, z.core.$ZodType> }).shape;
    if (!shape?.[key]) return [];
    schema = shape[key];
  }
  const shape = (unwrap(schema) as unknown as { shape?: Record<string, z.core.$ZodType> }).shape;
  return shape ? Object.keys(shape).filter((key) => key !== 'password' && key !== 'bindings') : [];
}

function unwrap(schema: z.core.$ZodType): z.core.$ZodType {
  let current = schema;
  while ((current as unknown as { unwrap?: () => z.core.$ZodType }).unwrap && current._zod.def.type === 'optional')
    current = (current as unknown as { unwrap: () => z.core.$ZodType }).unwrap();
  return current;
}
