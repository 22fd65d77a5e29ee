import { randomBytes } from 'node:crypto';
import { existsSync, rmSync } from 'node:fs';
import { mkdir, mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { createReportDirectory, reportDirName } from '../evidence/report-directory.ts';
import { basename, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import { findForeignKeyViolations } from '../../nmia/schema/foreign-key-check.ts';
import { applySchemaFile, CORE_TABLES, NMIA_SCHEMA_PATH } from '../../nmia/schema/nmia-schema.ts';
import { REPO_ROOT } from '../repo-root.ts';
import { cleanupRegistry, type CleanupHandle } from '../lifecycle/cleanup-registry.ts';
import { type AppSource, describeAppSource } from '../app/app-source.ts';
import { execa } from 'execa';
import { AppExpectedSchema } from './app-expected-schema.ts';
import { newJournal } from '../drill/new-journal.ts';
import { ProcedureRecorder } from '../evidence/procedure-recorder.ts';
import { DrillError, UsageError } from '../errors/drill-error.ts';
import { BackupDecryptionError, decryptWithPassphraseFile, isOpenPgpMessage } from '../custody/backup-key.ts';
import { writeEvidence, type EvidenceFiles } from '../evidence/evidence-writer.ts';
import { outcomeSymbol, totalsOf, type Journal, type Outcome, type Rung, type Severity } from '../evidence/journal.ts';
import { Redactor } from '../evidence/redactor.ts';
import { binaryVersion, findPgBinaries, type PgBinaries } from '../postgres/pg-binaries.ts';
import { checkArtifact, sha256File, type ArtifactEvidence } from '../verify/artifact-check.ts';
import { diffManifests, sequencesBehind, type ManifestDifference } from '../verify/manifest-diff.ts';
import { takeManifest, type Manifest } from '../verify/manifest.ts';
import { newerArchiveError } from './archive-version.ts';
import { checkCorruption } from './corruption-check.ts';
import { compareWithSidecar, readManifestSidecar, sidecarPathFor, type ManifestSidecar } from './manifest-sidecar.ts';
import { rolesInCustomDump, rolesInPlainDump } from './referenced-roles.ts';
import { restoreBackup } from './restore-backup.ts';
import type { RestoreTarget } from './restore-target.ts';
import { ServerScratchTarget } from './server-scratch-target.ts';
import type { TargetUrl } from './target-url.ts';
import { ThrowawayClusterTarget } from './throwaway-cluster-target.ts';

export const PROCEDURE_ID = 'verify-backup';

export interface VerifyBackupOptions {
  file: string;
  reportRoot: string;
  redactor?: Redactor;
  reporter?: (line: string) => void;
  /** Defaults to the machine's PostgreSQL (PG_BINDIR, pg_config, /usr/lib/postgresql). */
  binaries?: PgBinaries;
  /** `--target-url`: restore into scratch databases on this existing server instead of a throwaway cluster. */
  target?: TargetUrl;
  /** Fixed in tests (it names the scratch databases); random otherwise. */
  drillId?: string;
  /**
   * `--expected-schema`: the schema the backup is judged against (plain DDL or pg_dump --schema-only
   * output). Default: the real NMIA's, nmia/schema/schema.sql.
   */
  expectedSchema?: string;
  /** `--app`: judge the backup against this NMIA repository's own schema (its create_all, in its api image). */
  app?: Extract<AppSource, { kind: 'repository' }>;
  /** `--passphrase-file`: an OpenPGP-encrypted backup (`gpg --symmetric`) is decrypted with it before any check. */
  passphraseFile?: string;
}

type SchemaDifference = Extract<ManifestDifference, { category: 'structure' | 'privilege' }>;

/** What each failed check means for the person holding the backup, and what to do. */
const CONSEQUENCES: Record<Rung['rung'], { severity: Severity; whyItMatters: string; suggestedFix: string }> = {
  artifact: {
    severity: 'critical',
    whyItMatters: 'A backup that does not read back in full cannot be restored in an incident; it only looks like a backup.',
    suggestedFix:
      'Take a new backup now and check it where it is stored (sha256, pg_restore --list and a full read); keep the previous good one until then.',
  },
  restorability: {
    severity: 'critical',
    whyItMatters:
      'The restore stops (or, without ON_ERROR_STOP/--exit-on-error, silently skips objects) on these errors: the recovered database is not the backed-up one.',
    suggestedFix:
      'Fix the cause shown in the error lines (missing role or extension, version skew, a damaged file), then take and verify a new backup.',
  },
  structure: {
    severity: 'critical',
    whyItMatters:
      'The restored schema is not the one the NMIA application expects: it may fail to start, or fail on the first query that touches the differing objects.',
    suggestedFix:
      'Check which NMIA version the backup comes from; migrate the restored copy to the expected schema before relying on it, or use a backup of the right version.',
  },
  content: {
    severity: 'critical',
    whyItMatters:
      'The restored data is incomplete or inconsistent: identities, connectors or users would be missing or wrong after a recovery.',
    suggestedFix:
      'Compare with the source database; take a new backup with the application quiesced and verify it before the old ones age out.',
  },
  // verify-backup records only the four rungs above; these complete the table with fixes that still say what to do.
  application: {
    severity: 'high',
    whyItMatters: 'The restored database does not serve the NMIA application.',
    suggestedFix: 'Restore the backup into a copy of the NMIA stack and start the api against it; fix the objects it reports missing.',
  },
  timing: {
    severity: 'medium',
    whyItMatters: 'The restore takes longer than the recovery target allows.',
    suggestedFix: 'Restore with pg_restore -j <cores> from a custom-format dump, or agree a recovery target the restore meets.',
  },
  intent: {
    severity: 'high',
    whyItMatters: 'The backup does not hold what it is taken for.',
    suggestedFix: 'Take the backup with pg_dump -Fc of the whole nmia database (no --schema-only or table filters) and verify it again.',
  },
};

function messages(differences: ReadonlyArray<{ message: string }>, max = 8): string {
  const shown = differences
    .slice(0, max)
    .map((difference) => difference.message)
    .join('; ');
  return differences.length > max ? `${shown}; … and ${differences.length - max} more` : shown;
}

/**
 * Missing and unexpected objects name what is different, whole tables first (their columns, keys and
 * indexes follow from them); a changed column rank after them is mostly a consequence.
 */
function ordered(differences: SchemaDifference[]): SchemaDifference[] {
  const rank = (difference: SchemaDifference) =>
    difference.kind === 'schema-object-changed' ? 2 : difference.object.startsWith('table ') ? 0 : 1;
  return [...differences].sort((a, b) => rank(a) - rank(b));
}

/** A missing or extra table stands for its own columns, constraints and grants: the summary names the table once. */
function summarised(differences: SchemaDifference[], structural: SchemaDifference[]): SchemaDifference[] {
  const tables = structural
    .filter((d) => d.kind !== 'schema-object-changed' && d.object.startsWith('table '))
    .map((d) => ({ kind: d.kind, name: d.object.slice('table '.length) }));
  const within = (object: string, name: string) => object.includes(` ${name}.`) || object.includes(` ${name} `);
  return differences.filter((d) => d.object.startsWith('table ') || !tables.some((t) => t.kind === d.kind && within(d.object, t.name)));
}

function schemaDifferences(differences: ManifestDifference[], category: 'structure' | 'privilege'): SchemaDifference[] {
  return differences.filter((difference): difference is SchemaDifference => 'category' in difference && difference.category === category);
}

/**
 * Verifies one real backup file (custom or plain pg_dump output) in a throwaway cluster, recording the
 * ladder as rungs of ONE procedure record, so the evidence bundle is the drill's. Nothing passes by
 * default: a check that could not run is 'error' or 'not-run', never 'passed'.
 */
export class BackupVerification {
  readonly drillId: string;
  private readonly redactor: Redactor;
  private readonly file: string;
  /** What the checks read: the file itself, or for an encrypted backup its plaintext in a temp dir. */
  private readable: string;
  private decrypted: CleanupHandle | undefined;
  /** The expected schema's file and how the journal names it. */
  private expected: { path: string; label: string };
  private app: AppExpectedSchema | undefined;
  private journal!: Journal;
  private recorder!: ProcedureRecorder;
  private evidenceDir = '';
  private target: RestoreTarget | undefined;
  /** The exception that ended the verification early, if any (its exit code tells usage from environment). */
  failure: DrillError | undefined;

  constructor(private readonly options: VerifyBackupOptions) {
    this.redactor = options.redactor ?? new Redactor();
    // A password in --target-url is a secret like any other: never in the journal or on the console.
    this.redactor.add('target-url password', options.target?.password);
    this.file = resolve(options.file);
    this.readable = this.file;
    const expectedPath = options.expectedSchema ? resolve(options.expectedSchema) : fileURLToPath(NMIA_SCHEMA_PATH);
    const inRepo = relative(REPO_ROOT, expectedPath);
    this.expected = { path: expectedPath, label: inRepo.startsWith('..') ? expectedPath : inRepo };
    this.drillId = options.drillId ?? randomBytes(4).toString('hex');
  }

  async run(): Promise<{ journal: Journal; files: EvidenceFiles }> {
    const startedAt = new Date();
    const reportDir = await createReportDirectory(this.options.reportRoot, reportDirName(startedAt, this.drillId));
    this.evidenceDir = join(reportDir, 'procedures', `alone-${PROCEDURE_ID}`);
    await mkdir(this.evidenceDir, { recursive: true });
    this.journal = newJournal({
      drillId: this.drillId,
      startedAt,
      // No runbook is drilled here; the subject is the backup file, whose sha256 the artifact rung records.
      runbook: {
        path: `(none: verify-backup of ${this.file})`,
        sha256: '',
        lockPath: '',
        lockState: 'missing',
        drift: [],
        allowDrift: false,
      },
      options: { seed: 0, scale: 0, isolation: 'alone', only: [PROCEDURE_ID], skip: [] },
    });
    this.recorder = new ProcedureRecorder(
      { id: PROCEDURE_ID, title: `Verify the backup file ${basename(this.file)}`, section: `verify-backup › ${this.file}`, mode: 'alone' },
      {
        findings: this.journal.findings,
        redactor: this.redactor,
        onRung: (recorded) =>
          this.say(
            `    ${outcomeSymbol(recorded.outcome).padEnd(4)} ${recorded.rung}: ${recorded.check} — ${recorded.summary.length > 160 ? `${recorded.summary.slice(0, 157)}…` : recorded.summary}`,
          ),
      },
      startedAt,
    );
    this.recorder.setTimings({});
    this.say(`verify-backup ${this.drillId}: ${this.file}`);
    const started = Date.now();
    try {
      await this.ladder();
      this.recorder.settle();
    } catch (error) {
      if (error instanceof DrillError) this.failure = error;
      // One line: the first line of the cause, then the fix.
      const first = ((error as Error).message ?? String(error)).split('\n')[0]!;
      const cause = error instanceof DrillError ? `${first} (fix: ${error.fix})` : first;
      this.recorder.error(cause);
      this.journal.error = this.recorder.record.reason;
      this.say(`ERROR ${this.journal.error}`);
    } finally {
      if (this.target) await this.target.stop().catch((error: unknown) => this.say(`cleanup: ${(error as Error).message}`));
      if (this.app) await this.app.remove().catch((error: unknown) => this.say(`cleanup: ${(error as Error).message}`));
      await this.decrypted?.run();
    }
    const record = this.recorder.finish(Date.now() - started);
    this.recorder.timing('totalMs', record.durationMs!);
    this.addFindings();
    this.journal.procedures = [record];
    this.journal.finishedAt = new Date().toISOString();
    this.journal.totals = totalsOf(this.journal.procedures);
    this.journal.outcome = record.outcome;
    this.journal.timing = { ...record.timings };
    const files = await writeEvidence(this.journal, reportDir, this.redactor);
    this.say(`verify-backup ${this.drillId}: ${outcomeSymbol(this.journal.outcome)}${record.reason ? ` — ${record.reason}` : ''}`);
    this.say(`journal: ${files.journal}`);
    if (files.attestationPdfNotWritten) this.say(files.attestationPdfNotWritten);
    return { journal: this.journal, files };
  }

  private async ladder(): Promise<void> {
    const binaries = this.options.binaries ?? findPgBinaries();
    const asWritten = await this.decryptIfEncrypted();
    const artifact = await this.timed('artifactMs', () => checkArtifact(this.readable, { pgRestorePath: binaries.path('pg_restore') }));
    // Written by a newer pg_dump than this pg_restore reads: the machine's problem, not a verdict on the backup.
    const tooNew = artifact.readable ? undefined : await newerArchiveError(this.readable, artifact.detail, binaries);
    if (tooNew) {
      this.recorder.artifact({
        name: 'backup-file',
        path: artifact.path,
        bytes: artifact.bytes,
        sha256: artifact.sha256,
        format: artifact.format,
        readable: false,
        detail: artifact.detail,
        producedBy: 'user',
      });
      this.rung('artifact', 'the file is a readable custom-format dump', 'error', `${tooNew.message} (fix: ${tooNew.fix})`);
      throw tooNew;
    }
    this.recordArtifact(artifact);
    this.journal.runbook.sha256 = artifact.sha256;
    const sidecarPath = sidecarPathFor(this.file);
    const sidecar = existsSync(sidecarPath) ? await readManifestSidecar(sidecarPath) : undefined;
    if (sidecar?.ok) this.checkSidecarFile(asWritten ?? artifact, sidecar.sidecar);
    if (artifact.format !== 'custom' && artifact.format !== 'plain') {
      this.notRun(['restorability', 'structure', 'content'], `the file is not a custom-format or plain SQL dump (${artifact.detail})`);
      return;
    }
    const format = artifact.format;
    if (this.options.app) await this.prepareApp(this.options.app);

    const url = this.options.target;
    this.target = await this.action(
      url
        ? `connect to the existing server ${url.describe()}: restore only into scratch databases the drill creates, marks and drops`
        : 'start a throwaway PostgreSQL cluster',
      url ? `SELECT current_setting('server_version'); client binaries checked against it` : `initdb + pg_ctl start (${binaries.binDir})`,
      (): Promise<RestoreTarget> => (url ? ServerScratchTarget.open(url, this.drillId, binaries) : ThrowawayClusterTarget.start(binaries)),
    );
    const target = this.target;
    const serverVersion = await target.serverVersion();
    this.journal.stack = {
      kind: target.kind,
      reason: target.reason,
      versions: { postgres: serverVersion, pg_restore: binaryVersion(binaries, 'pg_restore'), node: process.version },
    };

    await this.prepareReference(target, binaries);
    await this.action(
      `scratch database for the restore${target.kind === 'server' ? ", marked as this drill's" : ''}`,
      `CREATE DATABASE ${target.restoredDb}`,
      () => target.createDatabase(target.restoredDb),
    );
    if (!(await this.createReferencedRoles(format, binaries))) return;

    const restore = await this.timed('restoreMs', () =>
      restoreBackup({
        file: this.readable,
        format,
        database: target.restoredDb,
        binaries,
        env: target.env(target.restoredDb),
        stderrFile: join(this.evidenceDir, 'restore.stderr'),
      }),
    );
    this.recorder.harnessAction({
      purpose: `restore ${basename(this.file)} into an empty database, errors fatal`,
      command: restore.command,
      exitCode: restore.exitCode,
      durationMs: restore.durationMs,
      ...(restore.exitCode === 0 ? {} : { detail: restore.stderrTail }),
    });
    const check =
      format === 'custom'
        ? 'pg_restore --exit-on-error exits 0 with no error lines'
        : 'psql -v ON_ERROR_STOP=1 exits 0 with no error lines';
    if (restore.exitCode === 0 && restore.errorLines.length === 0) {
      this.rung('restorability', check, 'passed', `${restore.command}: exit 0 in ${restore.durationMs} ms, no error lines`);
    } else {
      const why =
        restore.exitCode === 0
          ? `exit 0 but ${restore.errorLines.length} error line(s)`
          : `exit ${restore.exitCode ?? 'none (not started)'}`;
      this.rung(
        'restorability',
        check,
        'failed',
        `${restore.command}: ${why}: ${restore.errorLines[0] ?? restore.stderrTail.split('\n').at(-1) ?? ''}`,
        { exitCode: restore.exitCode, errorLines: restore.errorLines, stderrTail: restore.stderrTail },
      );
      this.notRun(['structure', 'content'], 'the restore failed: a partial database proves nothing');
      return;
    }

    const restored = await this.timed('manifestMs', () => this.manifestOf(target.restoredDb, 'restored'));
    this.checkStructure(await this.manifestOf(target.referenceDb, `expected schema (${this.expected.label})`), restored);
    await this.checkContent(restored);
    if (sidecar === undefined) {
      this.rung(
        'content',
        'matches the manifest sidecar written at backup time',
        'skipped',
        `no ${basename(sidecarPath)} next to the file: counts and hashes can only be checked for consistency, not against the source`,
      );
    } else if (!sidecar.ok) {
      this.rung('content', 'matches the manifest sidecar written at backup time', 'failed', sidecar.reason);
    } else {
      this.compareWithSidecar(sidecar.sidecar, restored);
    }
    // Last: pg_amcheck installs the amcheck extension into the database, which would change its fingerprint.
    const corruption = await this.timed('amcheckMs', () => checkCorruption(binaries, target.env(target.restoredDb), target.restoredDb));
    this.recorder.harnessAction({
      purpose: 'corruption check on the restored copy',
      command: corruption.command,
      exitCode: corruption.exitCode,
      durationMs: this.recorder.record.timings?.amcheckMs ?? 0,
    });
    this.rung(
      'content',
      'no corruption: every heap and btree index checks out (pg_amcheck --heapallindexed)',
      corruption.outcome,
      corruption.summary,
      corruption.problems.length > 0 ? { problems: corruption.problems } : undefined,
    );
  }

  private recordArtifact(artifact: ArtifactEvidence): void {
    this.recorder.artifact({
      name: 'backup-file',
      path: artifact.path,
      bytes: artifact.bytes,
      sha256: artifact.sha256,
      format: artifact.format,
      readable: artifact.readable,
      detail: artifact.detail,
      producedBy: 'user',
    });
    const check = `the file is a readable ${artifact.format === 'unknown' ? 'custom-format or plain SQL' : artifact.format} dump`;
    const summary = `${artifact.bytes} bytes, sha256 ${artifact.sha256 ? `${artifact.sha256.slice(0, 16)}…` : 'n/a'}, ${artifact.format}: ${artifact.detail}`;
    const usable = artifact.readable && (artifact.format === 'custom' || artifact.format === 'plain');
    this.rung(
      'artifact',
      check,
      usable ? 'passed' : 'failed',
      usable ? summary : artifact.readable ? `${summary} (verify-backup takes pg_dump custom-format or plain SQL files)` : summary,
      { sha256: artifact.sha256, format: artifact.format, bytes: artifact.bytes },
    );
  }

  /**
   * An OpenPGP-encrypted backup (the corrected runbook's `gpg --symmetric`) is decrypted with --passphrase-file into a
   * temp dir, and every later check reads the plaintext; returns the encrypted file's own size and sha256, which its
   * sidecar describes. Without the passphrase, a one-line error says what to pass.
   */
  private async decryptIfEncrypted(): Promise<{ sha256: string; bytes: number } | undefined> {
    if (!(await isOpenPgpMessage(this.file))) return undefined;
    const passphraseFile = this.options.passphraseFile;
    if (!passphraseFile)
      throw new UsageError(`${basename(this.file)} is OpenPGP-encrypted (gpg): it cannot be checked without its passphrase`, {
        fix: `pass --passphrase-file <file holding the backup passphrase> (the corrected runbook keeps it in /etc/nmia/backup.passphrase)`,
      });
    const dir = await mkdtemp(join(tmpdir(), `nmia-drill-verify-${this.drillId}-`));
    // The plaintext holds whatever the backup protects: removed on every exit, Ctrl-C included.
    this.decrypted = cleanupRegistry.register(
      `decrypted backup ${dir}`,
      async () => {
        await execa('gpgconf', ['--homedir', join(dir, 'gnupg'), '--kill', 'gpg-agent'], { reject: false, stdin: 'ignore' });
        await rm(dir, { recursive: true, force: true });
      },
      () => rmSync(dir, { recursive: true, force: true }),
    );
    this.readable = join(dir, basename(this.file).replace(/\.gpg$/, ''));
    await this.action(
      `decrypt ${basename(this.file)} with --passphrase-file`,
      `gpg --batch --decrypt --passphrase-file ${passphraseFile} --output ${this.readable} ${this.file}`,
      async () => {
        try {
          await decryptWithPassphraseFile(this.file, this.readable, passphraseFile, dir);
        } catch (error) {
          if (error instanceof BackupDecryptionError)
            throw new UsageError(`${basename(this.file)} does not decrypt with ${passphraseFile}: ${error.message}`, {
              fix: 'pass the passphrase file the backup was encrypted with',
            });
          throw error;
        }
      },
    );
    const [info, sha256] = await Promise.all([stat(this.file), sha256File(this.file)]);
    return { sha256, bytes: info.size };
  }

  private checkSidecarFile(artifact: { sha256: string; bytes: number }, sidecar: ManifestSidecar): void {
    const check = 'the file is the one its manifest sidecar describes (sha256)';
    if (sidecar.sha256 === artifact.sha256)
      this.rung('artifact', check, 'passed', `sha256 ${artifact.sha256.slice(0, 16)}… as recorded at ${sidecar.writtenAt}`);
    else
      this.rung(
        'artifact',
        check,
        'failed',
        `sha256 ${artifact.sha256.slice(0, 16)}… (${artifact.bytes} bytes), the sidecar recorded ${sidecar.sha256.slice(0, 16)}… (${sidecar.bytes} bytes) at ${sidecar.writtenAt}: the file changed since the backup`,
        { expected: sidecar.sha256, actual: artifact.sha256 },
      );
  }

  /** --app: the app checked out with its api image ready; the journal names it, and the expected schema becomes its own. */
  private async prepareApp(source: Extract<AppSource, { kind: 'repository' }>): Promise<void> {
    const app = await this.action(
      `the app whose schema the backup is judged against: ${describeAppSource(source)}, cloned, its api image present or built`,
      `git clone ${describeAppSource(source)}; docker image inspect (docker compose build when missing)`,
      () => AppExpectedSchema.prepare(source, (message) => this.say(message)),
    );
    this.app = app;
    this.expected = { path: '', label: app.label };
    this.journal.app = {
      kind: 'repository',
      source: describeAppSource(source),
      commit: app.checkout.commit,
      ref: app.checkout.ref,
      ...(app.build ? { harnessActions: [app.build] } : {}),
    };
  }

  /** Creates the reference database with the expected schema (the real NMIA's unless --expected-schema or --app says otherwise). */
  private async prepareReference(target: RestoreTarget, binaries: PgBinaries): Promise<void> {
    await this.action(
      `scratch database for the expected schema${target.kind === 'server' ? ", marked as this drill's" : ''}`,
      `CREATE DATABASE ${target.referenceDb}`,
      () => target.createDatabase(target.referenceDb),
    );
    const app = this.app;
    if (app) {
      await this.action("apply the expected schema: the app's own create_all, in its api image", app.command, () =>
        app.createIn(target.databaseUrl(target.referenceDb)),
      );
      const kept = join(this.evidenceDir, 'expected-schema.sql');
      await this.action(
        'keep the expected schema as evidence',
        `pg_dump --schema-only --no-owner -d ${target.referenceDb} > ${relative(this.evidenceDir, kept)}`,
        async () => {
          await execa(binaries.path('pg_dump'), ['--schema-only', '--no-owner', '--file', kept, '-d', target.referenceDb], {
            env: target.env(target.referenceDb),
            stdin: 'ignore',
          });
        },
      );
      return;
    }
    await this.action(
      'apply the expected schema, for the structure comparison',
      `${this.expected.label} → ${target.referenceDb}`,
      async () => {
        const client = await target.connect(target.referenceDb);
        try {
          await applySchemaFile(client, this.expected.path, this.expected.label);
        } finally {
          await client.end();
        }
      },
    );
  }

  /** Roles the dump refers to are cluster-wide, not in the dump; false when they are missing and may not be created. */
  private async createReferencedRoles(format: 'custom' | 'plain', binaries: PgBinaries): Promise<boolean> {
    const target = this.target!;
    const referenced =
      format === 'custom' ? await rolesInCustomDump(this.readable, binaries.path('pg_restore')) : await rolesInPlainDump(this.readable);
    const existing = new Set((await target.query<{ rolname: string }>('SELECT rolname FROM pg_roles')).map((row) => row.rolname));
    const missing = referenced.filter((role) => !existing.has(role));
    if (missing.length === 0) return true;
    if (!target.mayCreateRoles) {
      this.rung(
        'restorability',
        'the roles the dump refers to exist on the server',
        'error',
        `the dump refers to role(s) the server lacks: ${missing.join(', ')}; a drill creates no roles on a server it does not own (roles are cluster-wide). Fix: create them on that server, or verify without --target-url`,
        { missing },
      );
      this.notRun(['structure', 'content'], 'the backup was not restored');
      return false;
    }
    await this.action(
      'roles the dump refers to are cluster-wide, not in the dump: create them (NOLOGIN) in the throwaway cluster',
      missing.map((role) => `CREATE ROLE ${pg.escapeIdentifier(role)} NOLOGIN`).join('; '),
      () => target.createRoles(missing),
    );
    return true;
  }

  private async manifestOf(database: string, label: string): Promise<Manifest> {
    const client = await this.target!.connect(database);
    try {
      const manifest = await takeManifest(client);
      this.journal.manifests[`${PROCEDURE_ID}: ${label}`] = manifest;
      return manifest;
    } finally {
      await client.end();
    }
  }

  private checkStructure(reference: Manifest, restored: Manifest): void {
    const differences = diffManifests(reference, restored);
    const structural = ordered(schemaDifferences(differences, 'structure'));
    const privileges = ordered(schemaDifferences(differences, 'privilege'));
    const check = `the restored schema is the expected schema (${this.expected.label})`;
    if (structural.length === 0)
      this.rung('structure', check, 'passed', `${Object.keys(restored.schema.objects).length} catalog objects match`);
    else
      this.rung(
        'structure',
        check,
        'failed',
        `${structural.length} schema object(s) differ: ${messages(summarised(structural, structural))}`,
        {
          differences: structural.map(({ object, kind, message }) => ({ object, kind, message })),
        },
      );
    const privilegeCheck = 'privileges (GRANTs) are those of the expected schema';
    if (privileges.length === 0) this.rung('structure', privilegeCheck, 'passed', 'every grant matches');
    else
      this.rung(
        'structure',
        privilegeCheck,
        'failed',
        `${privileges.length} privilege entr${privileges.length === 1 ? 'y differs' : 'ies differ'}: ${messages(summarised(privileges, structural))}`,
        { differences: privileges.map(({ object, kind, message }) => ({ object, kind, message })) },
      );
  }

  private async checkContent(restored: Manifest): Promise<void> {
    const counts = CORE_TABLES.map((table) => ({ table, rows: restored.tables[`public.${table}`]?.rows }));
    const empty = counts.filter((count) => !count.rows);
    const shown = counts.map((count) => `${count.table} ${count.rows ?? 'missing'}`).join(', ');
    this.rung(
      'content',
      `core tables hold rows (${CORE_TABLES.join(', ')})`,
      empty.length === 0 ? 'passed' : 'failed',
      empty.length === 0
        ? shown
        : `${empty.map((count) => `${count.table} ${count.rows === undefined ? 'is missing' : 'is empty'}`).join(', ')} (${shown})`,
    );

    const client = await this.target!.connect(this.target!.restoredDb);
    let violations;
    try {
      violations = await findForeignKeyViolations(client);
    } finally {
      await client.end();
    }
    const fkCheck = 'every foreign key holds (no orphan rows)';
    if (violations.length === 0) this.rung('content', fkCheck, 'passed', 'no orphans in any foreign key of schema public');
    else
      this.rung(
        'content',
        fkCheck,
        'failed',
        violations.map((violation) => `${violation.table}: ${violation.orphans} orphan row(s) for ${violation.constraint}`).join('; '),
        { violations },
      );

    const behind = sequencesBehind(restored);
    const sequenceCheck = 'no sequence is behind its table';
    if (behind.length === 0) this.rung('content', sequenceCheck, 'passed', `${Object.keys(restored.sequences).length} sequences checked`);
    else this.rung('content', sequenceCheck, 'failed', messages(behind), { behind });
  }

  private compareWithSidecar(sidecar: ManifestSidecar, restored: Manifest): void {
    const { content, schema, sameMajor, scope } = compareWithSidecar(sidecar, restored);
    const check = `matches the manifest sidecar written at backup time (${sidecar.writtenAt})`;
    if (content.length === 0) this.rung('content', check, 'passed', `counts, content hashes and sequences match: ${scope}`);
    else
      this.rung('content', check, 'failed', `${content.length} difference(s) from the sidecar: ${messages(content)}`, {
        differences: content,
      });
    if (!sameMajor) return;
    const schemaCheck = 'the schema matches the manifest sidecar';
    if (schema.length === 0)
      this.rung('structure', schemaCheck, 'passed', `fingerprint ${restored.schema.fingerprint.slice(0, 12)}… as recorded`);
    else
      this.rung('structure', schemaCheck, 'failed', `${schema.length} schema object(s) differ from the sidecar: ${messages(schema)}`, {
        differences: schema,
      });
  }

  // ── recording ─────────────────────────────────────────────────────────────

  private rung(rung: Rung['rung'], check: string, outcome: Outcome, summary: string, evidence?: Record<string, unknown>): void {
    this.recorder.rung({ rung, check, outcome, summary, ...(evidence ? { evidence } : {}) });
  }

  private notRun(rungs: Array<Rung['rung']>, reason: string): void {
    for (const rung of rungs) this.rung(rung, `${rung} checks`, 'not-run', reason);
  }

  private action<T>(purpose: string, command: string, run: () => Promise<T>): Promise<T> {
    return this.recorder.timedAction(purpose, command, run);
  }

  private async timed<T>(name: string, run: () => Promise<T>): Promise<T> {
    const started = Date.now();
    try {
      return await run();
    } finally {
      this.recorder.timing(name, Date.now() - started);
    }
  }

  /** A finding per failed rung. A rung that could not be checked is `error` with its cause: no finding, it says nothing of the backup. */
  private addFindings(): void {
    for (const rung of this.recorder.rungs.filter((candidate) => candidate.outcome === 'failed')) {
      const consequence = CONSEQUENCES[rung.rung];
      this.recorder.finding({
        severity: consequence.severity,
        title: `${rung.check}: failed`,
        evidence: { rung: rung.rung, summary: rung.summary, ...(rung.evidence ?? {}) },
        whyItMatters: consequence.whyItMatters,
        suggestedFix: consequence.suggestedFix,
      });
    }
  }

  private say(line: string): void {
    this.options.reporter?.(this.redactor.redact(line));
  }
}
