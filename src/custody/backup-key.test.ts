import { execFileSync } from 'node:child_process';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { BackupDecryptionError, BackupKey, isOpenPgpMessage } from './backup-key.ts';

const dirs: string[] = [];
afterEach(async () => {
  for (const dir of dirs.splice(0)) {
    await BackupKey.stopAgent(dir);
    await rm(dir, { recursive: true, force: true });
  }
});

async function harnessDir(): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), 'nmia-drill-key-test-'));
  dirs.push(dir);
  return dir;
}

function agentsOf(gnupgHome: string): string[] {
  const ps = execFileSync('ps', ['-eo', 'args'], { encoding: 'utf8' });
  return ps.split('\n').filter((line) => line.includes('gpg-agent') && line.includes(gnupgHome));
}

describe('BackupKey', () => {
  it('encrypts as the corrected runbook does, reads back only with the same passphrase, and stops its agent', async () => {
    const dir = await harnessDir();
    const plain = join(dir, 'dump.sql');
    await writeFile(plain, 'INSERT INTO connector_instances VALUES (1, \'{"bind_password": "CANARY-x"}\');\n');
    const key = new BackupKey('CANARY-backupkey-test');
    const { keyFile, gnupgHome } = await key.install(dir);
    expect((await stat(keyFile)).mode & 0o777).toBe(0o600);
    expect((await stat(gnupgHome)).mode & 0o777).toBe(0o700);

    await key.encrypt(plain, `${plain}.gpg`, dir);
    expect(await isOpenPgpMessage(`${plain}.gpg`)).toBe(true);
    expect(await isOpenPgpMessage(plain)).toBe(false);
    expect((await readFile(`${plain}.gpg`)).includes('CANARY-x')).toBe(false);

    await key.decrypt(`${plain}.gpg`, join(dir, 'back.sql'), dir);
    expect(await readFile(join(dir, 'back.sql'), 'utf8')).toBe(await readFile(plain, 'utf8'));

    // Another passphrase (in a workspace of its own, as a second drill would be) cannot read it.
    const other = await harnessDir();
    await expect(new BackupKey('another-passphrase').decrypt(`${plain}.gpg`, join(other, 'x.sql'), other)).rejects.toThrow(
      BackupDecryptionError,
    );

    await BackupKey.stopAgent(dir);
    await BackupKey.stopAgent(other);
    expect(agentsOf(gnupgHome)).toEqual([]);
  });

  it('recognises an ASCII-armored message, and takes an empty file or a pg_dump archive for what they are', async () => {
    const dir = await harnessDir();
    await writeFile(join(dir, 'armored.asc'), '-----BEGIN PGP MESSAGE-----\n\njA0ECQMC\n-----END PGP MESSAGE-----\n');
    await writeFile(join(dir, 'empty'), '');
    await writeFile(join(dir, 'custom.dump'), Buffer.from('PGDMP\u0001\u000f\u0000', 'latin1'));
    expect(await isOpenPgpMessage(join(dir, 'armored.asc'))).toBe(true);
    expect(await isOpenPgpMessage(join(dir, 'empty'))).toBe(false);
    expect(await isOpenPgpMessage(join(dir, 'custom.dump'))).toBe(false);
  });
});
