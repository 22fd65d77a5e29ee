import type { AppSource } from '../app/app-source.ts';
import type { BackupKey } from '../custody/backup-key.ts';
import type { Canaries } from '../../nmia/seed/canaries.ts';
import type { Finding, Journal } from '../evidence/journal.ts';
import type { Redactor } from '../evidence/redactor.ts';
import type { Runbook } from '../runbook/runbook.ts';
import type { Manifest } from '../verify/manifest.ts';
import type { StartedSentinelWriter } from '../probes/started-sentinel-writer.ts';
import type { ProbeOverrides } from '../probes/probe.ts';

/** An artifact a procedure produced, available to later procedures of the same environment. */
export interface ProducedArtifact {
  name: string;
  /** Absolute path on the host. */
  path: string;
  sha256: string;
  producedBy: string;
  /** Manifests just before and just after the backup: the window its snapshot lies in. */
  window?: { before: Manifest; after: Manifest };
}

/** What one drill shares across its procedures. */
export interface DrillState {
  drillId: string;
  runbook: Runbook;
  redactor: Redactor;
  canaries: Canaries;
  /** The backup encryption key the drill holds in custody (bound where a runbook names BACKUP_KEY_PLACEHOLDER). */
  backupKey: BackupKey;
  seed: number;
  scale: number;
  reportDir: string;
  journal: Journal;
  findings: Finding[];
  targets: { rtoMs: number; rpoMs: number };
  attestations: Array<{ item: string; by: string }>;
  /** The NMIA under drill: absent or reference for the built-in reference app. */
  app?: AppSource;
  /** From the drill config: how the checklist probes reach the application instead of the stack's own addresses. */
  probes?: ProbeOverrides;
  /** Opt-in RTO lever: after a custom-format restore, measure pg_restore -j 1 against -j N. */
  parallelRestoreJobs?: number;
  /** Run the procedures' adversarial runs (DrillOptions.adversarial). */
  adversarial?: boolean;
  /** Set on SIGINT/SIGTERM: a block killed by it says nothing about the runbook. */
  halted?: boolean;
}

/** What one environment (a stack, in order or alone) accumulates across the procedures run in it. */
export interface EnvironmentState {
  artifacts: Map<string, ProducedArtifact>;
  /** The seeded state, before any procedure ran. */
  baseline: Manifest;
  /** Writes timestamped rows through the api from the moment the app is up, for RPO. */
  sentinels?: StartedSentinelWriter;
  /**
   * A manifest of the database as the last procedure left it, when that procedure took one after its
   * last action (a backup's "just after the blocks"): the damage check reuses it instead of hashing
   * every table again.
   */
  stateAfterLastProcedure?: Manifest;
}
