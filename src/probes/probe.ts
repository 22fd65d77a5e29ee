import type pg from 'pg';
import type { ProbeSession } from './probe-session.ts';

export type ProbeOutcome = 'passed' | 'failed' | 'error' | 'skipped';

/** One DR checklist item, checked against a running deployment. */
export interface ProbeResult {
  id: ProbeId;
  /** The checklist text, with the address actually probed, e.g. 'API responds at http://127.0.0.1:8000/docs'. */
  item: string;
  outcome: ProbeOutcome;
  /** One line; on failure the precise cause. Never a secret. */
  summary: string;
  /** HTTP statuses, counts seen, job id and result, screenshot path …; never a secret. */
  evidence: Record<string, unknown>;
  durationMs: number;
}

/** Everything a probe needs to reach a deployment, by configuration alone. */
export interface ProbeTarget {
  apiUrl: string;
  uiUrl: string;
  /** The password comes from the environment in real deployments; it is never logged. */
  admin: { username: string; password: string };
  /** The database the app runs on: its password is withheld from every probe's evidence. */
  database?: pg.ClientConfig;
  /** Else: the first enabled `ad_ldap` connector (GET /api/v1/connectors/ and /types). A UUID. */
  scanConnectorId?: string;
  /** Screenshots go here. */
  evidenceDir: string;
  timeouts?: ProbeTimeouts;
  /** How the UI signs in and what it renders; the real NMIA UI's values (NMIA_UI) otherwise. */
  ui?: UiProbeSettings;
}

export interface UiProbeSettings {
  /** The sign-in page. */
  loginPath?: string;
  /** The page that lists the enclaves, opened after sign-in. */
  enclavesPath?: string;
  /** CSS selectors (Playwright syntax) of elements the UI really has. */
  selectors?: {
    username?: string;
    password?: string;
    submit?: string;
    /** An error message shown by the UI (a failed sign-in, a list that failed to load). */
    error?: string;
    /** One per enclave on the enclaves page; its text is the enclave's name. */
    enclaveRow?: string;
  };
  /** The localStorage key the UI keeps its token under (evidence only). */
  tokenKey?: string;
}

/**
 * The real NMIA UI at 3e1062f (docs/reference-app.md): a /login form whose inputs react-hook-form
 * names username and password, a "Sign In" submit button, MUI error alerts, and an /enclaves table
 * with the name in the first cell ("No enclaves found." fills a single colspan cell). Each is configurable.
 */
export const NMIA_UI = {
  loginPath: '/login',
  enclavesPath: '/enclaves',
  selectors: {
    username: 'input[name="username"]',
    password: 'input[name="password"]',
    submit: 'form button[type="submit"]',
    error: '.MuiAlert-colorError',
    enclaveRow: 'table tbody tr:not(:has(td[colspan])) > td:first-child',
  },
  tokenKey: 'nmia_token',
} as const;

/** The real NMIA api's routes the probes use (api/src/nmia at 3e1062f); `{id}` is a connector's UUID. */
export const NMIA_API_ROUTES = {
  login: '/api/v1/auth/login',
  enclaves: '/api/v1/enclaves/',
  connectors: '/api/v1/connectors/',
  connectorTypes: '/api/v1/connectors/types',
  identities: '/api/v1/identities/',
  runConnector: '/api/v1/connectors/{id}/run',
  connectorJobs: '/api/v1/connectors/{id}/jobs',
} as const;

/** What a drill config may change about how the checklist probes reach a deployment (src/config/drill-settings.ts). */
export type ProbeOverrides = Partial<Pick<ProbeTarget, 'apiUrl' | 'uiUrl' | 'admin' | 'scanConnectorId' | 'ui'>>;

export interface ProbeTimeouts {
  /** Each HTTP request, body included. Default 5 000. */
  httpMs?: number;
  /** A connector scan, queue to finish (the real worker polls every 15 s). Default 60 000. */
  scanMs?: number;
  /** The UI: sign-in and the enclaves page rendered. Default 20 000. */
  uiMs?: number;
}

export const PROBE_IDS = [
  'api-docs',
  'ui-loads',
  'admin-login',
  'enclaves-connectors-visible',
  'identity-counts-match',
  'worker-running',
  'connector-scan',
  'jwt-continuity',
] as const;
export type ProbeId = (typeof PROBE_IDS)[number];

/** What the caller knows from before the disaster; items without their input are skipped, never passed. */
export interface ChecklistExpectations {
  /** The pre-disaster manifest's counts: identities row count (required for identity-counts-match). */
  expected?: { identities: number; enclaves?: number; connectors?: number };
  /** A token issued before the disaster (for jwt-continuity). */
  preDisasterToken?: string;
  /** 'valid' when SECRET_KEY was kept (default), 'invalid' when it was rotated on purpose. */
  tokenExpectation?: 'valid' | 'invalid';
  /** `docker compose logs worker` text; the worker must have logged since `since` (e.g. the start of recovery). */
  workerLogs?: { read: () => Promise<string>; since: Date };
}

/** What one probe decides; the runner adds id, item and duration. */
export interface ProbeVerdict {
  outcome: ProbeOutcome;
  summary: string;
  evidence: Record<string, unknown>;
}

/** One checklist item as code: the runner times it, catches ProbeFailure and redacts its output. */
export interface ChecklistProbe {
  readonly id: ProbeId;
  /** The checklist text with the address probed. */
  item(session: ProbeSession): string;
  check(session: ProbeSession): Promise<ProbeVerdict>;
}
