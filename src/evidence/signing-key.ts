import { createHash, createPrivateKey, createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { link, mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { DrillError, UsageError } from '../errors/drill-error.ts';

/*
 * Evidence is signed by default. Without a key in the environment, a local ed25519 key is made on first use
 * in the user's config directory (never in the reports directory: whoever can edit a bundle must not find
 * the key beside it). Its public half is what a reviewer trusts; its fingerprint goes into the journal.
 */

export const SIGNING_KEY_ENV = 'NMIA_DRILL_SIGNING_KEY';
export const SIGNING_PUBKEY_ENV = 'NMIA_DRILL_SIGNING_PUBKEY';
/** Where the local key lives (default: $XDG_CONFIG_HOME/nmia-drill or ~/.config/nmia-drill). */
export const KEY_DIR_ENV = 'NMIA_DRILL_KEY_DIR';
/** `off` writes integrity-only bundles (SHA256SUMS without a signature), e.g. where no key may be kept. */
export const SIGNING_ENV = 'NMIA_DRILL_SIGNING';
export const LOCAL_KEY_FILE = 'evidence-signing.pem';
export const LOCAL_PUBLIC_KEY_FILE = 'evidence-signing.pub.pem';

export interface SigningKey {
  key: KeyObject;
  publicPem: string;
  fingerprint: string;
  /** Where the key came from: the environment variable or the local key file. */
  source: string;
  /** True when this call made the local key. */
  generated: boolean;
}

export interface TrustedKey {
  key: KeyObject;
  fingerprint: string;
  source: string;
}

/** `sha256:<hex>` of the public key's DER (SubjectPublicKeyInfo): the same for the PEM, the file and the journal. */
export function fingerprintOf(key: KeyObject): string {
  const publicKey = key.type === 'private' ? createPublicKey(key) : key;
  return `sha256:${createHash('sha256')
    .update(publicKey.export({ format: 'der', type: 'spki' }))
    .digest('hex')}`;
}

export function localKeyDir(env: NodeJS.ProcessEnv): string | undefined {
  if (env[KEY_DIR_ENV]) return env[KEY_DIR_ENV];
  if (env.XDG_CONFIG_HOME) return join(env.XDG_CONFIG_HOME, 'nmia-drill');
  return env.HOME ? join(env.HOME, '.config', 'nmia-drill') : undefined;
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

export async function keyFrom(value: string, kind: 'private' | 'public', variable: string): Promise<KeyObject> {
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

function publicPemOf(key: KeyObject): string {
  return (key.type === 'private' ? createPublicKey(key) : key).export({ format: 'pem', type: 'spki' }).toString();
}

/** Writes `content` to `path` only if nothing is there: two drills making the key at once keep the first one. */
async function writeOnce(path: string, content: string): Promise<boolean> {
  const temporary = `${path}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(temporary, content, { mode: 0o600 });
  try {
    await link(temporary, path);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await rm(temporary, { force: true });
  }
}

/**
 * The key that signs this bundle: NMIA_DRILL_SIGNING_KEY when set, else the local key (made now if there is
 * none). Undefined when signing is switched off, or when no config directory can be named.
 */
export async function signingKeyFor(env: NodeJS.ProcessEnv): Promise<SigningKey | undefined> {
  if (env[SIGNING_ENV] === 'off') return undefined;
  const configured = env[SIGNING_KEY_ENV];
  if (configured) {
    const key = await keyFrom(configured, 'private', SIGNING_KEY_ENV);
    return {
      key,
      publicPem: publicPemOf(key),
      fingerprint: fingerprintOf(key),
      source: configured.includes('-----BEGIN') ? SIGNING_KEY_ENV : configured,
      generated: false,
    };
  }
  const dir = localKeyDir(env);
  if (!dir) return undefined;
  const path = join(dir, LOCAL_KEY_FILE);
  let generated = false;
  let pem = await readFile(path, 'utf8').catch(() => undefined);
  if (pem === undefined) {
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const { privateKey } = generateKeyPairSync('ed25519');
    generated = await writeOnce(path, privateKey.export({ format: 'pem', type: 'pkcs8' }).toString());
    pem = await readFile(path, 'utf8');
  }
  const key = await keyFrom(pem, 'private', path);
  const publicPem = publicPemOf(key);
  await writeOnce(join(dir, LOCAL_PUBLIC_KEY_FILE), publicPem);
  return { key, publicPem, fingerprint: fingerprintOf(key), source: path, generated };
}

/**
 * The public key a verification trusts: the one given (flag or NMIA_DRILL_SIGNING_PUBKEY), else this machine's
 * local key, if it has one. Never the key shipped inside the bundle: a forger would ship their own.
 */
export async function trustedKeyFor(env: NodeJS.ProcessEnv, given?: string): Promise<TrustedKey | undefined> {
  const value = given ?? env[SIGNING_PUBKEY_ENV];
  if (value) {
    const key = await keyFrom(value, 'public', given ? '--public-key' : SIGNING_PUBKEY_ENV);
    return {
      key,
      fingerprint: fingerprintOf(key),
      source: value.includes('-----BEGIN') ? (given ? '--public-key' : SIGNING_PUBKEY_ENV) : value,
    };
  }
  const dir = localKeyDir(env);
  if (!dir) return undefined;
  const path = join(dir, LOCAL_PUBLIC_KEY_FILE);
  const pem = await readFile(path, 'utf8').catch(() => undefined);
  if (pem === undefined) return undefined;
  const key = await keyFrom(pem, 'public', path);
  return { key, fingerprint: fingerprintOf(key), source: path };
}
