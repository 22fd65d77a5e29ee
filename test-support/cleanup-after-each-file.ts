import { afterAll } from 'vitest';
import { cleanupRegistry } from '../src/lifecycle/cleanup-registry.ts';

/**
 * Vitest ends each test file's worker process with a signal, so the registry's 'exit' hook never runs there:
 * what a file left registered (the per-process esbuild bundles, for one) is removed here, after the file's own hooks.
 */
afterAll(async () => {
  const failures = await cleanupRegistry.runAll();
  if (failures.length > 0) throw new AggregateError(failures, failures.map((failure) => failure.message).join('; '));
});
