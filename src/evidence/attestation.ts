import { describeApp, describeSubstitutions } from './app-description.ts';
import { assessControls, type ControlResult } from './control-mapping.ts';
import { groupFindings } from './finding-lifecycle.ts';
import {
  FINDING_KIND_TITLES,
  FINDING_KINDS,
  type FindingKind,
  type Journal,
  type Outcome,
  outcomeSymbol,
  type ProcedureRecord,
  type Severity,
} from './journal.ts';
import { formatDuration, type TimingMeasure, timingMeasures, verdictOf } from './timing-measures.ts';

/*
 * The one-page answer an auditor reads first: verdict, scope, what was not tested and why, RTO/RPO against
 * target, the backup that was restored, findings by kind, controls, sign-offs. Built from the (redacted)
 * journal only; the long report stays behind it. Nothing affirmative is said of a check that did not pass.
 */

export interface AttestationMeasure {
  name: 'RTO' | 'RPO';
  verdict: 'met' | 'missed' | 'no-target' | 'not-measured';
  text: string;
}

export interface RestoredBackup {
  name: string;
  path: string;
  bytes: number;
  sha256: string;
  format: string;
  /** Who made it and when, where it is kept. */
  provenance: string;
  /** Time from the end of the backup to the start of the restore, when both are known. */
  age: string;
  restoredBy: string;
}

export interface Attestation {
  drillId: string;
  outcome: Outcome;
  verdict: string;
  scope: { label: string; value: string }[];
  notTested: string[];
  measures: AttestationMeasure[];
  backup?: RestoredBackup;
  backupNote?: string;
  findings: { kind: FindingKind; title: string; count: number; bySeverity: string; items: string[] }[];
  procedures: { id: string; outcomes: { mode: string; outcome: Outcome }[] }[];
  controls: ControlResult[];
  signOffs: { role: string; who: string; detail: string }[];
  signing?: string;
}

const RECOVERY = /^(dr-recovery|restore-|volume-restore)/;

function plural(count: number, word: string): string {
  return `${count} ${word}${count === 1 ? '' : 's'}`;
}

function verdictOfDrill(journal: Journal): string {
  const runbookDefects = journal.findings.filter((finding) => finding.kind === 'runbook').length;
  const others = journal.findings.length - runbookDefects;
  const rest = others > 0 ? `; ${plural(others, 'other finding')} (application or environment, not counted against the runbook)` : '';
  if (journal.interrupted) return `INTERRUPTED: the drill was stopped (${journal.error ?? 'signal'}); it proves nothing either way.`;
  if (journal.outcome === 'error')
    return `ERROR: the drill could not finish${journal.error ? ` (${journal.error})` : ''}; this is no verdict on the runbook${runbookDefects > 0 ? `, though it found ${plural(runbookDefects, 'runbook defect')}` : ''}${rest}.`;
  if (journal.outcome === 'failed') {
    if (journal.runbook.lockState === 'drift' && !journal.runbook.allowDrift)
      return 'FAILED: the runbook changed since it was last reviewed (drift), so it was not drilled.';
    return `FAILED: the runbook as written did not pass: ${plural(runbookDefects, 'runbook defect')}${rest}.`;
  }
  if (journal.outcome === 'passed') return `PASSED: every procedure that ran passed with the runbook as written${rest}.`;
  return `${outcomeSymbol(journal.outcome)}: nothing was proven.`;
}

function scopeOf(journal: Journal): { label: string; value: string }[] {
  const versions = Object.entries(journal.stack?.versions ?? {})
    .map(([name, version]) => `${name} ${version}`)
    .join(', ');
  const verifyBackup = journal.runbook.path.startsWith('(none: verify-backup');
  const seeded = Object.values(journal.seeding?.rows ?? {}).reduce((sum, rows) => sum + rows, 0);
  const substitutions = describeSubstitutions(journal.app);
  const app = `${describeApp(journal.app)}${substitutions.length > 0 ? `; instead of as written: ${substitutions.join('; ')}` : ''}`;
  const selection =
    journal.options.only.length > 0 || journal.options.skip.length > 0
      ? `partial: ${[
          journal.options.only.length > 0 ? `only ${journal.options.only.join(', ')}` : '',
          journal.options.skip.length > 0 ? `skip ${journal.options.skip.join(', ')}` : '',
        ]
          .filter(Boolean)
          .join(', ')}`
      : 'every procedure of the runbook';
  return [
    {
      label: 'Runbook',
      value: `${journal.runbook.path} (sha256 ${journal.runbook.sha256.slice(0, 16)}…, lock ${journal.runbook.lockState}${journal.runbook.allowDrift ? ', --allow-drift' : ''})`,
    },
    { label: 'Application', value: app },
    {
      label: 'Stack',
      value: journal.stack ? `${journal.stack.kind}: ${journal.stack.reason}${versions ? ` (${versions})` : ''}` : 'no stack was started',
    },
    {
      label: 'Data',
      value: verifyBackup
        ? 'a real backup file (verify-backup), restored into a throwaway database'
        : `synthetic, seed ${journal.options.seed}, scale ${journal.options.scale} identities${seeded > 0 ? ` (${seeded} rows seeded)` : ''}`,
    },
    { label: 'Selection', value: `${selection}; isolation ${journal.options.isolation}` },
    { label: 'When', value: `${journal.startedAt} → ${journal.finishedAt ?? 'unfinished'}` },
  ];
}

function notTestedOf(journal: Journal): string[] {
  const lines = new Map<string, string[]>();
  for (const procedure of journal.procedures) {
    if (procedure.outcome !== 'skipped' && procedure.outcome !== 'not-run') continue;
    const reason = `${outcomeSymbol(procedure.outcome)}: ${procedure.reason ?? 'no reason recorded'}`;
    lines.set(reason, [...(lines.get(reason) ?? []), procedure.mode === 'order' ? procedure.id : `${procedure.id} (${procedure.mode})`]);
  }
  const result = [...lines].map(([reason, ids]) => `${[...new Set(ids)].join(', ')}: ${reason}`);
  const items = (journal.checklist ?? []).filter((item) => item.outcome === 'not-run' || item.outcome === 'skipped');
  if (items.length > 0)
    result.push(
      `${plural(items.length, 'checklist item')} neither probed nor attested (no sign-off given with --attest): ${items
        .slice(0, 4)
        .map((item) => item.item)
        .join('; ')}${items.length > 4 ? '; …' : ''}`,
    );
  if (journal.stack?.kind === 'emulated')
    result.push(`Docker and the real compose services: the stack was emulated (${journal.stack.reason}).`);
  return result;
}

function measureText(name: 'RTO' | 'RPO', measure: TimingMeasure | undefined): AttestationMeasure {
  const verdict = verdictOf(measure);
  const target = measure?.targetMs !== undefined ? formatDuration(measure.targetMs) : undefined;
  const detail = measure?.detail ? ` (${measure.detail})` : '';
  if (measure?.unreadable) return { name, verdict: 'not-measured', text: `not measured: ${measure.unreadable}` };
  if (verdict === 'not-measured')
    return {
      name,
      verdict,
      text: `not measured${target ? `; target ${target}` : '; no target recorded'}${measure?.detail ? `: ${measure.detail}` : ': no recovery procedure reached the point where it is measured'}`,
    };
  const measured = formatDuration(measure!.measuredMs!);
  if (verdict === 'no-target') return { name, verdict, text: `${measured}, no target recorded${detail}` };
  return { name, verdict, text: `${measured} against a target of ${target}: ${verdict === 'met' ? 'MET' : 'MISSED'}${detail}` };
}

function endOf(procedure: ProcedureRecord): number | undefined {
  if (!procedure.startedAt) return undefined;
  return Date.parse(procedure.startedAt) + (procedure.durationMs ?? 0);
}

/** The dump the first recovery restored: the backup artifact it reads (custom-dump first) made before it in its environment. */
function restoredBackupOf(journal: Journal): { backup?: RestoredBackup; note?: string } {
  const user = journal.procedures.flatMap((procedure) => procedure.artifacts).find((artifact) => artifact.producedBy === 'user');
  if (user)
    return {
      backup: {
        ...user,
        provenance: `supplied by the operator (verify-backup); its origin and storage are outside the drill: ${user.path}`,
        age: 'unknown: the file carries no creation time the drill can trust',
        restoredBy: 'verify-backup',
      },
    };
  const recovery = journal.procedures.find(
    (procedure) => RECOVERY.test(procedure.id) && procedure.outcome !== 'not-run' && procedure.outcome !== 'skipped',
  );
  if (!recovery) return { note: 'no restore ran in this drill, so no backup was restored' };
  const start = recovery.startedAt ? Date.parse(recovery.startedAt) : Number.POSITIVE_INFINITY;
  const candidates = journal.procedures
    .filter((procedure) => procedure.mode === recovery.mode && procedure.artifacts.length > 0 && (endOf(procedure) ?? 0) <= start)
    .flatMap((procedure) => procedure.artifacts.map((artifact) => ({ procedure, artifact })))
    .filter(({ artifact }) => artifact.readable);
  const chosen =
    candidates.find(({ artifact }) => artifact.name === 'custom-dump') ??
    candidates.filter(({ artifact }) => ['custom', 'plain', 'directory', 'tar'].includes(artifact.format)).at(-1);
  if (!chosen) return { note: `${recovery.mode}/${recovery.id} ran, but no readable backup made before it is recorded` };
  const { procedure, artifact } = chosen;
  const made = endOf(procedure);
  return {
    backup: {
      name: artifact.name,
      path: artifact.path,
      bytes: artifact.bytes,
      sha256: artifact.sha256,
      format: artifact.format,
      provenance: `made by the runbook's "${procedure.section}"${procedure.line ? ` (line ${procedure.line})` : ''} in this drill (${procedure.mode}/${procedure.id}${made !== undefined ? `, finished ${new Date(made).toISOString()}` : ''}) on the ${journal.stack?.kind ?? 'unknown'} stack; kept at ${artifact.path} in the drill's workspace`,
      age:
        made !== undefined && Number.isFinite(start)
          ? `${formatDuration(Math.max(0, start - made))} old when the restore started (a fresh drill backup, not a production one)`
          : 'unknown',
      restoredBy: `${recovery.mode}/${recovery.id}`,
    },
  };
}

const SEVERITIES: Severity[] = ['critical', 'high', 'medium', 'low', 'info'];

export function buildAttestation(journal: Journal): Attestation {
  const { rto, rpo } = timingMeasures(journal);
  const { backup, note } = restoredBackupOf(journal);
  const ids = [...new Set(journal.procedures.map((procedure) => procedure.id))];
  const signOffs: Attestation['signOffs'] = [
    {
      role: 'Operator',
      who: journal.runner.operator ?? journal.runner.ci?.actor ?? `${journal.runner.user} (OS user; no operator named with --operator)`,
      detail: `${journal.runner.user}@${journal.runner.host}${journal.runner.ci ? ` in ${journal.runner.ci.provider}${journal.runner.ci.runUrl ? `, run ${journal.runner.ci.runUrl}` : ''}` : ''}`,
    },
    ...(journal.checklist ?? [])
      .filter((item) => item.attestation?.method === 'human' && item.outcome === 'passed')
      .map((item) => ({ role: 'Checklist sign-off', who: item.attestation!.by, detail: `${item.item} (${item.attestation!.at})` })),
    {
      role: 'Reviewer',
      who: 'not reviewed when written',
      detail: 'approvals are added later with nmia-drill sign, in reviews/ (verify-evidence lists them)',
    },
  ];
  return {
    drillId: journal.drillId,
    outcome: journal.outcome,
    verdict: verdictOfDrill(journal),
    scope: scopeOf(journal),
    notTested: notTestedOf(journal),
    measures: [measureText('RTO', rto), measureText('RPO', rpo)],
    ...(backup ? { backup } : {}),
    ...(note ? { backupNote: note } : {}),
    // One finding per defect (order/alone copies grouped), under its stable id.
    findings: FINDING_KINDS.map((kind) => {
      const findings = groupFindings(journal).filter((finding) => finding.kind === kind);
      return {
        kind,
        title: FINDING_KIND_TITLES[kind],
        count: findings.length,
        bySeverity: SEVERITIES.map((severity) => [severity, findings.filter((finding) => finding.severity === severity).length] as const)
          .filter(([, count]) => count > 0)
          .map(([severity, count]) => `${count} ${severity}`)
          .join(', '),
        items: findings.map(
          (finding) =>
            `${finding.id} [${finding.severity}] ${finding.procedure} (${finding.modes.join('+') || 'no mode'}; ${finding.journalIds.join(', ')}): ${finding.title}`,
        ),
      };
    }),
    procedures: ids.map((id) => ({
      id,
      outcomes: journal.procedures
        .filter((procedure) => procedure.id === id)
        .map((procedure) => ({ mode: procedure.mode, outcome: procedure.outcome })),
    })),
    controls: assessControls(journal),
    signOffs,
    ...(journal.signing ? { signing: `SHA256SUMS signed with ed25519 key ${journal.signing.fingerprint}` } : {}),
  };
}

/** Markdown cells: no pipe or newline may break the table. */
function cell(text: string): string {
  return text.replace(/\|/g, '\\|').replace(/\r?\n/g, ' ');
}

const CONTROL_STATUS: Record<ControlResult['status'], string> = {
  evidence: 'evidence produced',
  partial: 'partial',
  failed: 'FAILED',
  missing: 'no evidence',
};

/** Journal text is shown as text in any Markdown viewer: no markup, no control characters. */
function plainDeep<T>(value: T): T {
  if (typeof value === 'string')
    return value
      .replace(/&/g, '&amp;')
      .replace(/</g, '&lt;')
      .replace(/>/g, '&gt;')
      .replace(/[\u0000-\u0008\u000B\u000C\u000E-\u001F\u007F]/g, (char) => `\\u${char.charCodeAt(0).toString(16).padStart(4, '0')}`) as T;
  if (Array.isArray(value)) return value.map(plainDeep) as T;
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, plainDeep(item)])) as T;
  return value;
}

/** `bundleNotes`: one line each about the bundle itself (attestation.pdf not written), at the end. */
export function renderAttestationMarkdown(raw: Attestation, bundleNotes: readonly string[] = []): string {
  const attestation = plainDeep(raw);
  const lines = [
    `# Attestation: DR drill ${attestation.drillId}`,
    '',
    `**Verdict:** ${attestation.verdict}`,
    '',
    '## Scope',
    '',
    ...attestation.scope.map((item) => `- **${item.label}:** ${item.value}`),
    '',
    '## Not tested, and why',
    '',
    ...(attestation.notTested.length > 0
      ? attestation.notTested.map((line) => `- ${line}`)
      : ['- Nothing left out: every procedure of the runbook ran.']),
    '',
    '## Recovery objectives',
    '',
    ...attestation.measures.map((measure) => `- **${measure.name}:** ${measure.text}`),
    '',
    '## Backup restored',
    '',
    ...(attestation.backup
      ? [
          `- **File:** ${attestation.backup.path} (${attestation.backup.format}, ${attestation.backup.bytes} bytes, sha256 ${attestation.backup.sha256})`,
          `- **Provenance:** ${attestation.backup.provenance}`,
          `- **Age:** ${attestation.backup.age}`,
          `- **Restored by:** ${attestation.backup.restoredBy}`,
        ]
      : [`- ${attestation.backupNote ?? 'none'}`]),
    '',
    '## Findings by kind',
    '',
    '| kind | count | severities |',
    '| --- | ---: | --- |',
    ...attestation.findings.map((group) => `| ${cell(group.title)} | ${group.count} | ${cell(group.bySeverity || '—')} |`),
    '',
    ...attestation.findings.flatMap((group) => group.items.slice(0, 8).map((item) => `- ${cell(item)}`)),
    '',
    '## Procedures',
    '',
    '| procedure | outcomes |',
    '| --- | --- |',
    ...attestation.procedures.map(
      (procedure) =>
        `| ${cell(procedure.id)} | ${procedure.outcomes.map((outcome) => `${outcome.mode}: ${outcomeSymbol(outcome.outcome)}`).join(', ')} |`,
    ),
    '',
    '## Controls',
    '',
    'Evidence this drill produced per control (mapping: controls/control-map.yaml; controls cited by id only).',
    '',
    '| control | framework | status | produced | missing or failed |',
    '| --- | --- | --- | --- | --- |',
    ...attestation.controls.map(
      (control) =>
        `| ${cell(control.id)} | ${cell(control.framework)} | ${CONTROL_STATUS[control.status]} | ${cell(
          control.requirements
            .filter((requirement) => requirement.state === 'produced')
            .map((requirement) => requirement.id)
            .join(', ') || '—',
        )} | ${cell(
          control.requirements
            .filter((requirement) => requirement.state !== 'produced')
            .map((requirement) => `${requirement.id} (${requirement.state}: ${requirement.detail})`)
            .join('; ') || '—',
        )} |`,
    ),
    '',
    '## Sign-offs',
    '',
    ...attestation.signOffs.map((signOff) => `- **${signOff.role}:** ${signOff.who}, ${signOff.detail}`),
    ...(attestation.signing ? ['', `Integrity: ${attestation.signing}.`] : ['', 'Integrity: SHA256SUMS only (integrity only, unsigned).']),
    ...plainDeep(bundleNotes).flatMap((note) => ['', note]),
    '',
  ];
  return lines.join('\n');
}
