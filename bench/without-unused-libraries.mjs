// What-if probe for the scale curve (bench/scale-bench.ts), never used by a real drill: preloaded with
// node --import, it resolves playwright-core and testcontainers to empty stand-ins. A full-backup +
// restore-custom drill on the emulated stack never calls them, so the drill runs unchanged and the
// peak RSS shows what importing them lazily (only for the UI probe / compose stack) would save.
import { register } from 'node:module';

const hooks = `
const STUBS = {
  'playwright-core': 'export const chromium = {};',
  'testcontainers': 'export class DockerComposeEnvironment {} export const Wait = {};',
  '@testcontainers/postgresql': 'export class PostgreSqlContainer {}',
};
export async function resolve(specifier, context, next) {
  if (Object.hasOwn(STUBS, specifier)) return { url: 'nmia-bench-stub:' + specifier, shortCircuit: true };
  return next(specifier, context);
}
export async function load(url, context, next) {
  if (url.startsWith('nmia-bench-stub:')) return { format: 'module', source: STUBS[url.slice('nmia-bench-stub:'.length)], shortCircuit: true };
  return next(url, context);
}`;
register(`data:text/javascript,${encodeURIComponent(hooks)}`);
