import { createHash, createPrivateKey, createPublicKey, sign, verify, type KeyObject } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { lstat, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { DrillError, UsageError } from '../errors/drill-error.ts';
import type { Redactor } from './redactor.ts';
import { sha256File } from '../verify/artifact-check.ts';

/*
 * The evidence bundle is the report directory. SHA256SUMS lists every file in it, in the format
 * `sha256sum -c` reads, so an auditor needs no nmia-drill to check it; an optional ed25519
 * signature over SHA256SUMS says who vouched for the whole.
 */

export const SUMS_FILE = 'SHA256SUMS';
export const SIGNATURE_FILE = 'SHA256SUMS.sig';
export const SIGNING_KEY_ENV = 'NMIA_DRILL_SIGNING_KEY';
export const SIGNING_PUBKEY_ENV = 'NMIA_DRILL_SIGNING_PUBKEY';

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
   * `valid`/`invalid`: checked with NMIA_DRILL_SIGNING_PUBKEY; `missing`: a public key was given but the
   * bundle has no signature; `unchecked`: signed, but no public key to check it with; `unsigned`: neither.
   */
  signature: SignatureState;
}

export interface BundleOptions {
  env?: NodeJS.ProcessEnv;
}

/** The bundle's own integrity files, at its root, are not part of what they cover. */
function isIntegrityFile(path: string): boolean {
  return path === SUMS_FILE || (!path.includes('/') && path.endsWith('.sig'));
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

/** A PEM in the variable itself, or the path of a PEM file (CI secrets often arrive as files). */
async function pemFrom(value: string): Promise<string> {
  if (value.includes('-----BEGIN')) return value;
  return readFile(value, 'utf8').catch((error: NodeJS.ErrnoException) => {
    throw new UsageError(`cannot read the signing key file named by the environment (${error.code ?? 'error'})`, {
      fix: `set ${SIGNING_KEY_ENV}/${SIGNING_PUBKEY_ENV} to a PEM key or the path of a readable PEM file`,
    });
  });
}

async function keyFrom(value: string, kind: 'private' | 'public'): Promise<KeyObject> {
  const variable = kind === 'private' ? SIGNING_KEY_ENV : SIGNING_PUBKEY_ENV;
  let key: KeyObject;
  try {
    const pem = await pemFrom(value);
    key = kind === 'private' ? createPrivateKey(pem) : createPublicKey(pem);
  } catch (error) {
    if (error instanceof DrillError) throw error;
    // Never echo the key material: only what kind of problem it is.
    throw new UsageError(`${variable} does not hold a readable PEM ${kind} key`, {
      fix: `generate one with: openssl genpkey -algorithm ed25519 -out drill-signing.pem${kind === 'public' ? ' && openssl pkey -in drill-signing.pem -pubout' : ''}`,
    });
  }
  if (key.asymmetricKeyType !== 'ed25519') {
    throw new UsageError(`${variable} holds a ${key.asymmetricKeyType ?? 'unknown'} key; evidence is signed with ed25519`, {
      fix: 'generate one with: openssl genpkey -algorithm ed25519 -out drill-signing.pem',
    });
  }
  return key;
}

/**
 * Writes `<dir>/SHA256SUMS` over every file of the bundle (recursively, sorted, excluding SHA256SUMS and
 * signatures at the root), and `SHA256SUMS.sig` when NMIA_DRILL_SIGNING_KEY holds an ed25519 key.
 * A stale signature from an earlier write is removed, never left to contradict the new sums.
 */
export async function writeSha256Sums(
  dir: string,
  options: BundleOptions = {},
): Promise<{ sums: string; signature?: string; files: number }> {
  const env = options.env ?? process.env;
  const files = await bundleFiles(dir);
  const lines: string[] = [];
  for (const path of files) lines.push(sumsLine(await sha256File(join(dir, path)), path));
  const content = `${lines.join('\n')}${lines.length > 0 ? '\n' : ''}`;
  const sums = join(dir, SUMS_FILE);
  await writeFile(sums, content);
  const signaturePath = join(dir, SIGNATURE_FILE);
  const keyValue = env[SIGNING_KEY_ENV];
  if (!keyValue) {
    await rm(signaturePath, { force: true });
    return { sums, files: files.length };
  }
  const key = await keyFrom(keyValue, 'private');
  await writeFile(signaturePath, sign(null, Buffer.from(content), key));
  return { sums, signature: signaturePath, files: files.length };
}

/**
 * Checks a bundle against its SHA256SUMS: which listed files changed or went missing, which files
 * were added, and the signature when NMIA_DRILL_SIGNING_PUBKEY is set.
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
  const signature = await checkSignature(dir, sumsText, env);
  const ok = changed.length === 0 && missing.length === 0 && added.length === 0 && signature !== 'invalid' && signature !== 'missing';
  return { ok, changed, missing, added, signature };
}

async function checkSignature(dir: string, sumsText: string, env: NodeJS.ProcessEnv): Promise<SignatureState> {
  const signature = await readFile(join(dir, SIGNATURE_FILE)).catch(() => undefined);
  const publicValue = env[SIGNING_PUBKEY_ENV];
  if (!publicValue) return signature ? 'unchecked' : 'unsigned';
  if (!signature) return 'missing';
  const key = await keyFrom(publicValue, 'public');
  return verify(null, Buffer.from(sumsText), key, signature) ? 'valid' : 'invalid';
}

/** One line per problem, for the CLI: `changed: journal.json` … and a verdict. */
export function describeVerification(dir: string, result: EvidenceVerification): string {
  const lines = [
    ...result.changed.map((path) => `changed: ${path}`),
    ...result.missing.map((path) => `missing: ${path}`),
    ...result.added.map((path) => `added:   ${path}`),
  ];
  const signature = {
    valid: 'signature valid',
    invalid: 'signature INVALID',
    missing: `signature missing (${SIGNING_PUBKEY_ENV} is set but the bundle is unsigned)`,
    unchecked: `signed, not checked (set ${SIGNING_PUBKEY_ENV} to check it)`,
    unsigned: 'unsigned',
  }[result.signature];
  lines.push(
    result.ok ? `OK: ${dir} matches its ${SUMS_FILE} (${signature})` : `FAILED: ${dir} does not match its ${SUMS_FILE} (${signature})`,
  );
  return `${lines.join('\n')}\n`;
}

/**
 * A last line of defence before hashing: every text file of the bundle goes through the redactor, so a
 * component that wrote a secret into its own evidence file cannot ship it. Returns the files it had to fix,
 * which are bugs in whatever wrote them.
 */
export async function redactBundleFiles(dir: string, redactor: Redactor): Promise<string[]> {
  if (redactor.size === 0) return [];
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
