import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { parse } from 'yaml';
import { z } from 'zod';
import { DrillError } from '../errors/drill-error.ts';
import { readIndexSync } from './drill-history.ts';
import { type Finding, type FindingKind, JournalSchema, type Journal, type Severity } from './journal.ts';

/*
 * A finding's life across drills. `F01` is only a position in one journal; the stable id is a hash of what
 * the finding is about (kind, procedure, section, and its title with numbers masked, since counts and
 * durations change between drills), so the same defect found again, in either mode, is the same finding.
 */

const SEVERITY_RANK: Severity[] = ['critical', 'high', 'medium', 'low', 'info'];

export function stableFindingId(finding: Pick<Finding, 'kind' | 'procedure' | 'section' | 'title'>): string {
  const cause = finding.title
    .replace(/\d+(\.\d+)?/g, '#')
    .replace(/\s+/g, ' ')
    .trim()
    .toLowerCase();
  return `NF-${createHash('sha256').update([finding.kind, finding.procedure, finding.section, cause].join('\n')).digest('hex').slice(0, 12)}`;
}

export interface GroupedFinding {
  id: string;
  kind: FindingKind;
  severity: Severity;
  procedure: string;
  title: string;
  /** The modes it appeared in: one finding, not a copy per mode. */
  modes: ('order' | 'alone')[];
  /** The journal's own ids (F01 …) of this drill. */
  journalIds: string[];
  /** The fix its first copy gives (the copies differ at most in counts). */
  suggestedFix: string;
}

/** A drill's findings with stable ids, the order/alone copies of one defect grouped into one. */
export function groupFindings(journal: Journal): GroupedFinding[] {
  const groups = new Map<string, GroupedFinding>();
  for (const finding of journal.findings) {
    const id = stableFindingId(finding);
    const modes = journal.procedures.filter((procedure) => procedure.findings.includes(finding.id)).map((procedure) => procedure.mode);
    const group = groups.get(id);
    if (!group) {
      groups.set(id, {
        id,
        kind: finding.kind,
        severity: finding.severity,
        procedure: finding.procedure,
        title: finding.title,
        modes: [...new Set(modes)],
        journalIds: [finding.id],
        suggestedFix: finding.suggestedFix,
      });
      continue;
    }
    group.journalIds.push(finding.id);
    group.modes = [...new Set([...group.modes, ...modes])];
    if (SEVERITY_RANK.indexOf(finding.severity) < SEVERITY_RANK.indexOf(group.severity)) group.severity = finding.severity;
  }
  return [...groups.values()];
}

/** The reviewed file next to the runbook: who owns a finding, its ticket, and what was decided. */
export const FindingReviewSchema = z
  .object({
    findings: z.array(
      z
        .object({
          id: z.string().regex(/^NF-[0-9a-f]{12}$/),
          owner: z.string().optional(),
          ticket: z.url().optional(),
          status: z.enum(['open', 'accepted-risk', 'fixed']),
          /** Required for an accepted risk: why it is accepted. */
          reason: z.string().optional(),
        })
        .strict()
        .refine((entry) => entry.status !== 'accepted-risk' || (entry.reason ?? '').length > 0, {
          message: 'an accepted risk needs a reason',
        }),
    ),
  })
  .strict();
export type FindingReview = z.infer<typeof FindingReviewSchema>;

/** `runbook/backup-restore.md` → `runbook/backup-restore.findings.yaml`. */
export function reviewPathFor(runbookPath: string): string {
  return join(dirname(runbookPath), `${basename(runbookPath).replace(/\.md$/i, '')}.findings.yaml`);
}

export async function readFindingReview(path: string): Promise<FindingReview> {
  const text = await readFile(path, 'utf8').catch(() => undefined);
  if (text === undefined) return { findings: [] };
  const parsed = FindingReviewSchema.safeParse(parse(text));
  if (!parsed.success)
    throw new DrillError(
      `${path} is not a findings review file: ${parsed.error.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`).join('; ')}`,
      {
        fix: 'each entry: id (NF-…), status open|accepted-risk|fixed, optional owner and ticket URL, a reason for an accepted risk',
      },
    );
  return parsed.data;
}

export type LifecycleState = 'open' | 'gone' | 'accepted-risk' | 'fixed-confirmed' | 'fixed-but-present';

export interface FindingLife extends GroupedFinding {
  firstSeen: { drillId: string; at: string };
  lastSeen: { drillId: string; at: string };
  drills: number;
  state: LifecycleState;
  owner?: string;
  ticket?: string;
  reason?: string;
}

/**
 * Every finding across the drills of one runbook (from reports/index.json and each bundle's journal), with
 * first and last seen, and its state against the newest drill: still there, or gone. A finding marked fixed
 * in the review file is confirmed gone, or reported present again.
 */
export async function findingHistory(
  reportRoot: string,
  options: { runbookPath?: string; review?: FindingReview } = {},
): Promise<{ lives: FindingLife[]; latest?: string; drills: number }> {
  const entries = readIndexSync(reportRoot).drills.filter(
    (entry) =>
      entry.scope !== 'verify-backup' &&
      !entry.interrupted &&
      entry.runbook.lockState !== 'drift' &&
      !entry.runbook.allowDrift &&
      (!options.runbookPath || entry.runbook.path === options.runbookPath),
  );
  const lives = new Map<string, FindingLife>();
  let latest: string | undefined;
  let read = 0;
  for (const entry of entries) {
    const text = await readFile(join(reportRoot, entry.reportDir, 'journal.json'), 'utf8').catch(() => undefined);
    const parsed = text === undefined ? undefined : JournalSchema.safeParse(JSON.parse(text));
    if (!parsed?.success) continue;
    read++;
    latest = entry.drillId;
    const seen = { drillId: entry.drillId, at: entry.startedAt };
    for (const group of groupFindings(parsed.data)) {
      const life = lives.get(group.id);
      if (life) {
        life.lastSeen = seen;
        life.drills++;
        life.modes = [...new Set([...life.modes, ...group.modes])];
        life.title = group.title;
      } else lives.set(group.id, { ...group, firstSeen: seen, lastSeen: seen, drills: 1, state: 'open' });
    }
  }
  const decided = new Map((options.review?.findings ?? []).map((entry) => [entry.id, entry]));
  for (const life of lives.values()) {
    const present = life.lastSeen.drillId === latest;
    const review = decided.get(life.id);
    life.state =
      review?.status === 'fixed'
        ? present
          ? 'fixed-but-present'
          : 'fixed-confirmed'
        : review?.status === 'accepted-risk'
          ? 'accepted-risk'
          : present
            ? 'open'
            : 'gone';
    if (review?.owner) life.owner = review.owner;
    if (review?.ticket) life.ticket = review.ticket;
    if (review?.reason) life.reason = review.reason;
  }
  return { lives: [...lives.values()], ...(latest ? { latest } : {}), drills: read };
}

const STATE_LABEL: Record<LifecycleState, string> = {
  open: 'OPEN',
  gone: 'GONE',
  'accepted-risk': 'ACCEPTED',
  'fixed-confirmed': 'FIXED (gone)',
  'fixed-but-present': 'FIXED? STILL PRESENT',
};

/** One line per finding, open ones first (unless `all`, only what needs attention). */
export function describeFindings(history: Awaited<ReturnType<typeof findingHistory>>, all = false): string {
  const order: LifecycleState[] = ['fixed-but-present', 'open', 'accepted-risk', 'gone', 'fixed-confirmed'];
  const shown = history.lives
    .filter((life) => all || life.state === 'open' || life.state === 'fixed-but-present')
    .sort(
      (a, b) => order.indexOf(a.state) - order.indexOf(b.state) || SEVERITY_RANK.indexOf(a.severity) - SEVERITY_RANK.indexOf(b.severity),
    );
  const lines = shown.map(
    (life) =>
      `${STATE_LABEL[life.state].padEnd(20)} ${life.id} [${life.severity}] ${life.kind} ${life.procedure} (${life.modes.join('+') || 'no mode'}): ${life.title}\n${' '.repeat(21)}first seen ${life.firstSeen.drillId} ${life.firstSeen.at}, last seen ${life.lastSeen.drillId} ${life.lastSeen.at}, in ${life.drills} drill(s)${life.owner ? `; owner ${life.owner}` : ''}${life.ticket ? `; ticket ${life.ticket}` : ''}${life.reason ? `; ${life.reason}` : ''}`,
  );
  const open = history.lives.filter((life) => life.state === 'open' || life.state === 'fixed-but-present').length;
  lines.push(`${open} open finding(s) across ${history.drills} drill(s); newest drill ${history.latest ?? 'none'}`);
  return `${lines.join('\n')}\n`;
}
