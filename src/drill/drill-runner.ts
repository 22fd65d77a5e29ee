import { randomBytes } from 'node:crypto';
import { BackupKey } from '../custody/backup-key.ts';
import { canariesFor } from '../../nmia/seed/canaries.ts';
import { DrillError, ExitCode } from '../errors/drill-error.ts';
import { overallOutcome, totalsOf, type Finding, type Journal, type ProcedureRecord } from '../evidence/journal.ts';
import { writeEvidence, type EvidenceFiles } from '../evidence/evidence-writer.ts';
import { recordUnmeasured } from '../evidence/timing-measures.ts';
import { appendFinding, notRunRecord } from '../evidence/procedure-recorder.ts';
import { Redactor } from '../evidence/redactor.ts';
import { redactingReporter } from '../evidence/redacting-reporter.ts';
import type { DrillReporter } from './drill-reporter.ts';
import { createReportDirectory, reportDirName } from '../evidence/report-directory.ts';
import type { Drift } from '../runbook/drift.ts';
import type { Runbook } from '../runbook/runbook.ts';
import { COMPOSE_SUPPORTED, createStack } from '../stacks/stack-factory.ts';
import { composeImages } from '../stacks/compose/compose-images.ts';
import { REFERENCE_COMPOSE_FILE } from '../stacks/reference-app.ts';
import { selectStack, type StackSelection } from '../stacks/stack-selector.ts';
import type { StartedStack } from '../stacks/stack.ts';
import { Workspace } from '../stacks/workspace.ts';
import { cleanupRegistry } from '../lifecycle/cleanup-registry.ts';
import { DrillEnvironment } from './drill-environment.ts';
import { ensurePrerequisites } from '../prerequisites/prerequisite-check.ts';
import { describeAppSource } from '../app/app-source.ts';
import { checkOutApp } from '../app/app-checkout.ts';
import { UsageError } from '../errors/drill-error.ts';
import type { DrillOptions } from './drill-options.ts';
import type { DrillState } from './drill-state.ts';
import type { Procedure } from './procedure.ts';
import { ProcedureRunner } from './procedure-runner.ts';
import { newJournal } from './new-journal.ts';
import { selectFromRunbook } from './procedure-selection.ts';

/** What the section's own run alone found missing, as the fixes of those findings. */
function aloneFixes(findings: readonly Finding[], ids: readonly string[]): string {
  const fixes = findings.filter((finding) => ids.includes(finding.id)).map((finding) => `${finding.id}: ${finding.suggestedFix}`);
  return fixes.length > 0 ? `: ${fixes.join(' ')}` : '.';
}

export interface DrillResult {
  journal: Journal;
  files: EvidenceFiles;
}

/**
 * One drill: drift check, then each selected procedure in runbook order in one environment and/or
 * alone in a fresh one, then the evidence bundle. Cleanup of every environment always runs.
 */
export class DrillRunner {
  readonly drillId = randomBytes(4).toString('hex');
  private state: DrillState | undefined;
  private readonly stacks = new Set<StartedStack>();
  private interrupted = false;

  private readonly procedures: readonly Procedure[];
  private readonly redactor: Redactor;
  /** The options' reporter behind the redactor: what reaches the console is redacted like the bundle. */
  private readonly reporter: DrillReporter | undefined;

  constructor(private readonly options: DrillOptions) {
    this.procedures = options.procedures;
    const canaries = canariesFor(options.seed);
    this.redactor = new Redactor()
      .add('secret_key', canaries.secretKey)
      .add('admin_password', canaries.adminPassword)
      .add('db_password', canaries.dbPassword)
      .add('backup_passphrase', canaries.backupPassphrase);
    canaries.bindPasswords.forEach((password, index) => this.redactor.add(`bind_password_${index}`, password));
    // A configured admin password (read from the environment) is a secret like the canaries.
    this.redactor.add('configured_admin_password', options.probes?.admin?.password);
    this.reporter = options.reporter && redactingReporter(options.reporter, this.redactor);
  }

  async run(): Promise<DrillResult> {
    const { options } = this;
    const { runbook, selected, lockPath, drift } = await selectFromRunbook(options.runbookPath, this.procedures, options);
    // Before any work: a drill never starts a run it cannot finish for lack of a tool it could have checked.
    if (drift.length === 0 || options.allowDrift) await this.checkPrerequisites(selected, runbook);
    const canaries = canariesFor(options.seed);
    const { redactor } = this;
    const startedAt = new Date();
    const reportDir = await createReportDirectory(options.reportRoot, reportDirName(startedAt, this.drillId));
    const journal = newJournal({
      drillId: this.drillId,
      startedAt,
      runbook: {
        path: runbook.path,
        sha256: runbook.sha256,
        lockPath,
        lockState: drift.length === 0 ? 'clean' : 'drift',
        drift: drift.map(({ kind, section, index, line, message }) => ({ kind, section, index, line, message })),
        allowDrift: options.allowDrift,
      },
      options: { seed: options.seed, scale: options.scale, isolation: options.isolation, only: options.only, skip: options.skip },
    });
    if (options.operator) journal.runner.operator = options.operator;
    const app = options.app ?? { kind: 'reference' as const };
    journal.app =
      app.kind === 'reference'
        ? { kind: 'reference', source: 'nmia/reference-app (the built-in reference model of NMIA)' }
        : { kind: 'repository', source: describeAppSource(app), harnessActions: [] };
    this.state = {
      drillId: this.drillId,
      runbook,
      redactor,
      canaries,
      backupKey: new BackupKey(canaries.backupPassphrase),
      seed: options.seed,
      scale: options.scale,
      reportDir,
      journal,
      findings: journal.findings,
      targets: { rtoMs: options.rtoTargetMs, rpoMs: options.rpoTargetMs },
      attestations: options.attestations,
      ...(options.app ? { app: options.app } : {}),
      ...(options.probes && Object.keys(options.probes).length > 0 ? { probes: options.probes } : {}),
      ...(options.parallelRestoreJobs ? { parallelRestoreJobs: options.parallelRestoreJobs } : {}),
      ...(options.adversarial ? { adversarial: true } : {}),
    };
    const planned = [
      ...(options.isolation !== 'alone'
        ? selected.map((procedure) => ({ id: procedure.id, title: procedure.title, mode: 'order' as const }))
        : []),
      ...(options.isolation !== 'order'
        ? selected.map((procedure) => ({ id: procedure.id, title: procedure.title, mode: 'alone' as const }))
        : []),
    ];
    this.reporter?.onDrillStart?.({ drillId: this.drillId, runbook: runbook.path, reportDir, procedures: planned });
    try {
      this.recordDrift(drift, runbook);
      if (drift.length > 0 && !options.allowDrift) {
        journal.procedures = selected.map((procedure) =>
          this.notRun(procedure, 'runbook drift: review the change, then pin (or run with --allow-drift)'),
        );
      } else {
        await this.runProcedures(selected);
      }
      // After a signal, interrupt() writes the journal; this run must not report a normal end.
      this.stopIfInterrupted();
      journal.procedures.push(...this.pendingSections(runbook));
    } catch (error) {
      if (this.interrupted) throw error;
      journal.error = redactor.redact((error as Error).message);
      await this.stopStacks();
      this.finish(drift.length > 0);
      // The evidence of a drill that could not finish is still evidence.
      await writeEvidence(journal, reportDir, redactor).catch(() => undefined);
      throw error;
    }
    await this.stopStacks();
    this.finish(drift.length > 0);
    const files = await writeEvidence(journal, reportDir, redactor);
    this.reporter?.onDrillEnd?.(journal, files);
    return { journal, files };
  }

  /** Called on SIGINT/SIGTERM: stops every environment and writes the journal marked interrupted. */
  /** Stops the drill from starting anything new; call first on a signal. */
  halt(): void {
    this.interrupted = true;
    if (this.state) this.state.halted = true;
  }

  async interrupt(signal: string): Promise<EvidenceFiles | undefined> {
    this.interrupted = true;
    await this.stopStacks();
    if (!this.state) return undefined;
    const { journal, reportDir, redactor } = this.state;
    journal.interrupted = true;
    journal.error = `interrupted by ${signal}`;
    this.finish(false);
    journal.outcome = 'error';
    return writeEvidence(journal, reportDir, redactor);
  }

  private finish(drift: boolean): void {
    const journal = this.state!.journal;
    journal.finishedAt = new Date().toISOString();
    const real = journal.procedures.filter((procedure) => !procedure.reason?.startsWith('pending in the lock'));
    journal.totals = totalsOf(journal.procedures);
    recordUnmeasured(journal, this.state!.targets);
    journal.outcome = journal.error ? 'error' : overallOutcome(real, drift && !journal.runbook.allowDrift);
  }

  private async runProcedures(selected: Procedure[]): Promise<void> {
    const { options } = this;
    const state = this.state!;
    const runner = new ProcedureRunner(state, this.reporter);
    if (options.isolation !== 'alone') {
      const environment = await this.environment('order');
      try {
        for (const [position, procedure] of selected.entries()) {
          this.stopIfInterrupted();
          if (position > 0) {
            const damage = await environment.damage();
            if (damage) {
              this.reporter?.onStep?.(`environment damaged (${damage}); rebuilding it before ${procedure.id}`);
              state.journal.environmentResets.push({ before: procedure.id, reason: damage });
              await environment.rebuild();
            }
          }
          state.journal.procedures.push(await runner.run(procedure, environment, 'order'));
        }
      } finally {
        await this.release(environment);
      }
    }
    if (options.isolation !== 'order') {
      for (const procedure of selected) {
        this.stopIfInterrupted();
        const environment = await this.environment(`alone: ${procedure.id}`);
        try {
          state.journal.procedures.push(await runner.run(procedure, environment, 'alone'));
        } finally {
          await this.release(environment);
        }
      }
    }
    if (options.isolation === 'both') this.reportOrderDependence();
  }

  /** A section that passes only after the sections before it depends on something they left behind. */
  private reportOrderDependence(): void {
    const state = this.state!;
    for (const alone of state.journal.procedures.filter((record) => record.mode === 'alone' && record.outcome === 'failed')) {
      const inOrder = state.journal.procedures.find((record) => record.mode === 'order' && record.id === alone.id);
      if (inOrder?.outcome !== 'passed') continue;
      const { id } = appendFinding(state.findings, {
        procedure: alone.id,
        section: alone.section,
        ...(alone.line ? { line: alone.line } : {}),
        severity: 'high',
        title: `"${alone.section}" passes only after the sections before it: on its own it fails`,
        evidence: { inOrder: 'passed', alone: 'failed', aloneFindings: alone.findings },
        whyItMatters:
          'In an incident an operator jumps straight to this section; whatever an earlier section left behind will not be there.',
        suggestedFix: `Make "${alone.section}" bring everything it needs when run on its own${aloneFixes(state.findings, alone.findings)}`,
      });
      alone.findings.push(id);
    }
  }

  /** After Ctrl-C nothing new may start: the stacks are being torn down under the drill. */
  private stopIfInterrupted(): void {
    if (this.interrupted) throw new DrillError('the drill was interrupted', { fix: 'run it again', exitCode: ExitCode.interrupted });
  }

  private async environment(label: string): Promise<DrillEnvironment> {
    this.stopIfInterrupted();
    const state = this.state!;
    const selection = await this.selection();
    state.journal.stack ??= { kind: selection.kind, reason: selection.reason, versions: {} };
    this.reporter?.onStep?.(`environment (${label}): ${selection.kind} stack`);
    const source = this.options.app;
    const repository = source?.kind === 'repository' ? source : undefined;
    // An app repository is cloned as the project directory; nothing else is put in it. The reference app's
    // project directory is what a checkout of the real NMIA holds: no ./backups (the repository has none).
    const workspace = await Workspace.create(this.drillId, undefined, { projectDir: !repository, backups: false });
    // Ours to remove until a started stack owns it (its teardown removes it): on a failed clone or start, and on
    // Ctrl-C while the stack is still starting, e.g. waiting for the compose lock.
    const unowned = cleanupRegistry.register(
      `drill workspace ${workspace.root}`,
      () => workspace.remove(),
      () => workspace.removeSync(),
    );
    let checkout: Awaited<ReturnType<typeof checkOutApp>> | undefined;
    let stack: StartedStack;
    try {
      if (repository) {
        this.reporter?.onStep?.(`cloning the app ${describeAppSource(repository)}`);
        checkout = await checkOutApp(repository, workspace.projectDir);
        Object.assign(state.journal.app!, { commit: checkout.commit, ref: checkout.ref });
      }
      stack = await createStack(selection, {
        workspace,
        composeFile: checkout?.composeFile ?? REFERENCE_COMPOSE_FILE,
        dotEnv: { DATABASE_URL: 'postgresql://nmia:nmia@db:5432/nmia', SECRET_KEY: state.canaries.secretKey },
        ...(checkout ? { app: { checkout, mounts: [state.reportDir] } } : {}),
        ...(this.reporter?.onStep ? { onStep: this.reporter.onStep.bind(this.reporter) } : {}),
      });
    } catch (error) {
      // A stack that failed after taking the workspace may have removed it already.
      if (Workspace.isOwned(workspace.root, this.drillId)) await unowned.run().catch(() => undefined);
      else unowned.release();
      throw error;
    }
    unowned.release();
    this.stacks.add(stack);
    if (Object.keys(state.journal.stack.versions).length === 0)
      state.journal.stack.versions = { ...(await stack.versions()), node: process.version };
    if (checkout) this.recordAppSetup(stack);
    const environment = await DrillEnvironment.start(stack, {
      seed: state.seed,
      scale: state.scale,
      admin: { username: 'admin', password: state.canaries.adminPassword },
      ...(this.reporter ? { reporter: this.reporter } : {}),
      ...(checkout
        ? { app: { kind: 'repository' as const, onHarnessAction: (action) => state.journal.app?.harnessActions?.push(action) } }
        : {}),
    });
    state.journal.seeding ??= { rows: environment.seeding.rows, durationMs: environment.seeding.durationMs };
    // A stack may start its db only with the environment: the server version is known from here on.
    if (state.journal.stack.versions.postgres?.startsWith('unknown')) {
      state.journal.stack.versions = { ...(await stack.versions()), node: process.version };
      if (state.journal.app && checkout) state.journal.app.serverVersion = state.journal.stack.versions.postgres;
    }
    return environment;
  }

  /** The system tools the selected procedures on the chosen stack need: installed when allowed, else exit 3 in one line. */
  private async checkPrerequisites(selected: readonly Procedure[], runbook: Runbook): Promise<void> {
    if (this.options.prerequisites === 'skip') return;
    // A stack given by name is known without asking Docker, so a missing docker is named here, not by the engine probe.
    const stack = this.options.stack;
    const emulated = stack === 'emulated' || (stack !== 'compose' && (await this.selection()).kind === 'emulated');
    const wanted = (need: 'directory' | 'browser' | 'git') => selected.some((procedure) => procedure.needs?.[need] === true);
    await ensurePrerequisites({
      needs: {
        postgresServer: emulated,
        // On the compose stack the directory runs in its container; only the emulated stack runs slapd here.
        directory: emulated && wanted('directory'),
        browser: wanted('browser'),
        git: wanted('git'),
        docker: !emulated,
        // A runbook that encrypts its backups: its blocks call gpg, and the harness reads and hands over such files.
        gpg: runbook.blocks.some((block) => /\bgpg\b/.test(block.text)),
      },
      install: this.options.prerequisites ?? 'auto',
      ...(this.options.onInstall ? { log: this.options.onInstall } : {}),
    });
  }

  /** Once per drill: what the harness added to the app's compose file and which client binaries it uses, with reasons. */
  private recordAppSetup(stack: StartedStack): void {
    const record = this.state!.journal.app!;
    const setup = stack.appSetup;
    if (!setup || record.composeAdditions) return;
    record.composeAdditions = setup.additions;
    const versions = this.state!.journal.stack?.versions ?? {};
    record.serverVersion = versions.postgres;
    const substitutions = setup.additions
      .filter((addition) => addition.replaces !== undefined)
      .map((addition) => ({
        what: `the ${addition.path.split('.')[1]} service's image`,
        written: addition.replaces!,
        used: String(addition.value),
        reason: addition.reason,
      }));
    if (setup.clients)
      substitutions.push({
        what: "the harness's own pg_dump, pg_restore and psql",
        written: `host clients ${setup.clients.replaced}`,
        used: `${setup.clients.image} clients ${setup.clients.version} (docker exec)`,
        reason: `the host's PostgreSQL ${setup.clients.replaced} clients refuse a newer server (${versions.postgres ?? 'the db service'})`,
      });
    record.substitutions = substitutions;
    if (setup.imageBuild) (record.harnessActions ??= []).push(setup.imageBuild);
  }

  private selectionCache: StackSelection | undefined;
  private async selection(): Promise<StackSelection> {
    if (this.options.app?.kind === 'repository') {
      // The real app runs only on real Docker: the emulated stack runs the reference app's processes.
      if (this.options.stack === 'emulated')
        throw new UsageError("--app runs the app's own docker-compose.yml, which only the compose stack can run", {
          fix: 'drop --stack emulated (or use --stack compose); without Docker, drill the built-in reference app (no --app)',
        });
      if (!this.selectionCache) {
        const selection = await selectStack('compose', COMPOSE_SUPPORTED);
        this.selectionCache = { ...selection, reason: `${selection.reason} (--app runs the app's own compose file: compose stack)` };
      }
      return this.selectionCache;
    }
    this.selectionCache ??= await selectStack(this.options.stack, COMPOSE_SUPPORTED, { images: composeImages(REFERENCE_COMPOSE_FILE) });
    return this.selectionCache;
  }

  private async release(environment: DrillEnvironment): Promise<void> {
    this.stacks.delete(environment.stack);
    await environment.stop();
  }

  private async stopStacks(): Promise<void> {
    const stacks = [...this.stacks];
    this.stacks.clear();
    await Promise.allSettled(stacks.map((stack) => stack.stop()));
  }

  private recordDrift(drift: Drift[], runbook: Runbook): void {
    const state = this.state!;
    for (const item of drift) {
      appendFinding(state.findings, {
        procedure: ('procedure' in item && item.procedure) || 'runbook',
        section: item.section,
        line: item.line,
        severity: this.options.allowDrift ? 'medium' : 'high',
        title: `runbook drift (${item.kind}): ${item.section} block ${item.index}`,
        evidence: { kind: item.kind, message: item.message, runbook: runbook.path },
        whyItMatters:
          'The drill proves the runbook text that was reviewed and pinned; changed or unreviewed blocks are not what was proven.',
        suggestedFix: this.options.allowDrift
          ? 'Ran anyway with --allow-drift. Review the change, then run: npm run drill -- pin'
          : 'Review the change, then run: npm run drill -- pin',
      });
    }
  }

  private notRun(procedure: Procedure, reason: string): ProcedureRecord {
    return notRunRecord({ id: procedure.id, title: procedure.title, section: procedure.section, mode: 'order' }, reason);
  }

  /** Sections whose blocks no procedure covers yet appear as not-run, never silently absent. */
  private pendingSections(runbook: Runbook): ProcedureRecord[] {
    const covered = new Set(this.procedures.map((procedure) => procedure.section));
    const checked = new Set(
      this.procedures.flatMap((procedure) => (procedure.checksWithoutRunning ?? []).map((check) => `${procedure.section}#${check.index}`)),
    );
    const pending = new Map<string, number>();
    for (const block of runbook.blocks) {
      if (covered.has(block.sectionTitle) || checked.has(`${block.sectionTitle}#${block.index}`)) continue;
      pending.set(block.sectionTitle, block.line);
    }
    return [...pending].map(([section, line]) =>
      notRunRecord(
        { id: `pending:${section}`, title: section, section, line, mode: 'order' },
        'pending in the lock: no procedure drills this section yet',
      ),
    );
  }
}
