// Lazy-loading check for the module-load cost (bench/scale-bench.ts measureModuleLoad), never used by a
// real drill: preloaded with node --import, it resolves playwright-core and testcontainers to empty
// stand-ins. They are imported on demand (compose stack, UI probe), so `node bin/nmia-drill.js list` peaks
// at about the same RSS with or without this; a static import of either would show as the difference.
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
