import type { ComposeProject } from '../docker/compose-file/compose-project.ts';
import type { GuardedAction, ServiceExec } from './destructive-command.ts';
import {
  markerQuery,
  markStatement,
  ownershipMarker,
  parseMarkerRow,
  PGDATA_PATH,
  refuseContainer,
  refuseDatabase,
  refuseUnverifiable,
  refuseVolume,
} from './ownership-marker.ts';
import { lastLines } from '../exec/error-lines.ts';

export interface SqlResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export type Ownership = 'owned' | 'foreign' | 'missing';

/** What the guard needs from a stack: the same engine and db service the guarded command would reach. */
export interface GuardPorts {
  /** One statement through psql (-XAtq) in the service, connecting as the guarded tool would. */
  sql(exec: ServiceExec, sql: string): Promise<SqlResult>;
  volume(name: string): Promise<Ownership>;
  container(name: string): Promise<Ownership>;
  /** The compose project a `docker compose` command with these options addresses. */
  project(composeArgs: string[]): ComposeProject;
  /** Creates a named volume the command would create implicitly, with this drill's label (compose only). */
  claimVolume?(name: string): Promise<void>;
}

export interface GuardDecision {
  /** Non-empty: the command must not run. One line each. */
  refusals: string[];
  /** Output of the guard's own checks worth showing (e.g. why the db could not be asked). */
  notes: string[];
  /** After the command exited 0: mark what it created. Each returns an error line, or undefined. */
  afterSuccess: Array<() => Promise<string | undefined>>;
}

/**
 * The ownership check in front of every destructive `docker …` command a runbook block runs: a
 * database must carry this drill's marker, a volume or container its label; anything else is refused
 * before it runs. Databases the command creates are marked once it succeeded.
 */
export class OwnershipGuard {
  constructor(
    readonly drillId: string,
    private readonly ports: GuardPorts,
  ) {}

  async check(actions: readonly GuardedAction[]): Promise<GuardDecision> {
    const decision: GuardDecision = { refusals: [], notes: [], afterSuccess: [] };
    for (const action of actions) {
      switch (action.kind) {
        case 'drop-database':
          await this.checkDatabase(action.database, action.exec, decision);
          break;
        case 'create-database':
          decision.afterSuccess.push(() => this.mark(action.database, action.exec));
          break;
        case 'remove-volumes':
          for (const volume of action.volumes)
            if ((await this.ports.volume(volume)) === 'foreign') decision.refusals.push(refuseVolume(volume, this.drillId));
          break;
        case 'remove-project-volumes': {
          const project = this.ports.project(action.composeArgs);
          for (const volume of project.volumes.map((name) => project.volumeName(name))) {
            if ((await this.ports.volume(volume)) === 'foreign') decision.refusals.push(refuseVolume(volume, this.drillId));
          }
          break;
        }
        case 'remove-containers':
          for (const container of action.containers)
            if ((await this.ports.container(container)) === 'foreign') decision.refusals.push(refuseContainer(container, this.drillId));
          break;
        case 'create-volumes':
          break;
        case 'unverifiable':
          decision.refusals.push(refuseUnverifiable(action.what, action.why));
          break;
      }
    }
    // Only once nothing is refused: a refused command creates nothing either.
    if (decision.refusals.length === 0 && this.ports.claimVolume) {
      for (const action of actions)
        if (action.kind === 'create-volumes') for (const volume of action.volumes) await this.ports.claimVolume(volume);
    }
    return decision;
  }

  private async checkDatabase(database: string, exec: ServiceExec, decision: GuardDecision): Promise<void> {
    const asked = await this.ports.sql(exec, markerQuery(database));
    if (asked.exitCode !== 0) {
      // The same error the command itself would meet (e.g. the server still starting): shown, then refused.
      decision.notes.push(...asked.stderr.split('\n').filter((line) => line.trim()));
      const cause = lastLines(asked.stderr, 1) || `psql exit ${asked.exitCode}`;
      decision.refusals.push(refuseDatabase('drop', database, this.drillId, `its ownership marker could not be read (${cause.trim()})`));
      return;
    }
    const row = parseMarkerRow(asked.stdout);
    // No such database: nothing to destroy; the command reports that itself.
    if (!row || row.comment === ownershipMarker(this.drillId)) return;
    if (row.comment === '' && (await this.createdByDbImage(database, exec))) {
      const failure = await this.mark(database, exec);
      if (failure) decision.refusals.push(refuseDatabase('drop', database, this.drillId, `it could not be marked (${failure})`));
      return;
    }
    decision.refusals.push(
      refuseDatabase(
        'drop',
        database,
        this.drillId,
        row.comment ? `its comment is ${JSON.stringify(row.comment)}, not this drill's ownership marker` : undefined,
      ),
    );
  }

  /**
   * The database the db image's entrypoint creates (POSTGRES_DB) when it initialises an empty data
   * volume: in a volume this drill created, the drill created it too (the runbook's `docker compose up`
   * did), as `docker run -v` creates a volume. Adopted only while it carries no comment at all.
   */
  private async createdByDbImage(database: string, exec: ServiceExec): Promise<boolean> {
    let project: ComposeProject;
    try {
      project = this.ports.project(exec.composeArgs);
    } catch {
      return false;
    }
    const service = project.service(exec.service);
    if (!service) return false;
    const initial = service.environment.POSTGRES_DB || service.environment.POSTGRES_USER || 'postgres';
    const data = service.volumes.find((volume) => volume.kind === 'volume' && volume.target === PGDATA_PATH);
    if (database !== initial || !data) return false;
    return (await this.ports.volume(project.volumeName(data.source))) === 'owned';
  }

  private async mark(database: string, exec: ServiceExec): Promise<string | undefined> {
    const result = await this.ports.sql(exec, markStatement(database, this.drillId));
    if (result.exitCode === 0) return undefined;
    return `nmia-drill: database "${database}" was created but could not be marked as this drill's (${lastLines(result.stderr, 1) || `exit ${result.exitCode}`}); a later drop of it will be refused`;
  }
}
