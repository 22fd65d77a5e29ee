import type { Command } from 'commander';
import type { ParsedRunFlags, Setting } from '../config/drill-settings.ts';
import type { Procedure } from '../drill/procedure.ts';
import { ExitCode } from '../errors/drill-error.ts';
import { planDrill } from '../plan/drill-plan.ts';
import { renderPlan } from '../plan/plan-text.ts';
import { runSettingsFor } from './run-settings.ts';

export type PlanFlags = ParsedRunFlags & { config?: string; allowDrift: boolean; json: boolean };

/**
 * `nmia-drill plan`: what `run` with the same flags would do, and nothing more. It reads the runbook,
 * its lock and the config; it starts, writes and contacts nothing (src/cli/plan-command.test.ts proves it).
 * Exit 0, or 1 when the runbook drifted (the run would stop) unless --allow-drift.
 */
export async function runPlan(flags: PlanFlags, command: Command, procedures: readonly Procedure[]): Promise<number> {
  const cwd = process.cwd();
  const settings = await runSettingsFor(flags, command, { requireSecrets: false });
  const plan = await planDrill({
    runbookPath: settings.runbook.value,
    allowDrift: flags.allowDrift,
    isolation: settings.isolation.value,
    only: settings.only.value,
    skip: settings.skip.value,
    stack: settings.stack.value,
    app: settings.app.value,
    cwd,
    procedures,
  });
  if (flags.json) {
    const shown = <T>(setting: Setting<T>) => ({ value: setting.value, from: setting.from });
    const { probes, config, ...rest } = settings;
    process.stdout.write(
      `${JSON.stringify(
        {
          settings: {
            ...Object.fromEntries(Object.entries(rest).map(([key, setting]) => [key, shown(setting as Setting<unknown>)])),
            config: config?.path ?? null,
            probes: probes.notes,
          },
          ...plan,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    process.stdout.write(renderPlan(plan, settings, cwd));
  }
  if (!plan.wouldRun) {
    process.stderr.write(
      `runbook drift: ${plan.drift.length} block(s) differ from the lock; the drill would run nothing. Review, then pin (or --allow-drift)\n`,
    );
    return ExitCode.failed;
  }
  return ExitCode.ok;
}
