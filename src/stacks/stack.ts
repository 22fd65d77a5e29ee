import type pg from 'pg';
import type { PgBinaries } from '../postgres/pg-binaries.ts';
import type { ComposeProject } from '../docker/compose-file/compose-project.ts';
import type { DockerResult } from '../docker/docker-result.ts';
import type { Workspace } from './workspace.ts';

export type StackKind = 'emulated' | 'compose';

/** Where the runbook's `docker …` commands land, live. */
export interface StartedStack {
  readonly kind: StackKind;
  /** Why this stack was chosen (recorded in the journal). */
  readonly reason: string;
  readonly workspace: Workspace;
  readonly binaries: PgBinaries;
  /** Environment for running blocks: `docker` on PATH resolves to this stack's engine. */
  blockEnv(): Record<string, string>;
  /** The compose project as the runbook's commands see it, read fresh (the .env may have changed). */
  project(): ComposeProject;
  /** A harness-side connection to the db service (for manifests, seeding, disasters). */
  dbClientConfig(database?: string): pg.ClientConfig;
  /** Where the harness reaches a service's published port from this machine, e.g. http://127.0.0.1:41234. */
  serviceUrl(service: string, containerPort: number, scheme?: string): string;
  /** The harness's own docker commands (setup, disasters), run through the same engine. */
  docker(args: string[], options?: { cwd?: string }): Promise<DockerResult>;
  /**
   * Host directories standing for a service's filesystem, where the runbook's dumps and copies grow
   * (`db:/tmp` on the emulated stack). Progress display only; a stack whose containers this host
   * cannot look into has none.
   */
  transferDirs?(): Array<{ dir: string; shownAs: string }>;
  /** Versions of the parts in play, for evidence. */
  versions(): Promise<Record<string, string>>;
  /** Removes every container, volume, process and directory this stack created. */
  stop(): Promise<void>;
}
