import { readFile } from 'node:fs/promises';
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { BlockRun } from '../exec/block-runner.ts';
import type { ProcedureRecord } from '../evidence/journal.ts';
import type { DrillEnvironment } from './drill-environment.ts';
import type { DrillReporter } from './drill-reporter.ts';
import type { DrillState } from './drill-state.ts';
import type { FailureDiagnosis, Procedure } from './procedure.ts';
import { refusalLines } from '../safety/ownership-marker.ts';
import { ProcedureRecorder } from '../evidence/procedure-recorder.ts';
import { ProcedureContext } from './procedure-context.ts';
import { errorLines, failureLine } from '../exec/error-lines.ts';
import { environmentCause } from '../exec/environment-cause.ts';
import { commandFailureFix, failedRungFix } from './failure-fixes.ts';
import { HarnessUnavailableError } from '../errors/harness-unavailable-error.ts';

// Error lines (including the ownership guard's "nmia-drill: refusing …") are recognised in src/exec/error-lines.ts,
// where the block runner also uses them to keep a command's first error line in its stderr excerpt.
export { errorLines } from '../exec/error-lines.ts';

/** Runs one procedure: prepare → bindings → disaster → blocks → intent checks, recording everything. */
export class ProcedureRunner {
  constructor(
    private readonly drill: DrillState,
    private readonly reporter: DrillReporter | undefined,
  ) {}

  async run(procedure: Procedure, environment: DrillEnvironment, mode: 'order' | 'alone'): Promise<ProcedureRecord> {
    const evidenceDir = join(this.drill.reportDir, 'procedures', `${mode}-${procedure.id}`);
    await mkdir(evidenceDir, { recursive: true });
    const recorder = new ProcedureRecorder(
      {
        id: procedure.id,
        title: procedure.title,
        section: procedure.section,
        line: this.drill.runbook.blocks.find((block) => block.sectionTitle === procedure.section)?.line,
        mode,
      },
      {
        findings: this.drill.findings,
        redactor: this.drill.redactor,
        onRung: (rung) =>
          this.reporter?.onProcedureStep?.(procedure.id, this.drill.redactor.redact(`${rung.rung}: ${rung.check} → ${rung.outcome}`)),
      },
    );
    const record = recorder.record;
    const context = new ProcedureContext(procedure, recorder, environment.stack, this.drill, environment.state, evidenceDir, this.reporter);
    const started = Date.now();
    this.reporter?.onProcedureStart?.({ id: procedure.id, title: procedure.title, mode });
    environment.state.stateAfterLastProcedure = undefined;
    let actionsWhenWindowClosed = -1;
    try {
      await procedure.prepare?.(context);
      const bindings = (await procedure.bindings?.(context)) ?? [];
      // From the disaster until verification the application's own writes stop, as they would in an outage;
      // otherwise a restored database gains rows before the harness can compare it with the backup.
      if (procedure.disaster) await environment.state.sentinels?.pause();
      await procedure.disaster?.(context);
      await procedure.beforeBlocks?.(context);
      const before = procedure.captureWindow ? await context.manifest('just before the blocks') : undefined;
      const checkpoints = procedure.checkpoints?.(context) ?? [];
      let failedRun: BlockRun | undefined;
      for (const index of procedure.blocks) {
        const run = await context.runBlock(index, bindings, { checkpoints });
        for (const command of run.commands) this.reporter?.onCommand?.(procedure.id, command);
        if (run.exitCode !== 0) {
          failedRun = run;
          break;
        }
      }
      if (before && !failedRun) {
        context.closeWindow(before);
        actionsWhenWindowClosed = recorder.harnessActions.length;
      }
      await this.checkCommands(procedure, context, failedRun);
      if (!failedRun) await procedure.verify(context);
      if (this.drill.halted) throw new Error('interrupted: the drill was stopped by a signal while this procedure ran');
      const window = await context.backupWindow();
      // A backup that did nothing after its window closed left the database exactly as that manifest says.
      if (procedure.kind === 'backup' && window && recorder.harnessActions.length === actionsWhenWindowClosed)
        environment.state.stateAfterLastProcedure = window.after;
      recorder.settle();
      this.addMissingFindings(recorder);
    } catch (error) {
      // A part of the harness that is missing or would not start stops the procedure with its cause and fix: an
      // `error`, never a finding.
      recorder.error(error instanceof HarnessUnavailableError ? error.summary() : (error as Error).message);
    } finally {
      // Checks that ran while the stack was torn down under them say nothing about the runbook.
      if (this.drill.halted) {
        recorder.withdrawFindings();
        recorder.error('interrupted: the drill was stopped by a signal while this procedure ran');
      }
      environment.state.sentinels?.resume();
    }
    recorder.finish(Date.now() - started);
    if (this.drill.halted) return record;
    for (const rung of record.rungs) this.reporter?.onRung?.(procedure.id, rung);
    for (const id of record.findings) {
      const finding = this.drill.findings.find((candidate) => candidate.id === id);
      if (finding) this.reporter?.onFinding?.(finding);
    }
    this.reporter?.onProcedureEnd?.(record);
    return record;
  }

  /** Exit codes, and a scan of each command's output: a command that exits 0 after errors is still caught. */
  private async checkCommands(procedure: Procedure, context: ProcedureContext, failedRun: BlockRun | undefined): Promise<void> {
    // Ctrl-C kills the running block with the drill: that is no finding about the runbook.
    if (this.drill.halted) throw new Error('interrupted: the drill was stopped by a signal while this procedure ran');
    const rung = procedure.kind === 'restore' ? 'restorability' : 'intent';
    const check = 'every command exits 0 with no errors in its output';
    if (failedRun) {
      const command = failedRun.failedCommand;
      const environment = environmentCause(command?.stderrTail ?? failedRun.stderrTail);
      if (environment) {
        // The machine, not the runbook: an error with the cause and fix, no finding.
        context.rung({
          rung,
          check,
          outcome: 'error',
          summary: `${command?.text ?? 'the block'} could not run: ${environment.cause} (fix: ${environment.fix})`,
          evidence: { line: failedRun.line, exitCode: failedRun.exitCode, stderrTail: command?.stderrTail ?? failedRun.stderrTail },
        });
        return;
      }
      const summary = `${command?.text ?? 'the block'} exited ${failedRun.exitCode ?? failedRun.signal}: ${failureLine(command?.stderrTail ?? '')}`;
      context.fail(rung, check, summary, {
        line: failedRun.line,
        exitCode: failedRun.exitCode,
        stderrTail: command?.stderrTail ?? failedRun.stderrTail,
      });
      const stderr = command?.stderrTail ?? failedRun.stderrTail;
      const diagnosis =
        (await procedure.diagnose?.(context, { command: command?.text ?? '', exitCode: failedRun.exitCode, stderr })) ??
        refusalDiagnosis(stderr);
      context.finding({
        line: failedRun.line,
        severity: diagnosis?.severity ?? 'high',
        title: diagnosis?.title ?? `"${command?.text ?? 'block'}" fails as written (exit ${failedRun.exitCode ?? failedRun.signal})`,
        command: command?.text ?? '',
        evidence: {
          exitCode: failedRun.exitCode,
          stderrTail: command?.stderrTail ?? failedRun.stderrTail,
          blockLine: failedRun.line,
          ...(diagnosis?.evidence ?? {}),
        },
        whyItMatters:
          diagnosis?.whyItMatters ?? 'An operator following this section hits the same error and cannot complete the procedure.',
        suggestedFix:
          diagnosis?.suggestedFix ??
          commandFailureFix({
            command: command?.text ?? 'the block',
            section: procedure.section,
            line: failedRun.line,
            exitCode: failedRun.exitCode,
            errorLine: failureLine(stderr),
          }),
      });
      return;
    }
    const problems: string[] = [];
    for (const run of context.evidence.blocks) {
      const stderr = await readFile(join(context.evidenceDir, `block-${run.blockIndex}.stderr`), 'utf8').catch(() => run.stderrTail);
      problems.push(...errorLines(stderr));
    }
    if (problems.length === 0)
      context.pass(
        rung,
        check,
        `${context.evidence.blocks.reduce((sum, run) => sum + run.commands.length, 0)} commands, all exit 0, no error lines`,
      );
    else {
      context.fail(rung, check, `exit codes were 0 but the output has ${problems.length} error line(s): ${problems[0]}`, {
        errorLines: problems.slice(0, 20),
      });
      context.finding({
        severity: 'high',
        title: 'commands exit 0 while printing errors',
        evidence: { errorLines: problems.slice(0, 20) },
        whyItMatters: 'The operator sees success while part of the work failed; a silent partial restore is worse than a loud failure.',
        suggestedFix: 'Make the command fail on errors (for psql: -v ON_ERROR_STOP=1 --single-transaction) and check its exit code.',
      });
    }
  }

  /** Every failed check carries a finding; the procedure's own checks add precise ones, this adds the rest. */
  private addMissingFindings(recorder: ProcedureRecorder): void {
    if (recorder.findingIds.length > 0) return;
    for (const rung of recorder.rungs.filter((candidate) => candidate.outcome === 'failed')) {
      recorder.finding({
        severity: rung.rung === 'content' || rung.rung === 'structure' || rung.rung === 'artifact' ? 'critical' : 'high',
        title: `${rung.check}: failed`,
        evidence: { rung: rung.rung, summary: rung.summary, ...(rung.evidence ?? {}) },
        whyItMatters:
          'The procedure completes as written but does not achieve what it is for; in a real incident this is lost data or a failed recovery.',
        suggestedFix: failedRungFix(rung, recorder.record.section),
      });
    }
  }
}

/** A destructive command the ownership guard refused: the drill stops there, and says so. */
function refusalDiagnosis(stderr: string): FailureDiagnosis | undefined {
  const [refusal] = refusalLines(stderr);
  if (!refusal) return undefined;
  return {
    severity: 'high',
    title: `safety interlock: ${refusal.replace(/^nmia-drill: /, '')}`,
    whyItMatters:
      'The command would destroy something this drill did not create; run against a real host it would destroy production data.',
    suggestedFix:
      "Point the command at what the procedure itself creates (the drill marks its databases with COMMENT ON DATABASE … IS 'nmia-drill:<id>' and labels its volumes), or fix the name in the runbook.",
  };
}
