import type { FailureDiagnosis } from '../../src/drill/procedure.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';

const NO_WAIT: FailureDiagnosis = {
  severity: 'high',
  title: 'step 3 starts the database but nothing waits for it: step 4 runs before PostgreSQL accepts connections',
  whyItMatters:
    '`docker compose up -d` returns once the container runs, while a new data volume is still being initialised; "# Wait for health check to pass" is only a comment, and `docker compose ps` does not wait.',
  suggestedFix: 'Start it with `docker compose up -d --wait db`, which returns once the healthcheck passes.',
};

/** Known ways the recovery steps fail as written. */
export function diagnoseRecoveryStep(
  _context: ProcedureContext,
  failed: { command: string; exitCode: number | null; stderr: string },
): FailureDiagnosis | undefined {
  const notReady =
    /(could not connect|Is the server running|the database system is (starting up|shutting down)|No such file or directory.*\.s\.PGSQL)/i;
  if (/docker compose exec db (dropdb|createdb|pg_restore|psql)/.test(failed.command) && notReady.test(failed.stderr)) return NO_WAIT;
  return undefined;
}

/**
 * Whether step 3 itself waits for the database. Whether step 4 then fails is a race the drill may win
 * (a fast initdb, a slow shell); the defect is in the text either way, so it is judged on the text too.
 */
export function checkRecoveryWaitsForDatabase(context: ProcedureContext): void {
  const step3 = context.block(2);
  const waits = /docker compose up\b[^\n]*--wait\b/.test(step3.text) || /\b(pg_isready|until|while)\b/.test(step3.text);
  const check = 'step 3 waits for the database before step 4 uses it';
  if (waits) {
    context.pass('intent', check, 'step 3 waits (docker compose up --wait, or a readiness loop)');
    return;
  }
  context.fail(
    'intent',
    check,
    'step 3 starts the db with `docker compose up -d` and nothing waits; this run’s step 4 happened to start after PostgreSQL was ready',
    { step3: step3.text },
  );
  context.finding({
    line: step3.line,
    command: 'docker compose up -d db',
    evidence: { step3: step3.text, observed: 'won the race this time' },
    ...NO_WAIT,
  });
}
