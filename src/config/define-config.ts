import type { DrillConfig } from './drill-config-schema.ts';

/**
 * Typed helper for `drill.config.ts`: `export default defineConfig({ ... })`. It returns the object
 * unchanged; the CLI validates it (with the key path of any mistake) when it loads the file.
 */
export function defineConfig(config: DrillConfig): DrillConfig {
  return config;
}

export type { DrillConfig };
