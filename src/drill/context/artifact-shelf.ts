import { mkdir, stat } from 'node:fs/promises';
import { basename, join, relative } from 'node:path';
import { BackupDecryptionError, isOpenPgpMessage, type BackupKey } from '../../custody/backup-key.ts';
import type { ProcedureRecorder } from '../../evidence/procedure-recorder.ts';
import type { PgBinaries } from '../../postgres/pg-binaries.ts';
import { checkArtifact, type ArtifactEvidence } from '../../verify/artifact-check.ts';
import type { EnvironmentState, ProducedArtifact } from '../drill-state.ts';

/** The files procedures make and hand on: rung 1 for each, and the shelf later procedures of the environment read from. */
export class ArtifactShelf {
  constructor(
    private readonly procedureId: string,
    private readonly environment: EnvironmentState,
    private readonly recorder: ProcedureRecorder,
    private readonly binaries: PgBinaries,
    private readonly projectDir: string,
    private readonly custody: { key: BackupKey; harnessDir: string },
  ) {}

  /**
   * Rung 1 for a file: exists, size, sha256, readable in its format. An OpenPGP-encrypted file is read through
   * the drill's backup key: readable means it decrypts with that key and the plaintext is readable in its format.
   */
  async check(name: string, path: string, expectedFormat?: ArtifactEvidence['format']): Promise<ArtifactEvidence> {
    const evidence = await this.checkThroughEncryption(path, expectedFormat);
    const shown = relative(this.projectDir, path).startsWith('..') ? path : this.relativeToProject(path);
    this.recorder.artifact({
      name,
      path: shown,
      bytes: evidence.bytes,
      sha256: evidence.sha256,
      format: evidence.format,
      readable: evidence.readable,
      detail: evidence.detail,
      producedBy: this.procedureId,
    });
    const check = `${name} is a readable ${expectedFormat ?? evidence.format} file`;
    const summary = `${shown}: ${evidence.bytes} bytes, ${evidence.format}, ${evidence.detail}`;
    if (evidence.readable) this.recorder.pass('artifact', check, summary, { sha256: evidence.sha256 });
    else this.recorder.fail('artifact', check, summary, { sha256: evidence.sha256 });
    return evidence;
  }

  private async checkThroughEncryption(path: string, expectedFormat?: ArtifactEvidence['format']): Promise<ArtifactEvidence> {
    const options = { pgRestorePath: this.binaries.path('pg_restore'), ...(expectedFormat ? { expectedFormat } : {}) };
    const onDisk = await checkArtifact(path, options);
    if (onDisk.bytes === 0 || !(await isOpenPgpMessage(path))) return onDisk;
    let plaintext: string;
    try {
      plaintext = await this.readablePath(path);
    } catch (error) {
      if (!(error instanceof BackupDecryptionError)) throw error;
      return {
        ...onDisk,
        readable: false,
        detail: `OpenPGP-encrypted; ${error.message}`,
      };
    }
    const inside = await checkArtifact(plaintext, options);
    // The file on disk is what the hash names; the format and readability are the plaintext's.
    return {
      ...inside,
      path,
      bytes: onDisk.bytes,
      sha256: onDisk.sha256,
      encrypted: true,
      detail: `OpenPGP-encrypted; decrypted with the drill's backup key: ${inside.detail}`,
    };
  }

  /**
   * A path the harness's own tools can read: the file itself, or for an OpenPGP-encrypted one its plaintext,
   * decrypted once with the drill's key into the harness's custody directory (never into ./backups).
   */
  async readablePath(path: string): Promise<string> {
    if (!(await isOpenPgpMessage(path))) return path;
    // Keyed by the file's size and time too: a file written again (an adversarial run's damaged input) is decrypted again.
    const { size, mtimeMs } = await stat(path);
    const version = `${path}\0${size}\0${mtimeMs}`;
    const known = this.decrypted.get(version);
    if (known) return known;
    const dir = join(this.custody.harnessDir, 'custody', 'decrypted');
    await mkdir(dir, { recursive: true, mode: 0o700 });
    const plaintext = join(dir, basename(path).replace(/\.(gpg|asc|pgp)$/, ''));
    await this.custody.key.decrypt(path, plaintext, this.custody.harnessDir);
    this.decrypted.set(version, plaintext);
    return plaintext;
  }

  private readonly decrypted = new Map<string, string>();

  /** Puts a file on the shelf for later procedures of this environment. */
  produce(artifact: Omit<ProducedArtifact, 'producedBy'>): void {
    this.environment.artifacts.set(artifact.name, { ...artifact, producedBy: this.procedureId });
  }

  find(name: string): ProducedArtifact | undefined {
    return this.environment.artifacts.get(name);
  }

  /** Path of a file as an operator in the project directory would type it. */
  relativeToProject(path: string): string {
    return `./${relative(this.projectDir, path)}`;
  }
}
