/** The public entry of the `nmia-drill` package: what a user's drill.config.ts imports. */
export { defineConfig } from './config/define-config.ts';
export type { DrillConfig } from './config/drill-config-schema.ts';
export { NMIA_API_ROUTES, NMIA_UI } from './probes/probe.ts';
