import { sign, verify } from 'node:crypto';
import { lstat, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { DrillError, UsageError } from '../errors/drill-error.ts';
import type { Redactor } from './redactor.ts';
import {
  type SigningKey,
  signingKeyFor,
  type TrustedKey,
  trustedKeyFor,
  SIGNING_ENV,
  SIGNING_KEY_ENV,
  SIGNING_PUBKEY_ENV,
} from './signing-key.ts';
import { sha256File } from '../verify/artifact-check.ts';

/*
 * The evidence bundle is the report directory. SHA256SUMS lists every file in it, in the format
 * `sha256sum -c` reads, so an auditor needs no nmia-drill to check it. SHA256SUMS alone is integrity only:
 * whoever edits a file can rewrite it. The ed25519 signature over it (on by default) is what holds.
 */

export const SUMS_FILE = 'SHA256SUMS';
export const SIGNATURE_FILE = 'SHA256SUMS.sig';
/** The signer's public key, in the bundle for convenience; verification never trusts it (see trustedKeyFor). */
export const PUBLIC_KEY_FILE = 'signing-key.pub.pem';
export { SIGNING_ENV, SIGNING_KEY_ENV, SIGNING_PUBKEY_ENV };

const MAX_REDACT_BYTES = 32 * 1024 * 1024;

export type SignatureState = 'valid' | 'invalid' | 'missing' | 'unchecked' | 'unsigned';

export interface EvidenceVerification {
  ok: boolean;
  /** Listed, present, but its bytes differ. */
  changed: string[];
  /** Listed but gone. */
  missing: string[];
  /** Present but not listed. */
  added: string[];
  /**
   * `valid`/`invalid`: checked with the trusted public key; `missing`: a trusted key is set but the
   * bundle has no signature; `unchecked`: signed, but no trusted key to check it with; `unsigned`: neither.
   */
  signature: SignatureState;
  /** The public key the signature was checked with, and where it came from. */
  trustedKey?: { fingerprint: string; source: string };
}

export interface BundleOptions {
  env?: NodeJS.ProcessEnv;
  /** The key to sign with (`null`: write integrity-only sums); default: signingKeyFor(env). */
  signingKey?: SigningKey | null;
  /** A public key (PEM or path) to trust instead of NMIA_DRILL_SIGNING_PUBKEY or the local key. */
  publicKey?: string;
}

/** The bundle's own integrity files, at its root, are not part of what they cover. */
function isIntegrityFile(path: string): boolean {
  // reviews/: approvals added after the drill (nmia-drill sign), each signed over SHA256SUMS itself.
  return path === SUMS_FILE || (!path.includes('/') && path.endsWith('.sig')) || path.startsWith('reviews/');
}

async function listFiles(dir: string, root: string = dir): Promise<string[]> {
  const files: string[] = [];
  for (const entry of await readdir(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) {
      files.push(...(await listFiles(path, root)));
    } else if (entry.isFile() || (entry.isSymbolicLink() && (await stat(path).catch(() => undefined))?.isFile())) {
      // Like sha256sum, a symlink counts by the file it points to.
      files.push(relative(root, path).split(sep).join('/'));
    }
  }
  return files;
}

/** Every file under `dir`, as posix paths relative to it, sorted by code unit (stable across locales). */
export async function bundleFiles(dir: string): Promise<string[]> {
  return (await listFiles(dir)).filter((path) => !isIntegrityFile(path)).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** Streamed, so a dump in the bundle never passes through the heap whole. */
export { sha256File };

/** GNU sha256sum escapes a name holding a backslash or newline and marks the line with a leading backslash. */
function sumsLine(hex: string, path: string): string {
  if (!/[\\\n\r]/.test(path)) return `${hex}  ${path}`;
  return `\\${hex}  ${path.replace(/\\/g, '\\\\').replace(/\n/g, '\\n').replace(/\r/g, '\\r')}`;
}

function parseSumsLine(line: string): { hex: string; path: string } | undefined {
  const escaped = line.startsWith('\\');
  const match = /^([0-9a-f]{64}) [ *](.+)$/.exec(escaped ? line.slice(1) : line);
  if (!match) return undefined;
  const path = escaped
    ? match[2]!.replace(/\\(\\|n|r)/g, (_, char: string) => (char === 'n' ? '\n' : char === 'r' ? '\r' : '\\'))
    : match[2]!;
  return { hex: match[1]!, path };
}

/**
 * Writes `<dir>/SHA256SUMS` over every file of the bundle (recursively, sorted, excluding SHA256SUMS and
 * signatures at the root), and `SHA256SUMS.sig` signed with the signing key (NMIA_DRILL_SIGNING_KEY, else
 * the local key, made on first use). A stale signature from an earlier write is removed, never left to
 * contradict the new sums.
 */
export async function writeSha256Sums(
  dir: string,
  options: BundleOptions = {},
): Promise<{ sums: string; signature?: string; files: number; key?: SigningKey }> {
  const env = options.env ?? process.env;
  const files = await bundleFiles(dir);
  const lines: string[] = [];
  for (const path of files) lines.push(sumsLine(await sha256File(join(dir, path)), path));
  const content = `${lines.join('\n')}${lines.length > 0 ? '\n' : ''}`;
  const sums = join(dir, SUMS_FILE);
  await writeFile(sums, content);
  const signaturePath = join(dir, SIGNATURE_FILE);
  const key = options.signingKey === undefined ? await signingKeyFor(env) : options.signingKey;
  if (!key) {
    await rm(signaturePath, { force: true });
    return { sums, files: files.length };
  }
  await writeFile(signaturePath, sign(null, Buffer.from(content), key.key));
  return { sums, signature: signaturePath, files: files.length, key };
}

/**
 * Checks a bundle against its SHA256SUMS: which listed files changed or went missing, which files
 * were added, and the signature against the trusted public key (options.publicKey, NMIA_DRILL_SIGNING_PUBKEY,
 * else this machine's local key).
 */
export async function verifyEvidence(dir: string, options: BundleOptions = {}): Promise<EvidenceVerification> {
  const env = options.env ?? process.env;
  const directory = await stat(dir).catch(() => undefined);
  if (!directory?.isDirectory()) {
    throw new UsageError(`no evidence directory at ${dir}`, { fix: 'pass a report directory, e.g. reports/20260101-020000-abcd1234' });
  }
  const sumsText = await readFile(join(dir, SUMS_FILE), 'utf8').catch(() => undefined);
  if (sumsText === undefined) {
    throw new DrillError(`${join(dir, SUMS_FILE)} is missing: the bundle cannot be verified`, {
      fix: 'verify a report directory written by nmia-drill; a bundle without SHA256SUMS must be treated as unverified',
    });
  }
  const listed = new Map<string, string>();
  for (const [index, line] of sumsText.split('\n').entries()) {
    if (line === '') continue;
    const entry = parseSumsLine(line);
    if (!entry) {
      throw new DrillError(`${SUMS_FILE} line ${index + 1} is not "<sha256>  <path>"`, {
        fix: 'the sums file itself was altered: treat the bundle as tampered',
      });
    }
    listed.set(entry.path, entry.hex);
  }
  const present = new Set(await bundleFiles(dir));
  const changed: string[] = [];
  const missing: string[] = [];
  for (const [path, hex] of listed) {
    if (!present.has(path)) {
      // A listed path that is now a directory or special file is as good as missing.
      missing.push(path);
    } else if ((await sha256File(join(dir, path))) !== hex) {
      changed.push(path);
    }
  }
  const added = [...present].filter((path) => !listed.has(path));
  const trusted = await trustedKeyFor(env, options.publicKey);
  const signature = await checkSignature(dir, sumsText, trusted);
  const ok = changed.length === 0 && missing.length === 0 && added.length === 0 && signature !== 'invalid' && signature !== 'missing';
  return {
    ok,
    changed,
    missing,
    added,
    signature,
    ...(trusted ? { trustedKey: { fingerprint: trusted.fingerprint, source: trusted.source } } : {}),
  };
}

async function checkSignature(dir: string, sumsText: string, trusted: TrustedKey | undefined): Promise<SignatureState> {
  const signature = await readFile(join(dir, SIGNATURE_FILE)).catch(() => undefined);
  if (!trusted) return signature ? 'unchecked' : 'unsigned';
  if (!signature) return 'missing';
  return verify(null, Buffer.from(sumsText), trusted.key, signature) ? 'valid' : 'invalid';
}

/** One line per problem, for the CLI: `changed: journal.json` … then what the signature says and a verdict. */
export function describeVerification(dir: string, result: EvidenceVerification): string {
  const lines = [
    ...result.changed.map((path) => `changed: ${path}`),
    ...result.missing.map((path) => `missing: ${path}`),
    ...result.added.map((path) => `added:   ${path}`),
  ];
  const key = result.trustedKey ? `trusted public key ${result.trustedKey.fingerprint} (${result.trustedKey.source})` : '';
  lines.push(
    {
      valid: `signature: valid, by the ${key}`,
      invalid: `signature: INVALID for the ${key}: the bundle was changed after it was signed, or it was signed with another key`,
      missing: `signature: none, but a ${key} is set: an unsigned bundle is not accepted (anyone can regenerate ${SUMS_FILE})`,
      unchecked: `signature: present but not checked, no trusted public key (pass --public-key or set ${SIGNING_PUBKEY_ENV}); integrity only`,
      unsigned: `signature: none; integrity only, unsigned (anyone who edits the bundle can regenerate ${SUMS_FILE})`,
    }[result.signature],
  );
  const filesMatch = result.changed.length === 0 && result.missing.length === 0 && result.added.length === 0;
  if (result.ok)
    lines.push(
      `OK: ${dir} matches its ${SUMS_FILE}${result.signature === 'valid' ? ', signature valid' : result.signature === 'unchecked' ? ' (signed, signature not checked: integrity only)' : ' (integrity only, unsigned)'}`,
    );
  else if (filesMatch)
    lines.push(
      `FAILED: ${dir}: every file matches ${SUMS_FILE}, but the signature ${result.signature === 'missing' ? 'is missing' : 'does not verify'}`,
    );
  else lines.push(`FAILED: ${dir} does not match its ${SUMS_FILE}`);
  return `${lines.join('\n')}\n`;
}

/**
 * A last line of defence before hashing: every text file of the bundle goes through the redactor, so a
 * component that wrote a secret into its own evidence file cannot ship it. Returns the files it had to fix,
 * which are bugs in whatever wrote them.
 */
export async function redactBundleFiles(dir: string, redactor: Redactor): Promise<string[]> {
  const fixed: string[] = [];
  for (const path of await bundleFiles(dir)) {
    const full = join(dir, path);
    const info = await lstat(full);
    // Evidence text (traces, logs) is small; anything this large is an archive or dump, not text to rewrite.
    if (info.isSymbolicLink() || info.size > MAX_REDACT_BYTES) continue;
    const bytes = await readFile(full);
    const text = bytes.toString('utf8');
    // Only files that are valid UTF-8 round-trip; rewriting anything else would corrupt it.
    if (!Buffer.from(text, 'utf8').equals(bytes)) continue;
    const redacted = redactor.redact(text);
    if (redacted !== text) {
      await writeFile(full, redacted);
      fixed.push(path);
    }
  }
  return fixed;
}
