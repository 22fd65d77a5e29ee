import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { announceSkip, dockerAvailability } from '../../src/docker/docker-availability.ts';
import type { DrillResult } from '../../src/drill/drill-runner.ts';
import type { ProcedureRecord, Rung } from '../../src/evidence/journal.ts';
import { REPO } from './drill-harness.ts';
import { realNmiaSource } from '../../test-support/real-nmia-checkout.ts';

/**
 * The real NMIA for drill scenarios: its repository (NMIA_DRILL_APP_REPO, else the shared bundle: one source for
 * every real-app suite and for .ci/provision-docker.sh's images), the images .ci/provision-docker.sh builds for it, and what two drills of the same runbook
 * must agree on when one drills the reference app and the other the real one.
 */
export const REAL_APP = realNmiaSource() ?? join(REPO, '..', 'shared', 'nmia', 'nmia.bundle');
const IMAGES = ['nmia-drill/postgres:17', 'nmia-api', 'nmia-worker', 'nmia-collector', 'nmia-ui', 'alpine:latest'];

export async function realAppAvailability(what: string): Promise<{ available: boolean; suffix: string }> {
  const docker =
    existsSync(REAL_APP.split('#')[0]!) || /:\/\/|@/.test(REAL_APP)
      ? await dockerAvailability(IMAGES)
      : { available: false, reason: `no NMIA repository at ${REAL_APP} (set NMIA_DRILL_APP_REPO)` };
  return { available: docker.available, suffix: announceSkip(what, docker) };
}

export type ScenarioDrill = DrillResult & { cleanup: () => Promise<void> };

/** Which records of a drill to compare: a mode, and optionally one procedure. */
export interface RecordScope {
  mode: 'order' | 'alone';
  id?: string;
}

const inScope = (result: ScenarioDrill, scope: RecordScope): ProcedureRecord[] =>
  result.journal.procedures.filter(
    (record) => !record.id.startsWith('pending:') && record.mode === scope.mode && (scope.id === undefined || record.id === scope.id),
  );

export const findingsOf = (result: ScenarioDrill) => result.journal.findings.map((finding) => `${finding.procedure}: ${finding.title}`);

export const outcomesOf = (result: ScenarioDrill, scope: RecordScope = { mode: 'order' }) =>
  Object.fromEntries(inScope(result, scope).map((record) => [`${record.mode}/${record.id}`, record.outcome]));

/** Run-specific text (timestamps, sizes) left out: what must be equal between the reference and the real app. */
const normalize = (text: string) => text.replace(/\d{8}_\d{6}/g, '<ts>').replace(/\(\d+ bytes\)/g, '(<n> bytes)');

/** What a drill of the runbook concluded, for comparing two apps: outcomes, findings by kind, checks, exit codes. */
export function verdicts(result: ScenarioDrill, scope: RecordScope) {
  const records = inScope(result, scope);
  const findingIds = new Set(records.flatMap((record) => record.findings));
  return {
    outcomes: outcomesOf(result, scope),
    findings: result.journal.findings
      .filter((finding) => findingIds.has(finding.id))
      .map((finding) => `${finding.kind} ${finding.procedure}: ${normalize(finding.title)}`)
      .sort(),
    checks: Object.fromEntries(
      records.map((record) => [
        `${record.mode}/${record.id}`,
        record.rungs.map((rung) => `${rung.outcome} ${rung.rung}: ${normalize(rung.check)}`),
      ]),
    ),
    exitCodes: Object.fromEntries(
      records.map((record) => [
        `${record.mode}/${record.id}`,
        record.blocks.map((block) => block.commands.map((command) => command.exitCode)),
      ]),
    ),
  };
}

/**
 * Each checklist item's result before the disaster on a healthy deployment, the same on the reference and the real
 * app: the UI's sign-in fails (its Vite proxy points at the ui container itself), every other item passes. Identity
 * counts are compared with the pre-disaster manifest instead, and the token item has no pre-disaster token yet.
 */
export const HEALTHY_BASELINE = {
  'api-docs': 'passed',
  'ui-loads': 'failed',
  'admin-login': 'passed',
  'enclaves-connectors-visible': 'passed',
  'identity-counts-match': undefined,
  'worker-running': 'passed',
  'connector-scan': 'passed',
  'jwt-continuity': undefined,
} as const;

/** The baseline outcome each checklist rung carries, by probe. */
export const baselineOutcomes = (rungs: readonly Rung[]) =>
  Object.fromEntries(rungs.map((rung) => [rung.evidence?.probe, (rung.evidence?.baseline as { outcome?: string } | undefined)?.outcome]));
