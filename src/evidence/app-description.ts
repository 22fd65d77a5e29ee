import type { AppRecord } from './journal.ts';

/** The app under drill in one line: which one, from where, at which commit. */
export function describeApp(app: AppRecord | undefined): string {
  if (!app) return 'not recorded';
  return `${app.kind === 'reference' ? 'reference app' : 'repository'} ${app.source}${app.commit ? ` at commit ${app.commit}` : ''}`;
}

/**
 * What ran instead of what the app's files name (an image this machine lacks, the harness's clients), each with
 * its reason, and the db server's real version: a reader must see that the drill did not run the app exactly as written.
 */
export function describeSubstitutions(app: AppRecord | undefined): string[] {
  const lines = (app?.substitutions ?? []).map(
    (substitution) => `${substitution.what}: ${substitution.written} → ${substitution.used} (${substitution.reason})`,
  );
  if (app?.serverVersion) lines.push(`db server version ${app.serverVersion}`);
  return lines;
}
