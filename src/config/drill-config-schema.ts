import { z } from 'zod';
import { MIN_SCALE } from '../drill/drill-options.ts';

const url = z.url({ protocol: /^https?$/, error: 'expected a URL (http:// or https://)' });
const selector = z
  .string({ error: 'expected a CSS selector (a string)' })
  .min(1, { error: 'expected a CSS selector, got an empty string' });
const path = z.string({ error: 'expected a path (a string)' }).min(1, { error: 'expected a path, got an empty string' });
const ids = z.array(z.string().min(1), { error: 'expected a list of procedure ids, e.g. ["full-backup", "restore-custom"]' });

/** The admin password is a secret: a config file names the environment variable that holds it, never the value. */
const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;

export const drillConfigSchema = z.strictObject({
  /** The runbook to drill (relative to the config file). */
  runbook: path.optional(),
  /** The NMIA repository to drill: a path (relative to the config file), a git bundle or a git URL, with an optional #ref. */
  app: z
    .string({ error: 'expected a path or git URL (a string)' })
    .min(1, { error: 'expected a path or git URL, got an empty string' })
    .optional(),
  stack: z.enum(['auto', 'emulated', 'compose']).optional(),
  isolation: z.enum(['order', 'alone', 'both']).optional(),
  scale: z
    .int({ error: 'expected a whole number of identities' })
    .min(MIN_SCALE, { error: `expected at least ${MIN_SCALE} identities` })
    .optional(),
  seed: z.int({ error: 'expected a whole number' }).min(0, { error: 'expected a number ≥ 0' }).optional(),
  /** Parent of the per-drill report directories (relative to the config file). */
  reportDir: path.optional(),
  objectives: z
    .strictObject({
      rtoSeconds: z.int({ error: 'expected whole seconds' }).min(1, { error: 'expected at least 1 second' }).optional(),
      rpoSeconds: z.int({ error: 'expected whole seconds' }).min(0, { error: 'expected seconds ≥ 0' }).optional(),
    })
    .optional(),
  /** The person accountable for the drill, named in the journal and the attestation. */
  operator: z.string({ error: 'expected a name (a string)' }).trim().min(1, { error: 'expected a name, got an empty string' }).optional(),
  only: ids.optional(),
  skip: ids.optional(),
  /**
   * Every binding value is made by the drill itself (the file a backup wrote, the drill workspace, the
   * environment's SECRET_KEY); an override would make the drill check something other than what ran.
   */
  bindings: z.never({ error: 'bindings are not configurable: each value is made by the drill itself (see `nmia-drill plan`)' }).optional(),
  /** How the DR checklist probes reach and read the application (the reference stack's values otherwise). */
  probes: z
    .strictObject({
      api: z.strictObject({ url }).optional(),
      ui: z
        .strictObject({
          url: url.optional(),
          /** The sign-in page and the page listing the enclaves (the real NMIA UI's /login and /enclaves otherwise). */
          loginPath: path.refine((value) => value.startsWith('/'), { error: 'expected a path starting with /, e.g. /login' }).optional(),
          enclavesPath: path
            .refine((value) => value.startsWith('/'), { error: 'expected a path starting with /, e.g. /enclaves' })
            .optional(),
          selectors: z
            .strictObject({
              username: selector.optional(),
              password: selector.optional(),
              submit: selector.optional(),
              error: selector.optional(),
              enclaveRow: selector.optional(),
            })
            .optional(),
          /** The localStorage key the UI keeps its token under (evidence only). */
          tokenKey: z.string().min(1).optional(),
        })
        .optional(),
      admin: z
        .strictObject({
          username: z.string({ error: 'expected a user name (a string)' }).min(1).optional(),
          passwordEnv: z
            .string({ error: 'expected the NAME of the environment variable that holds the admin password, e.g. "NMIA_ADMIN_PASSWORD"' })
            .regex(ENV_NAME, {
              error:
                'expected the NAME of an environment variable (letters, digits, _), e.g. "NMIA_ADMIN_PASSWORD" — not the password itself',
            }),
          password: z.never({ error: 'a literal password is not allowed in a config file' }).optional(),
        })
        .optional(),
      /** The connector the "test connector scan" item scans (else the first enabled ad_ldap connector). */
      scan: z
        .strictObject({
          connectorId: z.uuid({ error: 'expected a connector id (a UUID, as GET /api/v1/connectors/ lists it)' }),
        })
        .optional(),
    })
    .optional(),
});

/** What a config file may contain (drill.config.ts / drill.config.json). */
export type DrillConfig = z.input<typeof drillConfigSchema>;
