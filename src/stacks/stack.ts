import type pg from 'pg';
import type { PgBinaries } from '../postgres/pg-binaries.ts';
import type { ComposeProject } from '../docker/compose-file/compose-project.ts';
import type { DockerResult } from '../docker/docker-result.ts';
import type { Workspace } from './workspace.ts';
import type { ComposeAddition } from '../app/compose-override.ts';
import type { HarnessAction } from '../evidence/journal.ts';

export type StackKind = 'emulated' | 'compose';

/** What running an app repository's compose file here took, for the journal and the plan. */
export interface AppStackSetup {
  additions: ComposeAddition[];
  /** docker-compose.override.yml as written next to the app's file (a recovery writes it into its fresh clone too). */
  overrideYaml: string;
  /** When the harness's own client binaries come from the db image (the host's are older than the server). */
  clients?: { image: string; version: string; replaced: string };
  /** `docker compose build` of the app's own Dockerfiles, when the engine lacked their images. */
  imageBuild?: HarnessAction;
}

/** Where the runbook's `docker …` commands land, live. */
export interface StartedStack {
  readonly kind: StackKind;
  /** Why this stack was chosen (recorded in the journal). */
  readonly reason: string;
  readonly workspace: Workspace;
  /** Set when the stack runs an app repository's own compose file (--app). */
  readonly appSetup?: AppStackSetup;
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
