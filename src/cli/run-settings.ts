import type { Command } from 'commander';
import { loadDrillConfig } from '../config/config-file.ts';
import { resolveRunSettings, type ParsedRunFlags, type RunSettings } from '../config/drill-settings.ts';

/**
 * The settings of a run (or its plan): the config file (--config, NMIA_DRILL_CONFIG, or drill.config.* in
 * the current directory) under the environment variables and flags commander already applied.
 */
export async function runSettingsFor(
  flags: ParsedRunFlags & { config?: string },
  command: Command,
  options: { requireSecrets: boolean },
): Promise<RunSettings> {
  const loaded = await loadDrillConfig(flags.config);
  return resolveRunSettings(flags, (key) => command.getOptionValueSource(key), loaded, options);
}
