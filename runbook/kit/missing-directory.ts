import type { FailureDiagnosis } from '../../src/drill/procedure.ts';

/**
 * `docker compose cp … ./backups/<file>` (or `> ./backups/<file>`) where ./backups does not exist: a fresh
 * clone of NMIA has none, and the runbook never creates it (only the cron script's `mkdir -p` does).
 */
export function diagnoseMissingBackupsDir(failed: { command: string; stderr: string }): FailureDiagnosis | undefined {
  const missing =
    /invalid output path: directory "([^"]*\/backups)" does not exist/.exec(failed.stderr) ??
    /(\.\/backups\/[^:\s]*): No such file or directory/.exec(failed.stderr);
  if (!missing) return undefined;
  return {
    severity: 'high',
    title: 'the section writes into ./backups, which the runbook never creates: on a fresh checkout of NMIA it does not exist',
    whyItMatters:
      'The dump is made inside the container but never reaches the host: the section stops at the copy and the operator is left without a backup file.',
    suggestedFix: `Create the directory first: put \`mkdir -p ./backups\` before \`${failed.command.split('\n')[0]}\` (or once at the top of "Database Backup").`,
    evidence: { missingDirectory: missing[1] },
  };
}
