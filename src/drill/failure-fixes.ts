import type { Rung } from '../evidence/journal.ts';

/**
 * The fix of a finding no procedure diagnosed more precisely: still stated in the runbook's own terms (which
 * command, which section, what the check saw), never a pointer at "the evidence".
 */
export function commandFailureFix(failed: {
  command: string;
  section: string;
  line: number;
  exitCode: number | null;
  errorLine: string;
}): string {
  const what = failed.errorLine
    ? `it printed "${failed.errorLine}"`
    : `it exited ${failed.exitCode ?? 'on a signal'} without an error line`;
  return `Change \`${failed.command}\` in "${failed.section}" (block at line ${failed.line}) so it succeeds on the stack the runbook describes: ${what}. Add the step it depends on before it, or correct the name or path it uses.`;
}

/** What to change in a section whose check failed, by the rung that failed. */
const RUNG_FIXES: Record<Rung['rung'], (section: string) => string> = {
  artifact: (section) => `Make "${section}" write the backup file completely and check it where it is kept (pg_restore --list, tar -tzf)`,
  restorability: (section) =>
    `Make every command of "${section}" stop at the first error (psql -v ON_ERROR_STOP=1, pg_restore --exit-on-error)`,
  structure: (section) =>
    `Make "${section}" restore the whole schema (no --schema-only/--data-only split, no --clean against a different schema)`,
  content: (section) =>
    `Make "${section}" restore every table's rows: restore from a complete dump into an empty database and wait for it to finish`,
  application: (section) =>
    `Add to "${section}" the step that brings this item back after the restore (start or restart the service it needs, and wait for it)`,
  timing: (section) => `Shorten the slowest step of "${section}" (e.g. pg_restore -j <cores>), or agree a target it can meet`,
  intent: (section) => `Change "${section}" so that this check holds`,
};

export function failedRungFix(rung: Pick<Rung, 'rung' | 'check' | 'summary'>, section: string): string {
  return `${RUNG_FIXES[rung.rung](section)}. The check "${rung.check}" found: ${rung.summary}`;
}

/** Every rung's fix, for the test that holds each fix text to be concrete. */
export function everyRungFix(section: string): string[] {
  return (Object.keys(RUNG_FIXES) as Rung['rung'][]).map((rung) =>
    failedRungFix({ rung, check: 'a check', summary: 'what it saw' }, section),
  );
}
