import { execFileSync, spawnSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { UsageError } from '../errors/drill-error.ts';
import {
  bundleFiles,
  describeVerification,
  redactBundleFiles,
  SIGNATURE_FILE,
  SIGNING_KEY_ENV,
  SIGNING_PUBKEY_ENV,
  SUMS_FILE,
  verifyEvidence,
  writeSha256Sums,
} from './evidence-bundle.ts';
import { Redactor } from './redactor.ts';

const FILES: Record<string, string | Buffer> = {
  'journal.json': '{"drillId":"x"}\n',
  'summary.md': '# drill\n',
  'report.html': '<!doctype html><p>hi</p>\n',
  'junit.xml': '<?xml version="1.0"?><testsuites/>\n',
  'procedures/order-full-backup/block-0.sh': 'docker compose exec db pg_dump\n',
  'procedures/order-full-backup/block-0.trace': 'trace\n',
  'procedures/order-full-backup/.bash-tracer.sh': 'hidden file\n',
  'procedures/order-full-backup/nested.sig': 'not a bundle signature: covered\n',
  'procedures/with space/empty.txt': '',
  'binary.bin': Buffer.from([0, 1, 2, 255, 254, 0x1f, 0x8b]),
};

let dir: string;

beforeEach(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nmia-drill-bundle-'));
  for (const [path, content] of Object.entries(FILES)) {
    await mkdir(join(dir, path, '..'), { recursive: true });
    await writeFile(join(dir, path), content);
  }
});

afterEach(async () => {
  await rm(dir, { recursive: true, force: true });
});

function sha256sumCheck(cwd: string): { status: number | null; output: string } {
  const result = spawnSync('sha256sum', ['-c', '--strict', SUMS_FILE], { cwd, encoding: 'utf8' });
  return { status: result.status, output: `${result.stdout}${result.stderr}` };
}

const noKeys = { env: {} };

describe('writeSha256Sums', () => {
  it('lists every file of the bundle recursively, sorted, as "<hex>  <path>", and sha256sum -c accepts it', async () => {
    await writeFile(join(dir, 'stale.sig'), 'old signature');
    const { files } = await writeSha256Sums(dir, noKeys);
    const lines = (await readFile(join(dir, SUMS_FILE), 'utf8')).trimEnd().split('\n');
    const paths = lines.map((line) => line.slice(66));
    expect(files).toBe(Object.keys(FILES).length);
    expect(paths).toEqual([...Object.keys(FILES)].sort((a, b) => (a < b ? -1 : 1)));
    expect(lines.every((line) => /^[0-9a-f]{64} {2}\S/.test(line))).toBe(true);
    // SHA256SUMS and root-level signatures are not part of what they cover (and are left alone).
    expect(paths).not.toContain(SUMS_FILE);
    expect(paths).not.toContain('stale.sig');
    expect(existsSync(join(dir, 'stale.sig'))).toBe(true);
    const check = sha256sumCheck(dir);
    expect(check.output).not.toContain('FAILED');
    expect(check.status).toBe(0);
  });

  it('escapes a name with a backslash the way GNU sha256sum does, and sha256sum -c still accepts it', async () => {
    await writeFile(join(dir, 'back\\slash.txt'), 'x');
    await writeSha256Sums(dir, noKeys);
    expect(await readFile(join(dir, SUMS_FILE), 'utf8')).toMatch(/^\\[0-9a-f]{64} {2}back\\\\slash\.txt$/m);
    expect(sha256sumCheck(dir).status).toBe(0);
    expect((await verifyEvidence(dir, noKeys)).ok).toBe(true);
  });
});

describe('verifyEvidence', () => {
  it('accepts an untouched bundle', async () => {
    await writeSha256Sums(dir, noKeys);
    expect(await verifyEvidence(dir, noKeys)).toEqual({ ok: true, changed: [], missing: [], added: [], signature: 'unsigned' });
  });

  it('catches a single-byte change in every file of the bundle and names that file (sha256sum -c agrees)', async () => {
    await writeSha256Sums(dir, noKeys);
    for (const path of await bundleFiles(dir)) {
      const original = await readFile(join(dir, path));
      const tampered = original.length > 0 ? Buffer.from(original) : Buffer.from('x');
      const at = Math.floor(original.length / 2);
      if (original.length > 0) tampered.writeUInt8(tampered.readUInt8(at) ^ 0x01, at);
      await writeFile(join(dir, path), tampered);
      const result = await verifyEvidence(dir, noKeys);
      expect(result, path).toMatchObject({ ok: false, changed: [path], missing: [], added: [] });
      expect(sha256sumCheck(dir).status, path).not.toBe(0);
      await writeFile(join(dir, path), original);
    }
    expect((await verifyEvidence(dir, noKeys)).ok).toBe(true);
  });

  it('names a deleted file as missing and a new file, nested or hidden, as added', async () => {
    await writeSha256Sums(dir, noKeys);
    await unlink(join(dir, 'procedures/order-full-backup/block-0.trace'));
    await writeFile(join(dir, 'procedures/order-full-backup/.injected'), 'x');
    await writeFile(join(dir, 'extra.html'), 'x');
    const result = await verifyEvidence(dir, noKeys);
    expect(result).toMatchObject({
      ok: false,
      changed: [],
      missing: ['procedures/order-full-backup/block-0.trace'],
      added: ['extra.html', 'procedures/order-full-backup/.injected'],
    });
    expect(describeVerification(dir, result)).toContain('missing: procedures/order-full-backup/block-0.trace');
    expect(describeVerification(dir, result)).toContain('FAILED');
  });

  it('refuses a bundle without SHA256SUMS or with an altered sums line, with a fix', async () => {
    await expect(verifyEvidence(dir, noKeys)).rejects.toThrow(/SHA256SUMS is missing/);
    await writeSha256Sums(dir, noKeys);
    await writeFile(join(dir, SUMS_FILE), `${await readFile(join(dir, SUMS_FILE), 'utf8')}not a sums line\n`);
    await expect(verifyEvidence(dir, noKeys)).rejects.toThrow(/is not "<sha256> {2}<path>"/);
    await expect(verifyEvidence(join(dir, 'nope'), noKeys)).rejects.toBeInstanceOf(UsageError);
  });
});

describe('signed bundles', () => {
  const { privateKey, publicKey } = generateKeyPairSync('ed25519');
  const privatePem = privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
  const publicPem = publicKey.export({ type: 'spki', format: 'pem' }).toString();
  const signing = { env: { [SIGNING_KEY_ENV]: privatePem, [SIGNING_PUBKEY_ENV]: publicPem } };

  it('signs SHA256SUMS with the ed25519 key and verifies it with the public key', async () => {
    const written = await writeSha256Sums(dir, signing);
    expect(written.signature).toBe(join(dir, SIGNATURE_FILE));
    expect((await readFile(join(dir, SIGNATURE_FILE))).length).toBe(64);
    expect(await verifyEvidence(dir, signing)).toMatchObject({ ok: true, signature: 'valid' });
    expect((await verifyEvidence(dir, { env: {} })).signature).toBe('unchecked');
    expect(describeVerification(dir, await verifyEvidence(dir, signing))).toContain('OK:');
  });

  it('the signature is a plain ed25519 signature that openssl verifies too', async () => {
    await writeSha256Sums(dir, signing);
    await writeFile(join(dir, '..', `${dir.split('/').pop()}.pub.pem`), publicPem);
    const pub = join(dir, '..', `${dir.split('/').pop()}.pub.pem`);
    try {
      const out = execFileSync(
        'openssl',
        ['pkeyutl', '-verify', '-pubin', '-inkey', pub, '-rawin', '-in', join(dir, SUMS_FILE), '-sigfile', join(dir, SIGNATURE_FILE)],
        { encoding: 'utf8' },
      );
      expect(out).toContain('Signature Verified Successfully');
    } finally {
      await rm(pub, { force: true });
    }
  });

  it('rejects sums rewritten to match a tampered file: the signature no longer verifies', async () => {
    await writeSha256Sums(dir, signing);
    const signature = await readFile(join(dir, SIGNATURE_FILE));
    await writeFile(join(dir, 'journal.json'), '{"drillId":"forged"}\n');
    // The forger recomputes SHA256SUMS but cannot sign it, and puts the old signature back.
    await writeSha256Sums(dir, noKeys);
    await writeFile(join(dir, SIGNATURE_FILE), signature);
    expect(await verifyEvidence(dir, signing)).toMatchObject({ ok: false, changed: [], signature: 'invalid' });
  });

  it('fails when a public key is given but the bundle is unsigned, or signed by another key', async () => {
    await writeSha256Sums(dir, noKeys);
    expect(existsSync(join(dir, SIGNATURE_FILE))).toBe(false);
    expect(await verifyEvidence(dir, signing)).toMatchObject({ ok: false, signature: 'missing' });
    const other = generateKeyPairSync('ed25519').publicKey.export({ type: 'spki', format: 'pem' }).toString();
    await writeSha256Sums(dir, signing);
    expect(await verifyEvidence(dir, { env: { [SIGNING_PUBKEY_ENV]: other } })).toMatchObject({ ok: false, signature: 'invalid' });
  });

  it('removes a signature left by an earlier write when the bundle is re-summed without a key', async () => {
    await writeSha256Sums(dir, signing);
    await writeSha256Sums(dir, noKeys);
    expect(existsSync(join(dir, SIGNATURE_FILE))).toBe(false);
  });

  it('accepts a key file path, and refuses a non-ed25519 or garbled key without printing it', async () => {
    const keyPath = join(dir, '..', `${dir.split('/').pop()}.key.pem`);
    await writeFile(keyPath, privatePem);
    try {
      expect((await writeSha256Sums(dir, { env: { [SIGNING_KEY_ENV]: keyPath } })).signature).toBeDefined();
    } finally {
      await rm(keyPath, { force: true });
    }
    const rsa = generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey.export({ type: 'pkcs8', format: 'pem' }).toString();
    await expect(writeSha256Sums(dir, { env: { [SIGNING_KEY_ENV]: rsa } })).rejects.toThrow(
      /holds a rsa key; evidence is signed with ed25519/,
    );
    const garbled = '-----BEGIN PRIVATE KEY-----\nSECRETMATERIALxyz\n-----END PRIVATE KEY-----\n';
    const error = await writeSha256Sums(dir, { env: { [SIGNING_KEY_ENV]: garbled } }).catch((caught: Error) => caught);
    expect(error).toBeInstanceOf(UsageError);
    expect(`${(error as UsageError).message} ${(error as UsageError).fix}`).not.toContain('SECRETMATERIAL');
  });
});

describe('redactBundleFiles', () => {
  it('redacts a secret another component wrote into a bundle file, and leaves binary files alone', async () => {
    const secret = 'CANARY-secretkey-42-abcdefgh';
    await writeFile(join(dir, 'procedures/order-full-backup/block-0.trace'), `cat > .env <<EOF SECRET_KEY=${secret} EOF\n`);
    const binary = Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from(secret)]);
    await writeFile(join(dir, 'binary.bin'), binary);
    const fixed = await redactBundleFiles(dir, new Redactor().add('secret_key', secret));
    expect(fixed).toEqual(['procedures/order-full-backup/block-0.trace']);
    expect(await readFile(join(dir, 'procedures/order-full-backup/block-0.trace'), 'utf8')).toBe(
      'cat > .env <<EOF SECRET_KEY=[REDACTED:secret_key] EOF\n',
    );
    expect(await readFile(join(dir, 'binary.bin'))).toEqual(binary);
  });
});
