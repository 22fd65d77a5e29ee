import { dirname, resolve } from 'node:path';
import { parseAppSource, type AppSource } from '../app/app-source.ts';
import { UsageError } from '../errors/drill-error.ts';
import type { Isolation, StackChoice } from '../drill/drill-options.ts';
import type { ProbeOverrides } from '../probes/probe.ts';
import { pathFromConfig, type LoadedConfig } from './config-file.ts';

/**
 * Environment variables for the run/plan options (commander reads them: flag > environment > config > default).
 * NMIA_DRILL_ONLY / NMIA_DRILL_SKIP take comma-separated ids, like the flags.
 */
export const SETTING_ENV = {
  config: 'NMIA_DRILL_CONFIG',
  runbook: 'NMIA_DRILL_RUNBOOK',
  app: 'NMIA_DRILL_APP',
  stack: 'NMIA_DRILL_STACK',
  isolation: 'NMIA_DRILL_ISOLATION',
  scale: 'NMIA_DRILL_SCALE',
  seed: 'NMIA_DRILL_SEED',
  reportDir: 'NMIA_DRILL_REPORT_DIR',
  rtoTarget: 'NMIA_DRILL_RTO_TARGET',
  rpoTarget: 'NMIA_DRILL_RPO_TARGET',
  only: 'NMIA_DRILL_ONLY',
  skip: 'NMIA_DRILL_SKIP',
  operator: 'NMIA_DRILL_OPERATOR',
} as const;

export type SettingSource = 'flag' | 'env' | 'config' | 'default';

export interface Setting<T> {
  value: T;
  source: SettingSource;
  /** e.g. `--scale`, `NMIA_DRILL_SCALE`, `drill.config.json: scale`, `default`. */
  from: string;
}

/** The flag values as commander parsed them (its defaults included) and where each came from. */
export interface ParsedRunFlags {
  runbook: string;
  /** `--app`: absent for the built-in reference app. */
  app?: string;
  stack: StackChoice;
  isolation: Isolation;
  scale: number;
  seed: number;
  reportDir: string;
  rtoTarget: number;
  rpoTarget: number;
  only: string[];
  skip: string[];
  /** `--operator`: absent when neither the flag, its variable nor the config names one (the CI actor or OS user then). */
  operator?: string;
}

export interface RunSettings {
  runbook: Setting<string>;
  app: Setting<AppSource>;
  stack: Setting<StackChoice>;
  isolation: Setting<Isolation>;
  scale: Setting<number>;
  seed: Setting<number>;
  reportDir: Setting<string>;
  rtoSeconds: Setting<number>;
  rpoSeconds: Setting<number>;
  only: Setting<string[]>;
  skip: Setting<string[]>;
  operator: Setting<string | undefined>;
  probes: ResolvedProbes;
  config?: LoadedConfig;
}

export interface ResolvedProbes {
  /** What the drill's checklist probes use instead of the reference stack's values; empty when nothing is configured. */
  overrides: ProbeOverrides;
  /** For `plan`: where each configured value comes from; never a secret. */
  notes: string[];
}

type Source = (key: keyof ParsedRunFlags) => string | undefined;

/** Flag > environment variable > config file > default, for each setting; paths in a config file are relative to it. */
export function resolveRunSettings(
  flags: ParsedRunFlags,
  sourceOf: Source,
  loaded: LoadedConfig | undefined,
  options: { requireSecrets: boolean; env?: NodeJS.ProcessEnv },
): RunSettings {
  const config = loaded?.config;
  const label = loaded?.label ?? '';
  const pick = <K extends keyof ParsedRunFlags, T>(
    key: K,
    flag: string,
    fromConfig: T | undefined,
    configKey: string,
    convert: (value: ParsedRunFlags[K]) => T,
  ): Setting<T> => {
    const source = sourceOf(key);
    if (source === 'cli') return { value: convert(flags[key]), source: 'flag', from: flag };
    if (source === 'env') return { value: convert(flags[key]), source: 'env', from: SETTING_ENV[key] };
    if (fromConfig !== undefined) return { value: fromConfig, source: 'config', from: `${label}: ${configKey}` };
    return { value: convert(flags[key]), source: 'default', from: 'default' };
  };
  const same = <T>(value: T): T => value;
  return {
    runbook: pick(
      'runbook',
      '--runbook',
      config?.runbook !== undefined && loaded ? pathFromConfig(loaded, config.runbook) : undefined,
      'runbook',
      (value) => resolve(value),
    ),
    // A path in the config file is relative to the file; a URL is left as it is.
    app: pick(
      'app',
      '--app',
      config?.app !== undefined && loaded ? parseAppSource(config.app, dirname(loaded.path)) : undefined,
      'app',
      (value) => parseAppSource(value),
    ),
    stack: pick('stack', '--stack', config?.stack, 'stack', same),
    isolation: pick('isolation', '--isolation', config?.isolation, 'isolation', same),
    scale: pick('scale', '--scale', config?.scale, 'scale', same),
    seed: pick('seed', '--seed', config?.seed, 'seed', same),
    reportDir: pick(
      'reportDir',
      '--report-dir',
      config?.reportDir !== undefined && loaded ? pathFromConfig(loaded, config.reportDir) : undefined,
      'reportDir',
      (value) => resolve(value),
    ),
    rtoSeconds: pick('rtoTarget', '--rto-target', config?.objectives?.rtoSeconds, 'objectives.rtoSeconds', same),
    rpoSeconds: pick('rpoTarget', '--rpo-target', config?.objectives?.rpoSeconds, 'objectives.rpoSeconds', same),
    only: pick('only', '--only', config?.only, 'only', same),
    skip: pick('skip', '--skip', config?.skip, 'skip', same),
    operator: pick('operator', '--operator', config?.operator, 'operator', same),
    probes: resolveProbes(loaded, options.requireSecrets, options.env ?? process.env),
    ...(loaded ? { config: loaded } : {}),
  };
}

/** The report directory for commands that only write a report (verify-backup): flag > environment > config > default. */
export function resolveReportDir(flag: string, source: string | undefined, loaded: LoadedConfig | undefined): string {
  if (source === 'cli' || source === 'env' || loaded?.config.reportDir === undefined) return resolve(flag);
  return pathFromConfig(loaded, loaded.config.reportDir);
}

/**
 * The checklist probes' settings from `probes` in the config. The admin password is read from the
 * environment variable the config names, here and nowhere else; the caller registers it as a secret.
 */
export function resolveProbes(loaded: LoadedConfig | undefined, requireSecrets: boolean, env: NodeJS.ProcessEnv): ResolvedProbes {
  const probes = loaded?.config.probes;
  const overrides: ProbeOverrides = {};
  const notes: string[] = [];
  if (!loaded || !probes) return { overrides, notes };
  const from = (key: string) => `${loaded.label}: probes.${key}`;
  if (probes.api?.url) {
    overrides.apiUrl = probes.api.url;
    notes.push(`api ${probes.api.url} (${from('api.url')})`);
  }
  if (probes.ui?.url) {
    overrides.uiUrl = probes.ui.url;
    notes.push(`ui ${probes.ui.url} (${from('ui.url')})`);
  }
  if (probes.ui?.loginPath || probes.ui?.enclavesPath || probes.ui?.selectors || probes.ui?.tokenKey) {
    overrides.ui = {
      ...(probes.ui.loginPath ? { loginPath: probes.ui.loginPath } : {}),
      ...(probes.ui.enclavesPath ? { enclavesPath: probes.ui.enclavesPath } : {}),
      ...(probes.ui.selectors ? { selectors: { ...probes.ui.selectors } } : {}),
      ...(probes.ui.tokenKey ? { tokenKey: probes.ui.tokenKey } : {}),
    };
    notes.push(`ui sign-in and selectors: ${JSON.stringify(overrides.ui)} (${from('ui')})`);
  }
  if (probes.admin) {
    const variable = probes.admin.passwordEnv;
    const password = env[variable];
    const username = probes.admin.username ?? 'admin';
    if (!password) {
      if (requireSecrets) {
        throw new UsageError(`${loaded.label}: probes.admin.passwordEnv: environment variable ${variable} is not set`, {
          fix: `export ${variable}=<the admin password> before the drill (the password never goes in the config file)`,
        });
      }
      notes.push(`admin ${username}, password from $${variable}: NOT SET — a drill would stop with a config error (${from('admin')})`);
    } else {
      overrides.admin = { username, password };
      notes.push(`admin ${username}, password from $${variable} (set; <redacted>) (${from('admin')})`);
    }
  }
  if (probes.scan?.connectorId !== undefined) {
    overrides.scanConnectorId = probes.scan.connectorId;
    notes.push(`connector scan: connector ${probes.scan.connectorId} (${from('scan.connectorId')})`);
  }
  return { overrides, notes };
}
