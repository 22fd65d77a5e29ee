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
  /** For SQL-based checks (the worker heartbeat). */
  database?: pg.ClientConfig;
  /** Else: the first enabled connector whose ldap_url starts with ldap:// (the fixture directory serves no ldaps). */
  scanConnectorId?: number;
  /** Screenshots go here. */
  evidenceDir: string;
  timeouts?: ProbeTimeouts;
  /** How the UI signs in and what it renders; the reference UI's values (REFERENCE_UI) otherwise. */
  ui?: UiProbeSettings;
}

export interface UiProbeSettings {
  /** Path (and fragment) that signs in; {username} and {password} are filled in, URL-encoded. */
  signIn?: string;
  selectors?: {
    /** The page finished loading its data. */
    ready?: string;
    /** The page finished with an error. */
    error?: string;
    /** One per enclave; its text is the enclave's name. */
    enclaveRow?: string;
    /** Status text, kept as evidence. */
    status?: string;
  };
}

/** What the reference NMIA UI (nmia/reference-app) expects; a real deployment's UI may differ, so each is configurable. */
export const REFERENCE_UI = {
  /** The reference UI signs in from the URL fragment. */
  signIn: '/#username={username}&password={password}',
  selectors: {
    ready: 'body[data-state="ready"]',
    error: 'body[data-state="error"]',
    enclaveRow: '[data-testid=enclave]',
    status: '[data-testid=status]',
  },
} as const;

/** What a drill config may change about how the checklist probes reach a deployment (src/config/drill-settings.ts). */
export type ProbeOverrides = Partial<Pick<ProbeTarget, 'apiUrl' | 'uiUrl' | 'admin' | 'scanConnectorId' | 'ui'>>;

export interface ProbeTimeouts {
  /** Each HTTP request, body included. Default 5 000. */
  httpMs?: number;
  /** A connector scan, queue to finish. Default 30 000. */
  scanMs?: number;
  /** The newest worker heartbeat must be younger than this. Default 10. */
  workerHeartbeatMaxAgeS?: number;
  /** How long to wait for a fresh heartbeat before failing. Default 10 000. */
  workerWaitMs?: number;
  /** The UI page reaching body[data-state=ready]. Default 15 000. */
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
