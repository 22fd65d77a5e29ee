import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { chmod, mkdir, open, rm, writeFile } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { execa } from 'execa';
import { EnvironmentError } from '../errors/drill-error.ts';
import { lastLines } from '../exec/error-lines.ts';

/**
 * Where a runbook keeps the passphrase its backups are encrypted with. The drill holds the key in custody
 * and binds this path to its own copy, as the recovery host would have it from off-host custody.
 */
export const BACKUP_KEY_PLACEHOLDER = '/etc/nmia/backup.passphrase';

/** What a block or the harness needs to use the key inside one workspace. */
export interface InstalledBackupKey {
  /** The passphrase file (mode 600). */
  keyFile: string;
  /** A private GnuPG home: gpg's agent and keyboxes stay in the workspace, never in the user's ~/.gnupg. */
  gnupgHome: string;
}

/**
 * The drill's backup encryption key: a passphrase (a canary, so a leak of it is found like any other), written
 * per workspace for the blocks that name {@link BACKUP_KEY_PLACEHOLDER}, and used by the harness to read
 * encrypted artifacts and to hand encrypted inputs to restores that expect them.
 */
export class BackupKey {
  constructor(private readonly passphrase: string) {}

  static keyFile(harnessDir: string): string {
    return join(harnessDir, 'custody', 'backup.passphrase');
  }

  static gnupgHome(harnessDir: string): string {
    return join(harnessDir, 'custody', 'gnupg');
  }

  /** Writes the key file and the GnuPG home into a workspace's harness dir; idempotent. */
  async install(harnessDir: string): Promise<InstalledBackupKey> {
    const keyFile = BackupKey.keyFile(harnessDir);
    const gnupgHome = BackupKey.gnupgHome(harnessDir);
    if (!existsSync(keyFile)) {
      await mkdir(gnupgHome, { recursive: true, mode: 0o700 });
      await chmod(gnupgHome, 0o700);
      await writeFile(keyFile, `${this.passphrase}\n`, { mode: 0o600 });
    }
    return { keyFile, gnupgHome };
  }

  /** `gpg --symmetric` with the key, as the corrected runbook encrypts its backups. */
  async encrypt(input: string, output: string, harnessDir: string): Promise<void> {
    await this.gpg(harnessDir, ['--symmetric', '--cipher-algo', 'AES256', '--output', output, input], `encrypt ${input}`);
  }

  /** `gpg --decrypt` with the key; throws {@link BackupDecryptionError} when the file does not decrypt with it. */
  async decrypt(input: string, output: string, harnessDir: string): Promise<void> {
    try {
      await this.gpg(harnessDir, ['--decrypt', '--output', output, input], `decrypt ${basename(input)} with the drill's backup key`);
    } catch (error) {
      // gpg leaves what it decrypted before a cut or a bad block: never a plaintext anyone could take for the backup.
      await rm(output, { force: true });
      throw error;
    }
  }

  private async gpg(harnessDir: string, args: string[], what: string): Promise<void> {
    const { keyFile, gnupgHome } = await this.install(harnessDir);
    await runGpg(keyFile, gnupgHome, args, what);
  }

  /** Stops the gpg-agent a workspace's GnuPG home started (blocks and the harness share it); nothing when none ran. */
  static async stopAgent(harnessDir: string): Promise<void> {
    const gnupgHome = BackupKey.gnupgHome(harnessDir);
    if (!existsSync(gnupgHome)) return;
    await execa('gpgconf', ['--homedir', gnupgHome, '--kill', 'gpg-agent'], { reject: false, stdin: 'ignore' });
  }

  /** {@link stopAgent} for exit handlers, which cannot wait on a promise. */
  static stopAgentSync(harnessDir: string): void {
    const gnupgHome = BackupKey.gnupgHome(harnessDir);
    if (existsSync(gnupgHome)) spawnSync('gpgconf', ['--homedir', gnupgHome, '--kill', 'gpg-agent'], { stdio: 'ignore' });
  }
}

/**
 * Decrypts a backup with an operator's passphrase file (verify-backup --passphrase-file), in a private GnuPG home
 * under `workDir` whose agent is stopped afterwards.
 */
export async function decryptWithPassphraseFile(input: string, output: string, passphraseFile: string, workDir: string): Promise<void> {
  const gnupgHome = join(workDir, 'gnupg');
  await mkdir(gnupgHome, { recursive: true, mode: 0o700 });
  try {
    await runGpg(passphraseFile, gnupgHome, ['--decrypt', '--output', output, input], `decrypt ${basename(input)}`);
  } finally {
    await execa('gpgconf', ['--homedir', gnupgHome, '--kill', 'gpg-agent'], { reject: false, stdin: 'ignore' });
  }
}

async function runGpg(keyFile: string, gnupgHome: string, args: string[], what: string): Promise<void> {
  const result = await execa('gpg', ['--batch', '--yes', '--quiet', '--passphrase-file', keyFile, ...args], {
    env: { GNUPGHOME: gnupgHome },
    reject: false,
    stdin: 'ignore',
  });
  if ((result as { code?: string }).code === 'ENOENT' || result.exitCode === undefined)
    throw new EnvironmentError('gpg is not installed: the runbook encrypts its backups with it', {
      fix: 'install GnuPG (Debian: apt-get install gnupg)',
    });
  if (result.exitCode !== 0)
    throw new BackupDecryptionError(`gpg could not ${what}: ${gpgCause(String(result.stderr)) || `exit ${result.exitCode}`}`);
}

/** gpg's line that says why: a cut file ("problem reading source"), a wrong key ("Bad session key"), not its last debris. */
function gpgCause(stderr: string): string {
  const lines = stderr.split('\n').filter(Boolean);
  return (
    lines.find((line) => /problem reading source|decryption failed|manipulated|invalid packet|no valid OpenPGP data/i.test(line)) ??
    lastLines(stderr, 1)
  );
}

export class BackupDecryptionError extends Error {
  override readonly name = 'BackupDecryptionError';
}

/**
 * True for the first bytes of an OpenPGP message: binary (its first packet an encrypted session key, tag 3
 * symmetric or tag 1 public-key) or ASCII-armored. What `gpg --symmetric` and `gpg --encrypt` write.
 */
export function looksLikeOpenPgp(head: Buffer): boolean {
  if (head.length === 0) return false;
  if (head.subarray(0, ARMOR.length).toString('latin1') === ARMOR) return true;
  const first = head[0]!;
  if ((first & 0x80) === 0) return false;
  const tag = (first & 0x40) !== 0 ? first & 0x3f : (first >> 2) & 0x0f;
  return tag === 3 || tag === 1;
}

const ARMOR = '-----BEGIN PGP MESSAGE-----';

/** {@link looksLikeOpenPgp} on a file's first bytes. */
export async function isOpenPgpMessage(path: string): Promise<boolean> {
  const handle = await open(path, 'r');
  try {
    const head = Buffer.alloc(ARMOR.length);
    const { bytesRead } = await handle.read(head, 0, head.length, 0);
    return looksLikeOpenPgp(head.subarray(0, bytesRead));
  } finally {
    await handle.close();
  }
}
