import { join } from 'node:path';
import { execa } from 'execa';
import type { ChecklistRecord } from '../../src/evidence/journal.ts';
import { ChecklistProbes } from '../../src/probes/checklist-probes.ts';
import type { ProbeResult, ProbeTarget } from '../../src/probes/probe.ts';
import type { ChecklistItem } from '../../src/runbook/runbook.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';

const PREREQUISITES = 'Disaster Recovery Checklist › Prerequisites';
const RECOVERY_STEPS = 'Disaster Recovery Checklist › Recovery Steps';

/** The probes in the order of the runbook's "Verify recovery" items; jwt-continuity drills the SECRET_KEY warning. */
const VERIFY_PROBES = [
  'api-docs',
  'ui-loads',
  'admin-login',
  'enclaves-connectors-visible',
  'identity-counts-match',
  'worker-running',
  'connector-scan',
] as const;

export function checklistItems(context: ProcedureContext, section: string, parentItem?: string): ChecklistItem[] {
  const found = context.drill.runbook.sections.find((candidate) => candidate.title === section);
  return (found?.checklist ?? []).filter((item) => parentItem === undefined || item.parentItem === parentItem);
}

/**
 * How the harness reaches the recovered application: by configuration alone (URLs, credentials, SQL).
 * The reference stack's addresses and seeded admin, unless the drill config's `probes` names others.
 */
export function applicationTarget(context: ProcedureContext): ProbeTarget {
  const configured = context.drill.probes ?? {};
  return {
    apiUrl: configured.apiUrl ?? context.stack.serviceUrl('api', 8000),
    uiUrl: configured.uiUrl ?? context.stack.serviceUrl('ui', 5173),
    admin: configured.admin ?? { username: 'admin', password: context.drill.canaries.adminPassword },
    database: context.stack.dbClientConfig('nmia'),
    evidenceDir: join(context.evidenceDir, 'checklist'),
    ...(configured.scanConnectorId !== undefined ? { scanConnectorId: configured.scanConnectorId } : {}),
    ...(configured.ui ? { ui: configured.ui } : {}),
  };
}

function attestationFor(context: ProcedureContext, item: string): ChecklistRecord['attestation'] | undefined {
  const signOff = context.drill.attestations.find((candidate) => item.toLowerCase().includes(candidate.item.toLowerCase()));
  return signOff
    ? {
        by: signOff.by,
        at: new Date().toISOString(),
        method: 'human',
        statement: `signed off with --attest "${signOff.item}=${signOff.by}"`,
      }
    : undefined;
}

function record(context: ProcedureContext, entry: ChecklistRecord): void {
  const journal = context.drill.journal;
  journal.checklist ??= [];
  journal.checklist.push(context.drill.redactor.redactDeep({ ...entry, item: `${entry.item} (${context.mode}/${context.procedure.id})` }));
}

/**
 * Runs the "Verify recovery" items as probes; each becomes an application rung and a checklist record.
 * Returns the results, so the caller can tell when every item went green.
 */
export async function verifyRecovery(
  context: ProcedureContext,
  expectations: Parameters<ChecklistProbes['run']>[0],
): Promise<ProbeResult[]> {
  const items = checklistItems(context, RECOVERY_STEPS, 'Verify recovery');
  const results = await new ChecklistProbes(applicationTarget(context), { redactor: context.drill.redactor }).run(expectations);
  for (const result of results) {
    const index = (VERIFY_PROBES as readonly string[]).indexOf(result.id);
    const item = items[index];
    const check = item ? item.text : result.item;
    context.rung({
      rung: 'application',
      check,
      outcome: result.outcome,
      summary: result.summary,
      evidence: { probe: result.id, durationMs: result.durationMs, ...result.evidence },
    });
    record(context, {
      section: RECOVERY_STEPS,
      ...(item ? { line: item.line } : {}),
      item: check,
      outcome: result.outcome,
      summary: result.summary,
      evidence: result.evidence,
      attestation: { by: `nmia-drill probe ${result.id}`, at: new Date().toISOString(), method: 'probe', statement: result.item },
    });
  }
  return results;
}

/** Post-recovery actions are for people: not-run with the manual step spelled out, unless an operator signed off. */
export function recordPostRecoveryActions(context: ProcedureContext): void {
  for (const item of checklistItems(context, RECOVERY_STEPS, 'Post-recovery actions')) {
    const attestation = attestationFor(context, item.text);
    record(context, {
      section: RECOVERY_STEPS,
      line: item.line,
      item: item.text,
      outcome: attestation ? 'passed' : 'not-run',
      summary: attestation
        ? `signed off by ${attestation.by}`
        : `manual step: ${item.text}. Record a sign-off with --attest "${item.text}=<name>"`,
      ...(attestation ? { attestation } : {}),
    });
  }
}

/** Prerequisites: checked where a machine can check them, otherwise listed for sign-off. */
export async function checkPrerequisites(context: ProcedureContext, inputs: { repoUrl: string; backupFile: string }): Promise<void> {
  for (const item of checklistItems(context, PREREQUISITES)) {
    const text = item.text;
    let entry: Pick<ChecklistRecord, 'outcome' | 'summary' | 'evidence'>;
    if (/Docker and Docker Compose/i.test(text)) {
      const versions = await context.stack.versions();
      entry =
        context.stack.kind === 'compose'
          ? { outcome: 'passed', summary: `${versions.docker ?? 'docker'}; ${versions.compose ?? 'compose'}`, evidence: versions }
          : {
              outcome: 'skipped',
              summary:
                'emulated stack: this run used the docker shim, so the recovery host’s Docker was not checked (run with --stack compose)',
            };
    } else if (/Git repository/i.test(text)) {
      const result = await execa('git', ['ls-remote', '--heads', inputs.repoUrl], { reject: false, timeout: 20_000 });
      entry =
        result.exitCode === 0
          ? { outcome: 'passed', summary: `git ls-remote ${inputs.repoUrl}: ${String(result.stdout).split('\n').length} head(s)` }
          : { outcome: 'failed', summary: `git ls-remote ${inputs.repoUrl} failed: ${String(result.stderr).trim()}` };
    } else if (/database backup file/i.test(text)) {
      const evidence = await context.checkArtifact('most recent backup (prerequisite)', inputs.backupFile, 'custom');
      entry = {
        outcome: evidence.readable ? 'passed' : 'failed',
        summary: `${inputs.backupFile}: ${evidence.bytes} bytes, ${evidence.detail}`,
        evidence: { sha256: evidence.sha256 },
      };
    } else {
      entry = { outcome: 'not-run', summary: `needs a person: ${text}. Record a sign-off with --attest "${text}=<name>"` };
    }
    const attestation = attestationFor(context, text);
    if (attestation && entry.outcome === 'not-run') entry = { outcome: 'passed', summary: `signed off by ${attestation.by}` };
    record(context, { section: PREREQUISITES, line: item.line, item: text, ...entry, ...(attestation ? { attestation } : {}) });
  }
}
