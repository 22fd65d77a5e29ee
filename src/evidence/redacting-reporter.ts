import type { DrillReporter } from '../drill/drill-reporter.ts';
import type { Redactor } from './redactor.ts';

/**
 * The console is evidence too: every hook's arguments go through the redactor before a reporter sees them.
 * Only the hooks the wrapped reporter has are defined, because a drill polls for progress only when asked.
 */
export function redactingReporter(inner: DrillReporter, redactor: Redactor): DrillReporter {
  const wrapped: Record<string, (...args: unknown[]) => void> = {};
  for (const name of hookNames(inner)) {
    const hook = (inner as Record<string, unknown>)[name] as (...args: unknown[]) => void;
    wrapped[name] = (...args: unknown[]) =>
      hook.apply(
        inner,
        args.map((arg) => redactor.redactDeep(arg)),
      );
  }
  return wrapped as DrillReporter;
}

/** The `on…` hooks of an object and of its class chain (reporters are classes, so hooks sit on prototypes). */
function hookNames(reporter: object): string[] {
  const names = new Set<string>();
  for (let current: object | null = reporter; current && current !== Object.prototype; current = Object.getPrototypeOf(current)) {
    for (const name of Object.getOwnPropertyNames(current))
      if (/^on[A-Z]/.test(name) && typeof (reporter as Record<string, unknown>)[name] === 'function') names.add(name);
  }
  return [...names];
}
