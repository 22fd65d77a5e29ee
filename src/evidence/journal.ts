import { z } from 'zod';

/**
 * The journal is the single source of evidence for one drill run. Every report is rendered from it.
 * Bump JOURNAL_VERSION on any incompatible change; readers refuse versions they do not know.
 * Version 2: every finding carries its `kind`.
 */
export const JOURNAL_VERSION = 2;

export const OutcomeSchema = z.enum(['passed', 'failed', 'error', 'skipped', 'not-run']);
export type Outcome = z.infer<typeof OutcomeSchema>;

/** How an outcome is shown in reports and on the console. */
export function outcomeSymbol(outcome: Outcome): string {
  return { passed: 'PASS', failed: 'FAIL', error: 'ERROR', skipped: 'SKIP', 'not-run': 'NOT RUN' }[outcome];
}

export const SeveritySchema = z.enum(['critical', 'high', 'medium', 'low', 'info']);
export type Severity = z.infer<typeof SeveritySchema>;

export const CommandRecordSchema = z.object({
  index: z.number().int(),
  text: z.string(),
  exitCode: z.number().int().nullable(),
  startedAt: z.string(),
  durationMs: z.number(),
  stderrTail: z.string(),
  stdoutTail: z.string(),
});

export const BlockRunSchema = z.object({
  section: z.string(),
  blockIndex: z.number().int(),
  line: z.number().int(),
  sha256: z.string(),
  executedText: z.string(),
  bindings: z.array(z.object({ placeholder: z.string(), value: z.string(), reason: z.string(), occurrences: z.number().int() })),
  commands: z.array(CommandRecordSchema),
  exitCode: z.number().int().nullable(),
  signal: z.string().optional(),
  startedAt: z.string(),
  durationMs: z.number(),
  failedCommand: CommandRecordSchema.optional(),
  stdoutTail: z.string(),
  stderrTail: z.string(),
  /** Working directory after the block: an operator's shell carries it to the next block. */
  finalCwd: z.string().optional(),
});

export const HarnessActionSchema = z.object({
  /** Why the harness (not the runbook) did this, e.g. "disaster: drop the nmia database". */
  purpose: z.string(),
  command: z.string(),
  exitCode: z.number().int().nullable(),
  durationMs: z.number(),
  detail: z.string().optional(),
  /**
   * The check (`<rung>: <check>`) that judges this run's exit, for an experiment such as an adversarial run: there a
   * failing exit is the evidence the check reads, not a failure of the harness.
   */
  judgedBy: z.string().optional(),
});

export type HarnessAction = z.infer<typeof HarnessActionSchema>;

/**
 * The NMIA under drill: the built-in reference app, or a repository (--app) at a commit. For a repository,
 * everything the harness added to run it here, each with its reason: compose-file additions (the override),
 * substitutions (an image, the harness's own client binaries) and environment-level harness actions (its schema).
 */
export const AppRecordSchema = z.object({
  kind: z.enum(['reference', 'repository']),
  source: z.string(),
  commit: z.string().optional(),
  ref: z.string().optional(),
  composeAdditions: z.array(z.object({ path: z.string(), value: z.unknown(), reason: z.string() })).optional(),
  substitutions: z.array(z.object({ what: z.string(), written: z.string(), used: z.string(), reason: z.string() })).optional(),
  /** The db server's own version (e.g. 17.x where the file names postgres:16-alpine). */
  serverVersion: z.string().optional(),
  harnessActions: z.array(HarnessActionSchema).optional(),
});
export type AppRecord = z.infer<typeof AppRecordSchema>;

export const ArtifactSchema = z.object({
  name: z.string(),
  path: z.string(),
  bytes: z.number().int(),
  sha256: z.string(),
  format: z.string(),
  readable: z.boolean(),
  detail: z.string(),
  producedBy: z.string(),
});

export const RungNameSchema = z.enum(['artifact', 'restorability', 'structure', 'content', 'application', 'timing', 'intent']);
export const RungSchema = z.object({
  rung: RungNameSchema,
  check: z.string(),
  outcome: OutcomeSchema,
  summary: z.string(),
  evidence: z.record(z.string(), z.unknown()).optional(),
});
export type Rung = z.infer<typeof RungSchema>;

/**
 * Whose defect a finding is. `runbook`: the runbook as written is wrong; only these count toward the runbook's
 * verdict. `application`: the app fails the same check before the disaster too, so the recovery did not cause it.
 * `environment`: the environment the runbook assumes lacks something (never the harness's own parts: those
 * are `error` outcomes, not findings).
 */
export const FindingKindSchema = z.enum(['runbook', 'application', 'environment']);
export type FindingKind = z.infer<typeof FindingKindSchema>;
export const FINDING_KINDS = FindingKindSchema.options;

/** How each kind is headed in reports and on the console. */
export const FINDING_KIND_TITLES: Record<FindingKind, string> = {
  runbook: 'Runbook defects',
  application: 'Application defects (seen before the disaster too; not counted against the runbook)',
  environment: 'Environment problems (not counted against the runbook)',
};

export const FindingSchema = z.object({
  id: z.string(),
  kind: FindingKindSchema,
  procedure: z.string(),
  section: z.string(),
  line: z.number().int().optional(),
  severity: SeveritySchema,
  title: z.string(),
  /** The failing command as written in the runbook, when one failed. */
  command: z.string().optional(),
  evidence: z.record(z.string(), z.unknown()),
  whyItMatters: z.string(),
  suggestedFix: z.string(),
});
export type Finding = z.infer<typeof FindingSchema>;

/** The findings grouped by kind, runbook defects first; kinds without findings are left out. */
export function findingsByKind<T extends Pick<Finding, 'kind'>>(
  findings: readonly T[],
): { kind: FindingKind; title: string; findings: T[] }[] {
  return FINDING_KINDS.map((kind) => ({
    kind,
    title: FINDING_KIND_TITLES[kind],
    findings: findings.filter((finding) => finding.kind === kind),
  })).filter((group) => group.findings.length > 0);
}

export const ProcedureRecordSchema = z.object({
  id: z.string(),
  title: z.string(),
  section: z.string(),
  line: z.number().int().optional(),
  /** `order`: after the sections before it, in one environment; `alone`: in a fresh workspace. */
  mode: z.enum(['order', 'alone']),
  outcome: OutcomeSchema,
  reason: z.string().optional(),
  startedAt: z.string().optional(),
  durationMs: z.number().optional(),
  blocks: z.array(BlockRunSchema),
  harnessActions: z.array(HarnessActionSchema),
  artifacts: z.array(ArtifactSchema),
  rungs: z.array(RungSchema),
  findings: z.array(z.string()),
  timings: z.record(z.string(), z.number()).optional(),
});
export type ProcedureRecord = z.infer<typeof ProcedureRecordSchema>;

export const DriftSchema = z.object({
  kind: z.string(),
  section: z.string(),
  index: z.number().int(),
  line: z.number().int(),
  message: z.string(),
});

export const TotalsSchema = z.object({
  passed: z.number().int(),
  failed: z.number().int(),
  error: z.number().int(),
  skipped: z.number().int(),
  notRun: z.number().int(),
});

/** Who vouched for a checklist item, and how: an automated probe, or a person for what no probe can see. */
export const AttestationSchema = z.object({
  by: z.string(),
  at: z.string(),
  method: z.enum(['probe', 'human']),
  statement: z.string(),
});

/** One `- [ ]` item of the runbook's checklists, checked against the recovered stack or attested by a person. */
export const ChecklistRecordSchema = z.object({
  section: z.string(),
  line: z.number().int().optional(),
  item: z.string(),
  outcome: OutcomeSchema,
  summary: z.string().optional(),
  evidence: z.record(z.string(), z.unknown()).optional(),
  attestation: AttestationSchema.optional(),
});
export type ChecklistRecord = z.infer<typeof ChecklistRecordSchema>;

export const JournalSchema = z.object({
  journalVersion: z.literal(JOURNAL_VERSION),
  drillId: z.string(),
  startedAt: z.string(),
  finishedAt: z.string().optional(),
  outcome: OutcomeSchema,
  interrupted: z.boolean().optional(),
  error: z.string().optional(),
  runner: z.object({
    /** The person accountable for this drill (--operator / NMIA_DRILL_OPERATOR), when named. */
    operator: z.string().optional(),
    user: z.string(),
    host: z.string(),
    ci: z
      .object({ provider: z.string(), actor: z.string().optional(), workflow: z.string().optional(), runUrl: z.string().optional() })
      .optional(),
  }),
  harness: z.object({ version: z.string(), commit: z.string().optional(), node: z.string() }),
  runbook: z.object({
    path: z.string(),
    sha256: z.string(),
    lockPath: z.string(),
    lockState: z.enum(['clean', 'drift', 'missing']),
    drift: z.array(DriftSchema),
    allowDrift: z.boolean(),
  }),
  options: z.object({
    seed: z.number().int(),
    scale: z.number().int(),
    isolation: z.enum(['order', 'alone', 'both']),
    only: z.array(z.string()),
    skip: z.array(z.string()),
  }),
  app: AppRecordSchema.optional(),
  stack: z.object({ kind: z.string(), reason: z.string(), versions: z.record(z.string(), z.string()) }).optional(),
  seeding: z.object({ rows: z.record(z.string(), z.number()), durationMs: z.number() }).optional(),
  procedures: z.array(ProcedureRecordSchema),
  /** In runbook order, a procedure that leaves the database damaged gets the environment rebuilt before the next one. */
  environmentResets: z.array(z.object({ before: z.string(), reason: z.string() })),
  findings: z.array(FindingSchema),
  /** Manifests that verification compared, by label (e.g. "full-backup: at backup"). */
  manifests: z.record(z.string(), z.unknown()),
  timing: z.record(z.string(), z.unknown()),
  totals: TotalsSchema,
  /** The runbook's checklist items with their outcomes and attestations, when the drill checked any. */
  checklist: z.array(ChecklistRecordSchema).optional(),
  /**
   * The key that signs this bundle's SHA256SUMS (SHA256SUMS.sig): its fingerprint (`sha256:` of the public key's
   * DER) and the public key file in the bundle. Absent: the bundle is integrity only, unsigned.
   */
  signing: z.object({ algorithm: z.literal('ed25519'), fingerprint: z.string(), publicKeyFile: z.string() }).optional(),
});
export type Journal = z.infer<typeof JournalSchema>;

export function totalsOf(procedures: readonly { outcome: Outcome }[]): z.infer<typeof TotalsSchema> {
  const count = (outcome: Outcome) => procedures.filter((procedure) => procedure.outcome === outcome).length;
  return { passed: count('passed'), failed: count('failed'), error: count('error'), skipped: count('skipped'), notRun: count('not-run') };
}

/** A drill passes only when every procedure that was meant to run passed; nothing defaults to passed. */
export function overallOutcome(procedures: readonly { outcome: Outcome }[], drift: boolean): Outcome {
  if (procedures.some((procedure) => procedure.outcome === 'error')) return 'error';
  if (drift || procedures.some((procedure) => procedure.outcome === 'failed')) return 'failed';
  const ran = procedures.filter((procedure) => procedure.outcome === 'passed');
  return ran.length > 0 &&
    procedures.every((procedure) => procedure.outcome === 'passed' || procedure.outcome === 'skipped' || procedure.outcome === 'not-run')
    ? 'passed'
    : 'failed';
}
