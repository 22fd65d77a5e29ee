import { randomBytes } from 'node:crypto';
import { canariesFor } from '../../nmia/seed/canaries.ts';
import { DrillError, ExitCode } from '../errors/drill-error.ts';
import { overallOutcome, totalsOf, type Journal, type ProcedureRecord } from '../evidence/journal.ts';
import { writeEvidence, type EvidenceFiles } from '../evidence/evidence-writer.ts';
import { nextFindingId, notRunRecord } from '../evidence/procedure-recorder.ts';
import { Redactor } from '../evidence/redactor.ts';
import { createReportDirectory, reportDirName } from '../evidence/report-directory.ts';
import type { Drift } from '../runbook/drift.ts';
import type { Runbook } from '../runbook/runbook.ts';
import { COMPOSE_SUPPORTED, createStack } from '../stacks/stack-factory.ts';
import { composeImages } from '../stacks/compose/compose-images.ts';
import { REFERENCE_COMPOSE_FILE } from '../stacks/reference-app.ts';
import { selectStack, type StackSelection } from '../stacks/stack-selector.ts';
import type { StartedStack } from '../stacks/stack.ts';
import { Workspace } from '../stacks/workspace.ts';
import { DrillEnvironment } from './drill-environment.ts';
import type { DrillOptions } from './drill-options.ts';
import type { DrillState } from './drill-state.ts';
import type { Procedure } from './procedure.ts';
import { ProcedureRunner } from './procedure-runner.ts';
import { newJournal } from './new-journal.ts';
import { selectFromRunbook } from './procedure-selection.ts';

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

  constructor(private readonly options: DrillOptions) {
    this.procedures = options.procedures;
  }

  async run(): Promise<DrillResult> {
    const { options } = this;
    const { runbook, selected, lockPath, drift } = await selectFromRunbook(options.runbookPath, this.procedures, options);
    const canaries = canariesFor(options.seed);
    const redactor = new Redactor()
      .add('secret_key', canaries.secretKey)
      .add('admin_password', canaries.adminPassword)
      .add('db_password', canaries.dbPassword);
    canaries.bindPasswords.forEach((password, index) => redactor.add(`bind_password_${index}`, password));
    // A configured admin password (read from the environment) is a secret like the canaries.
    redactor.add('configured_admin_password', options.probes?.admin?.password);
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
    this.state = {
      drillId: this.drillId,
      runbook,
      redactor,
      canaries,
      seed: options.seed,
      scale: options.scale,
      reportDir,
      journal,
      findings: journal.findings,
      targets: { rtoMs: options.rtoTargetMs, rpoMs: options.rpoTargetMs },
      attestations: options.attestations,
      ...(options.probes && Object.keys(options.probes).length > 0 ? { probes: options.probes } : {}),
      ...(options.parallelRestoreJobs ? { parallelRestoreJobs: options.parallelRestoreJobs } : {}),
    };
    const planned = [
      ...(options.isolation !== 'alone'
        ? selected.map((procedure) => ({ id: procedure.id, title: procedure.title, mode: 'order' as const }))
        : []),
      ...(options.isolation !== 'order'
        ? selected.map((procedure) => ({ id: procedure.id, title: procedure.title, mode: 'alone' as const }))
        : []),
    ];
    options.reporter?.onDrillStart?.({ drillId: this.drillId, runbook: runbook.path, reportDir, procedures: planned });
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
    options.reporter?.onDrillEnd?.(journal, files);
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
    journal.outcome = journal.error ? 'error' : overallOutcome(real, drift && !journal.runbook.allowDrift);
  }

  private async runProcedures(selected: Procedure[]): Promise<void> {
    const { options } = this;
    const state = this.state!;
    const runner = new ProcedureRunner(state, options.reporter);
    if (options.isolation !== 'alone') {
      const environment = await this.environment('order');
      try {
        for (const [position, procedure] of selected.entries()) {
          this.stopIfInterrupted();
          if (position > 0) {
            const damage = await environment.damage();
            if (damage) {
              options.reporter?.onStep?.(`environment damaged (${damage}); rebuilding it before ${procedure.id}`);
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
      const id = nextFindingId(state.findings);
      state.findings.push({
        id,
        procedure: alone.id,
        section: alone.section,
        ...(alone.line ? { line: alone.line } : {}),
        severity: 'high',
        title: `"${alone.section}" passes only after the sections before it: on its own it fails`,
        evidence: { inOrder: 'passed', alone: 'failed', aloneFindings: alone.findings },
        whyItMatters:
          'In an incident an operator jumps straight to this section; whatever an earlier section left behind will not be there.',
        suggestedFix: 'Make the section bring everything it needs; see the findings of its run alone for what was missing.',
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
    this.options.reporter?.onStep?.(`environment (${label}): ${selection.kind} stack`);
    const workspace = await Workspace.create(this.drillId);
    const stack = await createStack(selection, {
      workspace,
      composeFile: REFERENCE_COMPOSE_FILE,
      dotEnv: { DATABASE_URL: 'postgresql://nmia:nmia@db:5432/nmia', SECRET_KEY: state.canaries.secretKey },
    });
    this.stacks.add(stack);
    if (Object.keys(state.journal.stack.versions).length === 0)
      state.journal.stack.versions = { ...(await stack.versions()), node: process.version };
    const environment = await DrillEnvironment.start(stack, {
      seed: state.seed,
      scale: state.scale,
      admin: { username: 'admin', password: state.canaries.adminPassword },
      ...(this.options.reporter ? { reporter: this.options.reporter } : {}),
    });
    state.journal.seeding ??= { rows: environment.seeding.rows, durationMs: environment.seeding.durationMs };
    return environment;
  }

  private selectionCache: StackSelection | undefined;
  private async selection(): Promise<StackSelection> {
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
      state.findings.push({
        id: nextFindingId(state.findings),
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
