import { randomBytes } from 'node:crypto';
import { readFile, rename, rm, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import { z } from 'zod';
import { DrillError, UsageError } from '../errors/drill-error.ts';

export const PIN_COMMAND = 'npm run drill -- pin';

export type LockEntry = { section: string; index: number; line: number; sha256: string } & (
  | { status: 'covered'; procedure: string }
  | { status: 'non-executable'; reason: string }
  | { status: 'pending'; reason: string }
);

export interface RunbookLock {
  lockVersion: 1;
  /** File name of the runbook (the lock sits next to it). */
  runbook: string;
  runbookSha256: string;
  pinnedAt: string;
  entries: LockEntry[];
}

const sha256 = z.string().regex(/^[0-9a-f]{64}$/, 'expected 64 lowercase hex digits');
const entryBase = {
  section: z.string(),
  index: z.int().nonnegative(),
  line: z.int().positive(),
  sha256,
};
const lockSchema = z.strictObject({
  lockVersion: z.literal(1),
  runbook: z.string().min(1),
  runbookSha256: sha256,
  pinnedAt: z.iso.datetime(),
  entries: z.array(
    z.discriminatedUnion('status', [
      z.strictObject({ ...entryBase, status: z.literal('covered'), procedure: z.string().min(1) }),
      z.strictObject({ ...entryBase, status: z.literal('non-executable'), reason: z.string().min(1) }),
      z.strictObject({ ...entryBase, status: z.literal('pending'), reason: z.string().min(1) }),
    ]),
  ),
});

/** `runbook/X.md` -> `runbook/X.lock.json` */
export function lockPathFor(runbookPath: string): string {
  const name = basename(runbookPath);
  const stem = name.toLowerCase().endsWith('.md') ? name.slice(0, -3) : name;
  return join(dirname(runbookPath), `${stem}.lock.json`);
}

/** The lock at `path`, or undefined when there is none yet. */
export async function readLock(path: string): Promise<RunbookLock | undefined> {
  const fix = `restore ${path} from version control, or delete it and re-pin after reviewing the runbook: ${PIN_COMMAND}`;
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new DrillError(`cannot read runbook lock ${path}: ${(error as Error).message}`, {
      fix: 'check the file permissions and that the path is a readable file',
      cause: error,
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (error) {
    throw new UsageError(`runbook lock ${path} is not valid JSON (${oneLine((error as Error).message)})`, { fix, cause: error });
  }
  const parsed = lockSchema.safeParse(json);
  if (!parsed.success) {
    const issues = parsed.error.issues;
    const first = issues[0]!;
    const where = first.path.length > 0 ? first.path.map(String).join('.') : '(root)';
    const more = issues.length > 1 ? ` (+${issues.length - 1} more)` : '';
    throw new UsageError(`runbook lock ${path} is malformed: ${where}: ${oneLine(first.message)}${more}`, {
      fix,
      detail: issues.map((i) => `${i.path.map(String).join('.') || '(root)'}: ${i.message}`).join('\n'),
    });
  }
  const lock = parsed.data as RunbookLock;
  const seen = new Set<string>();
  for (const entry of lock.entries) {
    const key = `${entry.section}#${entry.index}`;
    if (seen.has(key)) {
      throw new UsageError(`runbook lock ${path} lists "${entry.section}" block ${entry.index} twice`, { fix });
    }
    seen.add(key);
  }
  return lock;
}

/** Pretty JSON with a fixed key order and a trailing newline, so re-pinning yields minimal diffs. */
export async function writeLock(path: string, lock: RunbookLock): Promise<void> {
  const ordered = {
    lockVersion: lock.lockVersion,
    runbook: lock.runbook,
    runbookSha256: lock.runbookSha256,
    pinnedAt: lock.pinnedAt,
    entries: lock.entries.map(orderEntry),
  };
  const text = `${JSON.stringify(ordered, null, 2)}\n`;
  // Write-then-rename: an interrupted pin never leaves a half-written lock behind.
  const temp = `${path}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
  try {
    await writeFile(temp, text, 'utf8');
    await rename(temp, path);
  } catch (error) {
    await rm(temp, { force: true });
    throw new DrillError(`cannot write runbook lock ${path}: ${(error as Error).message}`, {
      fix: 'check that the runbook directory exists and is writable',
      cause: error,
    });
  }
}

function orderEntry(entry: LockEntry): LockEntry {
  const base = { section: entry.section, index: entry.index, line: entry.line, sha256: entry.sha256 };
  switch (entry.status) {
    case 'covered':
      return { ...base, status: entry.status, procedure: entry.procedure };
    case 'non-executable':
      return { ...base, status: entry.status, reason: entry.reason };
    case 'pending':
      return { ...base, status: entry.status, reason: entry.reason };
  }
}

function oneLine(text: string): string {
  return text.replace(/\s+/g, ' ').trim();
}
