import { spawnSync } from 'node:child_process';
import { mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticJournal } from '../../test-support/synthetic-journal.ts';
import { entryHash, INDEX_FILE, INDEX_SIGNATURE_FILE, verifyHistory } from './drill-history.ts';
import { describeVerification, PUBLIC_KEY_FILE, SIGNATURE_FILE, SUMS_FILE, verifyEvidence, writeSha256Sums } from './evidence-bundle.ts';
import { writeEvidence, type EvidenceFiles } from './evidence-writer.ts';
import { Redactor } from './redactor.ts';
import { KEY_DIR_ENV, LOCAL_KEY_FILE, LOCAL_PUBLIC_KEY_FILE, trustedKeyFor } from './signing-key.ts';
import { verify } from 'node:crypto';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/** What a forger does after editing a file: recompute SHA256SUMS with coreutils, as the bundle's README invites. */
function regenerateSums(dir: string): void {
  const result = spawnSync(
    'bash',
    ['-c', `find . -type f ! -name ${SUMS_FILE} ! -name '*.sig' -printf '%P\\n' | LC_ALL=C sort | xargs -d '\\n' sha256sum > ${SUMS_FILE}`],
    {
      cwd: dir,
      encoding: 'utf8',
    },
  );
  expect(result.status, result.stderr).toBe(0);
}

/** Signing on by default, a chained history, and what verify-evidence says about each state of a bundle. */
describe('tamper evidence', () => {
  let root: string;
  let keyDir: string;
  let env: NodeJS.ProcessEnv;
  const written: EvidenceFiles[] = [];

  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'nmia-drill-tamper-'));
    keyDir = await mkdtemp(join(tmpdir(), 'nmia-drill-keys-'));
    env = { [KEY_DIR_ENV]: keyDir };
    for (const [index, drillId] of ['0000aaa1', '0000aaa2', '0000aaa3'].entries()) {
      const journal = syntheticJournal({
        drillId,
        startedAt: `2026-01-1${index}T02:00:00.000Z`,
        finishedAt: `2026-01-1${index}T02:10:00.000Z`,
      });
      const dir = join(root, `2026011${index}-020000-${drillId}`);
      await mkdir(dir);
      written.push(await writeEvidence(journal, join(root, `2026011${index}-020000-${drillId}`), new Redactor(), env));
    }
  });

  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
    await rm(keyDir, { recursive: true, force: true });
  });

  it('signs by default with a local ed25519 key made on first use, kept outside the bundle, its fingerprint in the journal', async () => {
    const [first, second] = written;
    expect(first!.signing).toMatchObject({ source: join(keyDir, LOCAL_KEY_FILE), generated: true });
    expect(second!.signing).toMatchObject({ fingerprint: first!.signing!.fingerprint, generated: false });
    expect(first!.signing!.fingerprint).toMatch(/^sha256:[0-9a-f]{64}$/);
    expect((await stat(join(keyDir, LOCAL_KEY_FILE))).mode & 0o077).toBe(0);
    const journal = JSON.parse(await readFile(first!.journal, 'utf8'));
    expect(journal.signing).toEqual({ algorithm: 'ed25519', fingerprint: first!.signing!.fingerprint, publicKeyFile: PUBLIC_KEY_FILE });
    expect(await readFile(join(first!.reportDir, PUBLIC_KEY_FILE), 'utf8')).toBe(
      await readFile(join(keyDir, LOCAL_PUBLIC_KEY_FILE), 'utf8'),
    );
    const result = await verifyEvidence(first!.reportDir, { env });
    expect(result).toMatchObject({ ok: true, signature: 'valid', trustedKey: { fingerprint: first!.signing!.fingerprint } });
    expect(describeVerification('b', result)).toContain(
      `valid, by the trusted public key ${first!.signing!.fingerprint} (${join(keyDir, LOCAL_PUBLIC_KEY_FILE)})`,
    );
  });

  it('an edited bundle fails even after SHA256SUMS is regenerated, whether the old signature is kept or removed', async () => {
    const dir = written[0]!.reportDir;
    const journalPath = written[0]!.journal;
    const original = await readFile(journalPath, 'utf8');
    try {
      await writeFile(journalPath, original.replace('"outcome": "error"', '"outcome": "passed"'));
      expect(await readFile(journalPath, 'utf8')).not.toBe(original);
      regenerateSums(dir);
      expect(spawnSync('sha256sum', ['-c', '--quiet', SUMS_FILE], { cwd: dir }).status).toBe(0);
      const kept = await verifyEvidence(dir, { env });
      expect(kept).toMatchObject({ ok: false, changed: [], signature: 'invalid' });
      expect(describeVerification(dir, kept)).toMatch(/signature: INVALID for the trusted public key sha256:/);
      await rm(join(dir, SIGNATURE_FILE));
      const removed = await verifyEvidence(dir, { env });
      expect(removed).toMatchObject({ ok: false, changed: [], signature: 'missing' });
      // The hashes do match: the message says the signature is what is missing, not that files differ.
      const text = describeVerification(dir, removed);
      expect(text).toMatch(/every file matches SHA256SUMS, but the signature is missing/);
      expect(text).not.toMatch(/does not match/);
      // Without any trusted key, the same bundle is integrity only, and says so.
      const bare = await verifyEvidence(dir, { env: {} });
      expect(bare).toMatchObject({ ok: true, signature: 'unsigned' });
      expect(describeVerification(dir, bare)).toMatch(/integrity only, unsigned/);
    } finally {
      await writeFile(journalPath, original);
      await writeSha256Sums(dir, { env });
    }
    expect((await verifyEvidence(dir, { env })).ok).toBe(true);
  });

  it('chains reports/index.json: each entry holds the previous entry hash and its bundle SHA256SUMS hash; the index is signed', async () => {
    const index = JSON.parse(await readFile(join(root, INDEX_FILE), 'utf8'));
    expect(index.drills).toHaveLength(3);
    expect(index.drills[0].previousHash).toBeUndefined();
    expect(index.drills[1].previousHash).toBe(entryHash(index.drills[0]));
    expect(index.drills[2].previousHash).toBe(entryHash(index.drills[1]));
    for (const entry of index.drills) expect(entry.sumsSha256).toMatch(/^[0-9a-f]{64}$/);
    const history = await check();
    expect(history.lines.at(-1)).toMatch(/^OK: 3 drill\(s\)/);
    expect(history.ok).toBe(true);
  });

  async function check() {
    const trusted = (await trustedKeyFor(env))!;
    return verifyHistory(
      root,
      async (dir) => {
        const result = await verifyEvidence(dir, { env });
        return { ok: result.ok, detail: result.signature };
      },
      (content, signature) => verify(null, content, trusted.key, signature),
    );
  }

  it('verify --history fails on an edited entry, a removed entry and a bundle re-summed after an edit', async () => {
    const indexPath = join(root, INDEX_FILE);
    const original = await readFile(indexPath, 'utf8');
    const parsed = JSON.parse(original);
    try {
      // A middle entry removed, the signature left: the chain and the signature both break.
      await writeFile(indexPath, JSON.stringify({ ...parsed, drills: [parsed.drills[0], parsed.drills[2]] }, null, 2));
      let history = await check();
      expect(history.ok).toBe(false);
      expect(history.problems.map((problem) => problem.problem).join('\n')).toMatch(/not the hash of the entry before it/);
      expect(history.problems.some((problem) => problem.drillId === '(index)')).toBe(true);
      // An entry's outcome edited and the chain recomputed by hand still fails: the signature anchors it.
      await writeFile(indexPath, original.replace('"outcome": "error"', '"outcome": "passed"'));
      history = await check();
      expect(history.problems.map((problem) => problem.problem)).toContain(
        `${INDEX_SIGNATURE_FILE} does not verify: the index was changed after it was signed`,
      );
    } finally {
      await writeFile(indexPath, original);
    }
    const dir = written[1]!.reportDir;
    const summary = await readFile(written[1]!.summary, 'utf8');
    await writeFile(written[1]!.summary, `${summary}\nall good\n`);
    regenerateSums(dir);
    await rm(join(dir, SIGNATURE_FILE));
    const history = await check();
    expect(history.ok).toBe(false);
    const problems = history.problems.filter((problem) => problem.drillId === '0000aaa2').map((problem) => problem.problem);
    expect(problems).toEqual([
      `${written[1]!.reportDir.slice(root.length + 1)}/SHA256SUMS is not the one recorded when the drill was written`,
      `bundle ${written[1]!.reportDir.slice(root.length + 1)}: missing`,
    ]);
  });

  it('the CLI (one process start) names the trusted key, and verify-evidence --history exits 1 on the broken history', async () => {
    const run = (args: string[]) => execa('node', [join(REPO, 'bin/nmia-drill.js'), ...args], { cwd: REPO, reject: false, env });
    const history = await run(['verify-evidence', '--history', root, '--public-key', join(keyDir, LOCAL_PUBLIC_KEY_FILE)]);
    expect(history.stdout).toContain(`trusted public key: ${written[0]!.signing!.fingerprint} (${join(keyDir, LOCAL_PUBLIC_KEY_FILE)})`);
    expect(history.stdout).toMatch(/^FAILED +0000aaa2/m);
    expect(history.exitCode).toBe(1);
  });
});
