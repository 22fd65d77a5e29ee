import { basename, join } from 'node:path';
import { BACKUP_KEY_PLACEHOLDER, isOpenPgpMessage } from '../../src/custody/backup-key.ts';
import { execa } from 'execa';
import type { ChecklistRecord } from '../../src/evidence/journal.ts';
import { ChecklistProbes } from '../../src/probes/checklist-probes.ts';
import type { ProbeResult, ProbeTarget } from '../../src/probes/probe.ts';
import type { ChecklistItem } from '../../src/runbook/runbook.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';
import { checkFixtureDirectory, unavailableParts } from './fixture-directory-check.ts';
import { uiProxyFix } from './ui-proxy-diagnosis.ts';

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

const BASELINE = 'checklistBaseline';
/** Identity counts are compared with the pre-disaster manifest itself, so they have no baseline of their own. */
const BASELINE_PROBES = VERIFY_PROBES.filter((id) => id !== 'identity-counts-match');

/**
 * The "Verify recovery" probes once before the disaster, against the same stack: an item the application
 * fails already then is an application defect, not a failed recovery (verifyRecovery reads this).
 */
export async function probeBaseline(context: ProcedureContext): Promise<void> {
  await checkFixtureDirectory(context, 30_000);
  const results = await context.harnessAction(
    'baseline: the "Verify recovery" checklist before the disaster (what the application fails anyway)',
    `probes ${BASELINE_PROBES.join(', ')}`,
    () =>
      new ChecklistProbes(
        { ...applicationTarget(context), evidenceDir: join(context.evidenceDir, 'checklist-baseline') },
        {
          redactor: context.drill.redactor,
        },
      ).run({
        only: BASELINE_PROBES,
        unavailable: unavailableParts(context),
        // What the runbook says to read, as after the recovery; any line since the drill began counts.
        workerLogs: {
          read: async () => (await context.stack.docker(['compose', 'logs', 'worker'])).stdout,
          since: new Date(context.drill.journal.startedAt),
        },
      }),
  );
  context.scratch[BASELINE] = new Map(results.map((result) => [result.id, result]));
}

/**
 * A probe that fails after the recovery and failed the same way before the disaster says nothing about the
 * runbook: its rung is skipped (neither proven nor disproven), with an application finding. Anything else
 * stands as the probe decided.
 */
export function againstBaseline(result: ProbeResult, before: ProbeResult | undefined): ProbeResult & { applicationDefect?: ProbeResult } {
  if (result.outcome !== 'failed' || before?.outcome !== 'failed') return result;
  return {
    ...result,
    outcome: 'skipped',
    summary: `not a recovery failure: the application fails this before the disaster too (${before.summary}); after the recovery: ${result.summary}`,
    applicationDefect: before,
  };
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
  const baseline = context.scratch[BASELINE] as Map<string, ProbeResult> | undefined;
  const probed = await new ChecklistProbes(applicationTarget(context), { redactor: context.drill.redactor }).run({
    ...expectations,
    unavailable: unavailableParts(context),
  });
  const results = probed.map((result) => againstBaseline(result, baseline?.get(result.id)));
  for (const result of results) {
    const index = (VERIFY_PROBES as readonly string[]).indexOf(result.id);
    const item = items[index];
    const check = item ? item.text : result.item;
    // Each item's own result before the disaster, beside the one after (identity counts compare with the manifest instead).
    const before = baseline?.get(result.id);
    const baselineEvidence = before ? { baseline: { outcome: before.outcome, summary: before.summary } } : {};
    context.rung({
      rung: 'application',
      check,
      outcome: result.outcome,
      summary: result.summary,
      evidence: { probe: result.id, durationMs: result.durationMs, ...baselineEvidence, ...result.evidence },
    });
    if (result.applicationDefect) {
      // Where the cause is known from the app's own logs and files, the fix names the change; else what to make hold.
      const diagnosed = result.id === 'ui-loads' ? await uiProxyFix(context) : undefined;
      context.finding({
        kind: 'application',
        ...(item ? { line: item.line } : {}),
        severity: 'medium',
        title: `${check}: the application fails this before the disaster too`,
        evidence: { before: result.applicationDefect.summary, after: result.summary, probe: result.id, ...diagnosed?.evidence },
        whyItMatters:
          'The recovered application is no worse than before, so the runbook is not at fault; but this checklist item cannot confirm a recovery until the application passes it.',
        suggestedFix:
          diagnosed?.suggestedFix ??
          `Fix the application (not the runbook) so that "${check}" holds on a healthy deployment; before the disaster it gave: ${result.applicationDefect.summary}`,
      });
    }
    record(context, {
      section: RECOVERY_STEPS,
      ...(item ? { line: item.line } : {}),
      item: check,
      outcome: result.outcome,
      summary: result.summary,
      evidence: { ...baselineEvidence, ...result.evidence },
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

/** The backup passphrase: the drill holds it in custody, so what it can check is that the backup decrypts with it. */
async function checkBackupPassphrase(
  context: ProcedureContext,
  backupFile: string,
): Promise<Pick<ChecklistRecord, 'outcome' | 'summary' | 'evidence'>> {
  if (!(await isOpenPgpMessage(backupFile)))
    return { outcome: 'skipped', summary: `${basename(backupFile)} is not encrypted: there is no passphrase to check it with` };
  try {
    await context.readablePath(backupFile);
    return {
      outcome: 'passed',
      summary: `${basename(backupFile)} decrypts with the passphrase the drill keeps off the host (bound to ${BACKUP_KEY_PLACEHOLDER} in step 4)`,
    };
  } catch (error) {
    return {
      outcome: 'failed',
      summary: `${basename(backupFile)} does not decrypt with the drill's passphrase: ${(error as Error).message}`,
    };
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
    } else if (/backup passphrase/i.test(text)) {
      entry = await checkBackupPassphrase(context, inputs.backupFile);
    } else {
      entry = { outcome: 'not-run', summary: `needs a person: ${text}. Record a sign-off with --attest "${text}=<name>"` };
    }
    const attestation = attestationFor(context, text);
    if (attestation && entry.outcome === 'not-run') entry = { outcome: 'passed', summary: `signed off by ${attestation.by}` };
    record(context, { section: PREREQUISITES, line: item.line, item: text, ...entry, ...(attestation ? { attestation } : {}) });
  }
}
