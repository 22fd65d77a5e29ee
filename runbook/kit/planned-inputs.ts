import { ENVIRONMENT_LOSS } from './environment-loss.ts';
import type { PlanContext, PlannedArtifact, PlannedBinding } from '../../src/plan/procedure-plan.ts';

/**
 * Plan-time counterparts of the harness's shared helpers (runbook/kit/disasters.ts, environment-loss.ts):
 * the same names and paths, described instead of made.
 */

/** What loseEnvironment() does, in words. */
export const PLANNED_ENVIRONMENT_LOSS = `${ENVIRONMENT_LOSS}: the app's writes stop, every container and volume of the project is removed (docker compose down -v) and the install directory is deleted`;

const DUMP_ARTIFACT = { custom: 'custom-dump', plain: 'plain-dump' } as const;

/** Mirrors harnessDump(): `harness_backup_<14 digits>.dump|sql` in ./backups, made only when no earlier section left one. */
export function planHarnessDump(plan: PlanContext, format: 'custom' | 'plain'): PlannedArtifact {
  const name = DUMP_ARTIFACT[format];
  const existing = plan.artifact(name);
  if (existing) return existing;
  const made = {
    name,
    file: `harness_backup_{YYYYMMDDHHMMSS}.${format === 'custom' ? 'dump' : 'sql'}`,
    from: 'the harness (pg_dump inside the db service)',
  };
  plan.harnessInput(made, `a ${format} dump, since no earlier section produced one here`);
  return made;
}

/** Mirrors the `(sha256 …)` reasons of the live bindings: the hash is only known once the file exists. */
export function plannedFileBinding(placeholder: string, artifact: PlannedArtifact, what: string): PlannedBinding {
  return {
    placeholder,
    value: artifact.file,
    reason: `${what}, left by ${artifact.from}`,
    runtime: 'the file is named by the time it is written (its sha256 is recorded in the journal)',
  };
}

/** Mirrors recoveryBindings(): the recovery host's inputs, all inside the drill workspace. */
export function planRecoveryBindings(plan: PlanContext, secretKeyReason: string): PlannedBinding[] {
  const workspace = 'the drill workspace is a temp directory created when the drill starts';
  return [
    {
      placeholder: '<repo-url>',
      value: `file://${plan.harnessDir}/git/nmia.git`,
      reason: 'a local Git repository of the compose project, made by the harness',
      runtime: workspace,
    },
    {
      placeholder: '/opt/nmia',
      value: plan.projectDir,
      reason: 'the recovery host’s install directory, inside the drill workspace',
      runtime: workspace,
    },
    { placeholder: '<original-secret-key>', value: '<redacted>', reason: secretKeyReason, secret: true },
    {
      placeholder: '/path/to/nmia_backup.dump',
      value: `${plan.harnessDir}/offsite/nmia_backup.dump`,
      reason: 'the most recent custom-format backup, from off-host storage',
      runtime: workspace,
    },
  ];
}

/** Mirrors prepareRecovery(): the repository, the latest backup copied off the host, a token issued before the disaster. */
export function planRecoveryInputs(plan: PlanContext): void {
  const dump = planHarnessDump(plan, 'custom');
  plan.harnessInput(
    { name: 'git-repository', file: `${plan.harnessDir}/git/nmia.git`, from: 'the harness' },
    'a Git repository of the NMIA compose project (the runbook clones it)',
  );
  plan.harnessInput(
    { name: 'offsite-dump', file: `${plan.harnessDir}/offsite/nmia_backup.dump`, from: 'the harness' },
    `the most recent backup (${dump.file}), kept off the host`,
  );
}
