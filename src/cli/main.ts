import { verify } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { resolve } from 'node:path';
import { Command, CommanderError, InvalidArgumentError, Option } from 'commander';
import { ConsoleReporter } from './console-reporter.ts';
import { LiveReporter } from './live-reporter.ts';
import { chooseProgressMode } from './progress-mode.ts';
import { cleanupRegistry } from '../lifecycle/cleanup-registry.ts';
import { DrillError, ExitCode, UsageError } from '../errors/drill-error.ts';
import {
  DEFAULT_RPO_TARGET_MS,
  DEFAULT_RTO_TARGET_MS,
  DEFAULT_SCALE,
  DEFAULT_SEED,
  MIN_SCALE,
  type DrillOptions,
  type Isolation,
  type StackChoice,
} from '../drill/drill-options.ts';
import { DrillRunner } from '../drill/drill-runner.ts';
import type { Procedure } from '../drill/procedure.ts';
import { coverageOf, DEFAULT_RUNBOOK, nonExecutableOf, selectFromRunbook } from '../drill/procedure-selection.ts';
import { pinLock } from '../runbook/drift.ts';
import { lockPathFor, writeLock } from '../runbook/runbook-lock.ts';
import { loadRunbook, sha256Hex } from '../runbook/runbook.ts';
import { describeVerification, verifyEvidence } from '../evidence/evidence-bundle.ts';
import { status, verifyHistory } from '../evidence/drill-history.ts';
import { trustedKeyFor } from '../evidence/signing-key.ts';
import { checkReviews, describeReviews, signBundle } from '../evidence/bundle-review.ts';
import { describeFindings, findingHistory, readFindingReview, reviewPathFor } from '../evidence/finding-lifecycle.ts';
import { runVerifyBackupCommand } from '../verify-backup/verify-backup-command.ts';
import { loadDrillConfig } from '../config/config-file.ts';
import { resolveReportDir, SETTING_ENV } from '../config/drill-settings.ts';
import { runPlan } from './plan-command.ts';
import { runSettingsFor } from './run-settings.ts';
import { commandFirst } from './command-first.ts';
import { installPolicyFrom } from '../prerequisites/prerequisite-check.ts';
import { drillExitCode } from '../evidence/drill-exit-code.ts';
import { redactInlineCredentials } from '../evidence/redactor.ts';

function integer(name: string, min: number) {
  return (value: string): number => {
    const parsed = Number(value);
    if (!Number.isInteger(parsed) || parsed < min) throw new InvalidArgumentError(`${name} must be an integer ≥ ${min}`);
    return parsed;
  };
}

function list(value: string, previous: string[] = []): string[] {
  return [
    ...previous,
    ...value
      .split(',')
      .map((item) => item.trim())
      .filter(Boolean),
  ];
}

interface RunFlags {
  runbook: string;
  app?: string;
  allowDrift: boolean;
  seed: number;
  scale: number;
  isolation: Isolation;
  only: string[];
  skip: string[];
  reportDir: string;
  stack: StackChoice;
  quiet: boolean;
  json: boolean;
  rtoTarget: number;
  rpoTarget: number;
  attest: string[];
  operator?: string;
  parallelRestoreHint?: true | number;
  adversarial: boolean;
  config?: string;
}

/** `--attest "Update DNS=alice@example.com"`: the item text (or a unique part of it), then who signs it off. */
function parseAttestation(value: string): { item: string; by: string } {
  const at = value.lastIndexOf('=');
  if (at <= 0 || at === value.length - 1)
    throw new UsageError(`--attest ${JSON.stringify(value)}: expected "item=name"`, {
      fix: 'e.g. --attest "Update DNS=alice@example.com"',
    });
  return { item: value.slice(0, at).trim(), by: value.slice(at + 1).trim() };
}

function collect(value: string, previous: string[] = []): string[] {
  return [...previous, value];
}

async function runDrill(flags: RunFlags, command: Command, procedures: readonly Procedure[]): Promise<number> {
  // A live task list on a terminal; plain timestamped lines in CI, pipes, NO_COLOR and TERM=dumb.
  const progress = chooseProgressMode({ quiet: flags.quiet, isTTY: process.stderr.isTTY, env: process.env });
  const live = progress === 'live' ? new LiveReporter(process.stderr) : undefined;
  const reporter = live ?? new ConsoleReporter((line) => process.stderr.write(`${line}\n`), progress === 'none');
  // Flag > environment variable > drill.config.* > default (src/config/drill-settings.ts).
  const settings = await runSettingsFor(flags, command, { requireSecrets: true });
  for (const note of settings.probes.notes) reporter.onStep(redactInlineCredentials(`checklist probes: ${note}`));
  const options: DrillOptions = {
    runbookPath: settings.runbook.value,
    app: settings.app.value,
    allowDrift: flags.allowDrift,
    seed: settings.seed.value,
    scale: settings.scale.value,
    isolation: settings.isolation.value,
    only: settings.only.value,
    skip: settings.skip.value,
    reportRoot: settings.reportDir.value,
    stack: settings.stack.value,
    rtoTargetMs: settings.rtoSeconds.value * 1000,
    rpoTargetMs: settings.rpoSeconds.value * 1000,
    attestations: flags.attest.map(parseAttestation),
    ...(settings.operator.value ? { operator: settings.operator.value } : {}),
    ...(Object.keys(settings.probes.overrides).length > 0 ? { probes: settings.probes.overrides } : {}),
    ...(flags.parallelRestoreHint
      ? { parallelRestoreJobs: flags.parallelRestoreHint === true ? Math.max(2, availableParallelism()) : flags.parallelRestoreHint }
      : {}),
    adversarial: flags.adversarial,
    reporter,
    procedures,
    prerequisites: installPolicyFrom(process.env),
    onInstall: (line) => process.stderr.write(`${redactInlineCredentials(line)}\n`),
  };
  const runner = new DrillRunner(options);
  let interrupted = false;
  const onSignal = (signal: NodeJS.Signals) => {
    if (interrupted) return;
    interrupted = true;
    // The live view stops redrawing first, so the messages below are not drawn over.
    live?.stop();
    runner.halt();
    // The drill unwinds while its stack is torn down under it; those errors are expected now.
    process.on('uncaughtException', () => undefined);
    process.on('unhandledRejection', () => undefined);
    process.stderr.write(`\n${signal}: stopping the drill, cleaning up and writing the journal…\n`);
    // Newest first: the running block's processes, then the stacks, then clusters and temp dirs.
    void cleanupRegistry
      .runAll()
      .then(() => runner.interrupt(signal))
      .then((files) => {
        if (files) process.stderr.write(`journal: ${files.journal}\n`);
      })
      .catch((error: unknown) => process.stderr.write(`cleanup error: ${redactInlineCredentials((error as Error).message)}\n`))
      .finally(() => process.exit(ExitCode.interrupted));
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const { journal, files } = await runner.run().catch((error: unknown) => {
    // After Ctrl-C the signal handler owns the exit; the unwinding drill's errors are expected.
    if (interrupted) return new Promise<never>(() => undefined);
    live?.stop();
    throw error;
  });
  if (flags.json)
    process.stdout.write(
      `${redactInlineCredentials(JSON.stringify({ drillId: journal.drillId, outcome: journal.outcome, totals: journal.totals, findings: journal.findings.map(({ id, kind, severity, procedure, title }) => ({ id, kind, severity, procedure, title })), journal: files.journal }))}\n`,
    );
  return drillExitCode(journal);
}

async function listProcedures(runbookPath: string, procedures: readonly Procedure[]): Promise<number> {
  const runbook = await loadRunbook(resolve(runbookPath));
  const width = Math.max(...procedures.map((procedure) => procedure.id.length));
  for (const procedure of procedures) {
    const line = runbook.blocks.find((block) => block.sectionTitle === procedure.section)?.line;
    process.stdout.write(`${procedure.id.padEnd(width)}  ${procedure.section}${line ? ` (line ${line})` : ' (section missing!)'}\n`);
  }
  return ExitCode.ok;
}

function addRunOptions(command: Command): Command {
  return (
    command
      // Each of these also reads an environment variable (shown in --help); a drill.config.* sits between it and the default.
      .addOption(
        new Option('--config <path>', 'drill config file (default: drill.config.ts or drill.config.json in the current directory)').env(
          SETTING_ENV.config,
        ),
      )
      .addOption(new Option('--runbook <path>', 'the runbook to drill').default(DEFAULT_RUNBOOK).env(SETTING_ENV.runbook))
      .addOption(
        new Option(
          '--app <repository>',
          'the NMIA repository to drill, <path | git URL>[#ref] (a checkout, a git bundle or a URL; #branch, tag or commit): cloned into the workspace, its own docker-compose.yml run on the compose stack (default: the built-in reference app)',
        ).env(SETTING_ENV.app),
      )
      .option('--allow-drift', 'run blocks that changed since they were pinned, recording the drift as a finding', false)
      .addOption(
        new Option('--seed <n>', 'seed for deterministic data').argParser(integer('--seed', 0)).default(DEFAULT_SEED).env(SETTING_ENV.seed),
      )
      .addOption(
        new Option('--scale <n>', 'number of identities to seed (other tables in proportion)')
          .argParser(integer('--scale', MIN_SCALE))
          .default(DEFAULT_SCALE)
          .env(SETTING_ENV.scale),
      )
      .addOption(
        new Option('--isolation <mode>', 'run procedures in runbook order in one environment, each alone in a fresh one, or both')
          .choices(['order', 'alone', 'both'])
          .default('both')
          .env(SETTING_ENV.isolation),
      )
      .addOption(
        new Option('--only <ids>', 'run only these procedure ids (comma-separated)').argParser(list).default([]).env(SETTING_ENV.only),
      )
      .addOption(new Option('--skip <ids>', 'skip these procedure ids (comma-separated)').argParser(list).default([]).env(SETTING_ENV.skip))
      .addOption(new Option('--report-dir <dir>', 'where drill reports are written').default('reports').env(SETTING_ENV.reportDir))
      .addOption(
        new Option('--stack <kind>', 'where the runbook commands run')
          .choices(['auto', 'emulated', 'compose'])
          .default('auto')
          .env(SETTING_ENV.stack),
      )
      .addOption(
        new Option('--rto-target <seconds>', 'recovery time objective: disaster → every checklist probe green')
          .argParser(integer('--rto-target', 1))
          .default(DEFAULT_RTO_TARGET_MS / 1000)
          .env(SETTING_ENV.rtoTarget),
      )
      .addOption(
        new Option('--rpo-target <seconds>', 'recovery point objective: acknowledged writes the recovery may lose')
          .argParser(integer('--rpo-target', 0))
          .default(DEFAULT_RPO_TARGET_MS / 1000)
          .env(SETTING_ENV.rpoTarget),
      )
      .option('--attest <item=name>', 'record an operator sign-off for a checklist item no machine can check (repeatable)', collect, [])
      .addOption(
        new Option(
          '--operator <name>',
          'the person accountable for this drill, named in the journal and the attestation (default: the CI actor, else the OS user)',
        ).env(SETTING_ENV.operator),
      )
      .option(
        '--parallel-restore-hint [jobs]',
        'after the custom-format restore, measure pg_restore -j 1 against -j N (default: the cores) and record the saving as an RTO hint; costs about two more restores',
        integer('--parallel-restore-hint', 2),
      )
      .option(
        '--no-adversarial',
        "skip the procedures' adversarial runs (a dump with a failing statement, a truncated dump, a killed dump)",
      )
      .option('--quiet', 'no progress output', false)
      .option('--json', 'print a machine-readable result on stdout', false)
  );
}

/** The CLI over the procedures it is given (the registry; bin/nmia-drill.js hands it in, so src/ never imports runbook/). */
export function buildProgram(procedures: readonly Procedure[]): Command {
  const program = new Command('nmia-drill')
    .description(
      "Runbook-as-code disaster-recovery drills for NMIA: runs the runbook's own shell blocks, causes the disaster, restores, and proves the result.",
    )
    .showHelpAfterError('(run with --help for usage)')
    .exitOverride();

  addRunOptions(program.command('run', { isDefault: true }).description('run a drill (the default command)'))
    .option('--list', 'list the procedures and exit (same as the list command)', false)
    .action(async (flags: RunFlags & { list: boolean }, command: Command) => {
      process.exitCode = flags.list ? await listProcedures(flags.runbook, procedures) : await runDrill(flags, command, procedures);
    });

  addRunOptions(
    program
      .command('plan')
      .description(
        'dry run: print every procedure run the same options would execute — section, stack, inputs, the disaster, each block with its bindings substituted, blocks checked without running — and touch nothing; exit 1 on runbook drift (unless --allow-drift); --json for the plan as JSON',
      ),
  ).action(async (flags: RunFlags, command: Command) => {
    process.exitCode = await runPlan(flags, command, procedures);
  });

  program
    .command('list')
    .description('list the procedures with their ids and runbook sections')
    .option('--runbook <path>', 'the runbook to read', DEFAULT_RUNBOOK)
    .action(async (flags: { runbook: string }) => {
      process.exitCode = await listProcedures(flags.runbook, procedures);
    });

  program
    .command('pin')
    .description('rewrite the lock after a person has reviewed the runbook change')
    .option('--runbook <path>', 'the runbook to pin', DEFAULT_RUNBOOK)
    .action(async (flags: { runbook: string }) => {
      // The lock is rewritten beside the runbook, from the one it was checked against.
      const { runbook, lock: previous, drift: before } = await selectFromRunbook(flags.runbook, procedures);
      const lockPath = lockPathFor(runbook.path);
      await writeLock(lockPath, pinLock(runbook, coverageOf(procedures), previous, nonExecutableOf(procedures)));
      process.stdout.write(`${before.length === 0 ? 'no drift; lock refreshed' : `pinned ${before.length} change(s)`}: ${lockPath}\n`);
      for (const drift of before) process.stdout.write(`  ${drift.message}\n`);
    });

  program
    .command('verify-backup')
    .description(
      'verify a real backup file (custom or plain dump): restore it into a throwaway cluster and run the ladder; writes the same evidence bundle as a drill',
    )
    .argument('<file>', "e.g. last night's production dump")
    .addOption(new Option('--report-dir <dir>', 'where the report is written').default('reports').env(SETTING_ENV.reportDir))
    .addOption(
      new Option(
        '--config <path>',
        'drill config file (its reportDir applies); default: drill.config.ts or drill.config.json in the current directory',
      ).env(SETTING_ENV.config),
    )
    .option('--json', 'print a machine-readable result on stdout', false)
    .option('--quiet', 'no progress output', false)
    .option(
      '--target-url <postgres-url>',
      'restore into a scratch database nmia_drill_<id> on this existing server (created, marked and dropped by the drill) instead of a throwaway cluster',
    )
    .option(
      '--expected-schema <file>',
      "the schema the backup is judged against: plain DDL or pg_dump --schema-only output (default: the real NMIA's, nmia/schema/schema.sql)",
    )
    .option(
      '--app <repository>',
      "judge the backup against this NMIA repository's own schema, <path | git URL>[#ref]: its create_all, run in its api image (Docker; built from its Dockerfiles when missing)",
    )
    .option(
      '--passphrase-file <file>',
      'the passphrase an OpenPGP-encrypted backup (gpg --symmetric, as the corrected runbook writes them) was encrypted with; it is decrypted into a temp dir removed afterwards',
    )
    .action(
      async (
        file: string,
        flags: {
          reportDir: string;
          config?: string;
          json: boolean;
          quiet: boolean;
          targetUrl?: string;
          expectedSchema?: string;
          app?: string;
          passphraseFile?: string;
        },
        command: Command,
      ) => {
        const reportDir = resolveReportDir(flags.reportDir, command.getOptionValueSource('reportDir'), await loadDrillConfig(flags.config));
        process.exitCode = await runVerifyBackupCommand(resolve(file), {
          reportDir,
          json: flags.json,
          quiet: flags.quiet,
          ...(flags.targetUrl === undefined ? {} : { targetUrl: flags.targetUrl }),
          ...(flags.expectedSchema === undefined ? {} : { expectedSchema: resolve(flags.expectedSchema) }),
          ...(flags.passphraseFile === undefined ? {} : { passphraseFile: resolve(flags.passphraseFile) }),
          ...(flags.app === undefined || flags.app === '' ? {} : { app: flags.app }),
        });
      },
    );

  program
    .command('verify-evidence')
    .description(
      "check an evidence bundle against its SHA256SUMS and its signature (trusting --public-key, NMIA_DRILL_SIGNING_PUBKEY or this machine's local key); names every changed file and the key it trusted; --history checks reports/index.json as a chain and every bundle in it",
    )
    .argument('[dir]', 'a drill report directory, e.g. reports/20261127-041310-481538f7 (with --history: the reports directory)')
    .option('--public-key <pem-file>', 'the ed25519 public key (PEM file) to trust')
    .option('--history', 'verify the chained history index (reports/index.json) and every bundle it names', false)
    .action(async (dir: string | undefined, flags: { publicKey?: string; history: boolean }) => {
      const options = flags.publicKey === undefined ? {} : { publicKey: resolve(flags.publicKey) };
      if (flags.history) {
        const root = resolve(dir ?? 'reports');
        const trusted = await trustedKeyFor(process.env, options.publicKey);
        if (trusted) process.stdout.write(`trusted public key: ${trusted.fingerprint} (${trusted.source})\n`);
        const history = await verifyHistory(
          root,
          async (bundle) => {
            const result = await verifyEvidence(bundle, options);
            return { ok: result.ok, detail: describeVerification(bundle, result).trimEnd().split('\n').slice(0, -1).join('; ') };
          },
          trusted ? (content, signature) => verify(null, content, trusted.key, signature) : undefined,
        );
        process.stdout.write(`${history.lines.join('\n')}\n`);
        process.exitCode = history.ok ? ExitCode.ok : ExitCode.failed;
        return;
      }
      if (dir === undefined)
        throw new UsageError('verify-evidence needs a report directory', {
          fix: 'e.g. nmia-drill verify-evidence reports/20261127-041310-481538f7',
        });
      const result = await verifyEvidence(resolve(dir), options);
      process.stdout.write(describeVerification(dir, result));
      process.stdout.write(describeReviews(await checkReviews(resolve(dir))));
      process.exitCode = result.ok ? ExitCode.ok : ExitCode.failed;
    });

  program
    .command('findings')
    .description(
      'open findings across the drill history of the runbook: stable id, kind, modes, first and last seen, owner, ticket and status from the reviewed <runbook>.findings.yaml; a finding marked fixed is checked gone in the newest drill',
    )
    .option('--report-dir <dir>', 'where drill reports are written', 'reports')
    .addOption(new Option('--runbook <path>', 'the runbook whose drills are read').default(DEFAULT_RUNBOOK).env(SETTING_ENV.runbook))
    .option('--all', 'also list findings that are gone, fixed or accepted', false)
    .action(async (flags: { reportDir: string; runbook: string; all: boolean }) => {
      const runbookPath = resolve(flags.runbook);
      const review = await readFindingReview(reviewPathFor(runbookPath));
      const history = await findingHistory(resolve(flags.reportDir), { runbookPath, review });
      process.stdout.write(describeFindings(history, flags.all));
      // A finding marked fixed that is still there is a false claim in a reviewed file: fail.
      process.exitCode = history.lives.some((life) => life.state === 'fixed-but-present') ? ExitCode.failed : ExitCode.ok;
    });

  program
    .command('sign')
    .description(
      'a reviewer approves a finished bundle: adds their statement and ed25519 signature over its SHA256SUMS in reviews/, without changing what was measured; refuses a bundle that does not verify',
    )
    .argument('<dir>', 'a drill report directory')
    .requiredOption('--reviewer <name>', 'who approves')
    .option('--statement <text>', 'what they approve', 'I reviewed this evidence bundle and approve it as the record of this drill.')
    .action(async (dir: string, flags: { reviewer: string; statement: string }) => {
      const { path, review } = await signBundle(resolve(dir), flags);
      process.stdout.write(`approved by ${review.reviewer} with key ${review.key.fingerprint}: ${path}\n`);
    });

  program
    .command('status')
    .description(
      'the trend of recent drills and when the last full one passed; with --max-age, exit 1 when it is too old or the last full drill failed',
    )
    .option('--report-dir <dir>', 'where drill reports are written', 'reports')
    .option(
      '--max-age <days>',
      'fail when the last passing full drill is older than this, or the last full drill failed',
      integer('--max-age', 1),
    )
    .option('--include-partial', 'count --only/--skip drills too (never verify-backup)', false)
    .addOption(
      new Option(
        '--runbook <path>',
        'the runbook the verdict is about: drills of another runbook, or of another version of it, are left out',
      )
        .default(DEFAULT_RUNBOOK)
        .env(SETTING_ENV.runbook),
    )
    .action(async (flags: { reportDir: string; maxAge?: number; includePartial: boolean; runbook: string }) => {
      const path = resolve(flags.runbook);
      // The file as it is now: a drill of an earlier version says nothing about this one.
      const sha256 = await readFile(path)
        .then((bytes) => sha256Hex(bytes))
        .catch(() => undefined);
      const current = status(resolve(flags.reportDir), {
        ...(flags.maxAge === undefined ? {} : { maxAgeDays: flags.maxAge }),
        includePartial: flags.includePartial,
        runbook: { path, ...(sha256 ? { sha256 } : {}) },
      });
      process.stdout.write(`${current.message}\n`);
      process.exitCode = flags.maxAge !== undefined && current.stale ? ExitCode.failed : ExitCode.ok;
    });

  return program;
}

/** Runs the CLI on `argv` (process.argv) with the registry's procedures. */
export async function runCli(argv: string[], procedures: readonly Procedure[]): Promise<void> {
  // `nmia-drill list | head` closes the pipe early; that is not an error.
  process.stdout.on('error', (error: NodeJS.ErrnoException) => {
    if (error.code === 'EPIPE') process.exit(process.exitCode ?? 0);
  });
  // An empty NMIA_DRILL_* (e.g. an unset CI input) means "not set", not an invalid value.
  for (const name of Object.values(SETTING_ENV)) if (process.env[name] === '') delete process.env[name];
  try {
    const program = buildProgram(procedures);
    // Options before the command work as they do for git and docker.
    await program.parseAsync([...argv.slice(0, 2), ...commandFirst(argv.slice(2), program)]);
  } catch (error) {
    if (error instanceof CommanderError) {
      process.exitCode = error.exitCode === 0 ? 0 : ExitCode.usage;
      return;
    }
    if (error instanceof DrillError) {
      process.stderr.write(`${redactInlineCredentials(error.toOperatorText())}\n`);
      process.exitCode = error.exitCode;
      return;
    }
    process.stderr.write(`internal error: ${redactInlineCredentials((error as Error).stack ?? String(error))}\n`);
    process.exitCode = ExitCode.failed;
  } finally {
    await cleanupRegistry.runAll();
  }
}
