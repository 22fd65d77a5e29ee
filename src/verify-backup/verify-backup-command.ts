import { statSync } from 'node:fs';
import { resolve } from 'node:path';
import { DrillError, ExitCode } from '../errors/drill-error.ts';
import { drillExitCode } from '../evidence/drill-exit-code.ts';
import { ensurePrerequisites, installPolicyFrom } from '../prerequisites/prerequisite-check.ts';
import { cleanupRegistry } from '../lifecycle/cleanup-registry.ts';
import { BackupVerification } from './backup-verification.ts';
import { TargetUrl } from './target-url.ts';
import { type AppSource, parseAppSource } from '../app/app-source.ts';

export interface VerifyBackupCommandOptions {
  reportDir?: string;
  json?: boolean;
  quiet?: boolean;
  /** An existing PostgreSQL server to restore into (scratch databases only), instead of a throwaway cluster. */
  targetUrl?: string;
  /** The schema file the backup is judged against (default: nmia/schema/schema.sql). */
  expectedSchema?: string;
  /** `--app <path | git URL>[#ref]`: judge against that NMIA repository's own schema (its create_all, in its api image). */
  app?: string;
  /** `--passphrase-file`: decrypts an OpenPGP-encrypted backup before any check. */
  passphraseFile?: string;
  /** Where progress and errors go (stderr by default); the JSON result always goes to `stdout`. */
  stderr?: (text: string) => void;
  stdout?: (text: string) => void;
}

/** What `nmia-drill verify-backup <file>` does: 0 every check passed, 1 a check failed or could not run, 2 usage, 3 environment. */
export async function runVerifyBackupCommand(file: string, options: VerifyBackupCommandOptions = {}): Promise<number> {
  const stderr = options.stderr ?? ((text: string) => void process.stderr.write(text));
  const stdout = options.stdout ?? ((text: string) => void process.stdout.write(text));
  const usage = (cause: string, fix: string): number => {
    stderr(`error: ${cause}\n  fix: ${fix}\n`);
    return ExitCode.usage;
  };
  if (!file)
    return usage('verify-backup needs the backup file to check', 'nmia-drill verify-backup ./backups/nmia_backup_20250201_020000.dump');
  let kind: 'file' | 'other' | 'missing';
  try {
    kind = statSync(file).isFile() ? 'file' : 'other';
  } catch {
    kind = 'missing';
  }
  if (kind === 'missing')
    return usage(`backup file not found: ${resolve(file)}`, 'pass the path of an existing pg_dump file (custom format -Fc, or plain SQL)');
  if (kind === 'other')
    return usage(
      `not a regular file: ${resolve(file)}`,
      'pass the dump file itself, not a directory (directory-format dumps are not supported)',
    );
  if (options.expectedSchema !== undefined && !statSync(options.expectedSchema, { throwIfNoEntry: false })?.isFile())
    return usage(
      `expected schema not found: ${resolve(options.expectedSchema)}`,
      'pass a schema file: plain DDL or the output of pg_dump --schema-only --no-owner --no-privileges',
    );
  if (options.passphraseFile !== undefined && !statSync(options.passphraseFile, { throwIfNoEntry: false })?.isFile())
    return usage(
      `passphrase file not found: ${resolve(options.passphraseFile)}`,
      'pass the file holding the backup passphrase (the corrected runbook keeps it in /etc/nmia/backup.passphrase)',
    );
  if (options.app !== undefined && options.expectedSchema !== undefined)
    return usage(
      '--app and --expected-schema both name the schema the backup is judged against',
      'give one: --app <repository> (its own create_all) or --expected-schema <file>',
    );
  let target: TargetUrl | undefined;
  let app: Extract<AppSource, { kind: 'repository' }> | undefined;
  try {
    target = options.targetUrl === undefined ? undefined : TargetUrl.parse(options.targetUrl);
    const source = parseAppSource(options.app);
    app = source.kind === 'repository' ? source : undefined;
  } catch (error) {
    if (error instanceof DrillError) return usage(error.message, error.fix);
    throw error;
  }
  // Before any work: only what verify-backup needs (client binaries; the server binaries for a throwaway cluster).
  try {
    await ensurePrerequisites({
      needs: {
        postgresServer: target === undefined,
        directory: false,
        browser: false,
        git: app !== undefined,
        docker: app !== undefined,
        gpg: options.passphraseFile !== undefined,
      },
      install: installPolicyFrom(process.env),
    });
  } catch (error) {
    if (!(error instanceof DrillError)) throw error;
    stderr(`${error.toOperatorText()}\n`);
    return error.exitCode;
  }
  // Ctrl-C: drop the scratch databases (or the throwaway cluster) before exiting; Node's default would skip every cleanup.
  const onSignal = (signal: NodeJS.Signals) => {
    stderr(`\n${signal}: stopping verify-backup and cleaning up…\n`);
    void cleanupRegistry
      .runAll()
      .then((failures) => failures.forEach((failure) => stderr(`cleanup error: ${failure.message}\n`)))
      .finally(() => process.exit(ExitCode.interrupted));
  };
  process.once('SIGINT', onSignal);
  process.once('SIGTERM', onSignal);
  try {
    const verification = new BackupVerification({
      ...(target ? { target } : {}),
      file,
      ...(options.expectedSchema === undefined ? {} : { expectedSchema: options.expectedSchema }),
      ...(app ? { app } : {}),
      ...(options.passphraseFile === undefined ? {} : { passphraseFile: resolve(options.passphraseFile) }),
      reportRoot: options.reportDir ?? 'reports',
      ...(options.quiet ? {} : { reporter: (line: string) => stderr(`${line}\n`) }),
    });
    const { journal, files } = await verification.run();
    const record = journal.procedures[0]!;
    if (options.json) {
      stdout(
        `${JSON.stringify({
          drillId: journal.drillId,
          outcome: journal.outcome,
          file: resolve(file),
          ...(record.reason ? { reason: record.reason } : {}),
          rungs: record.rungs.map(({ rung, check, outcome, summary }) => ({ rung, check, outcome, summary })),
          findings: journal.findings.map(({ id, severity, title }) => ({ id, severity, title })),
          journal: files.journal,
        })}\n`,
      );
    }
    if (journal.outcome === 'passed') return ExitCode.ok;
    // A machine without usable PostgreSQL binaries is the environment's problem, not the backup's (exit 3).
    if (verification.failure && verification.failure.exitCode !== ExitCode.failed) {
      if (options.quiet) stderr(`${verification.failure.toOperatorText()}\n`);
      return verification.failure.exitCode;
    }
    // A check that could not be made (error, with its cause) and no failed one: exit 3, as for a drill.
    return drillExitCode(journal);
  } catch (error) {
    // Only the evidence writer can throw past the verification; anything else is recorded as 'error'.
    if (error instanceof DrillError) {
      stderr(`${error.toOperatorText()}\n`);
      return error.exitCode;
    }
    stderr(`error: ${(error as Error).message}\n  fix: check that the report directory is writable\n`);
    return ExitCode.failed;
  } finally {
    process.off('SIGINT', onSignal);
    process.off('SIGTERM', onSignal);
  }
}
