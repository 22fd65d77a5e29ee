import type { FailureDiagnosis } from './procedure.ts';
import type { ProcedureContext } from './procedure-context.ts';

/** Known ways the recovery steps fail as written. */
export function diagnoseRecoveryStep(_context: ProcedureContext, failed: { command: string; exitCode: number | null; stderr: string }): FailureDiagnosis | undefined {
  const notReady = /(could not connect|Is the server running|the database system is (starting up|shutting down)|No such file or directory.*\.s\.PGSQL)/i;
  if (/docker compose exec db (dropdb|createdb|pg_restore|psql)/.test(failed.command) && notReady.test(failed.stderr)) {
    return {
      severity: 'high',
      title: 'step 3 starts the database but nothing waits for it: step 4 runs before PostgreSQL accepts connections',
      whyItMatters: '`docker compose up -d` returns once the container runs, while a new data volume is still being initialised; "# Wait for health check to pass" is only a comment, and `docker compose ps` does not wait.',
      suggestedFix: 'Start it with `docker compose up -d --wait db`, which returns once the healthcheck passes.',
    };
  }
  return undefined;
}
