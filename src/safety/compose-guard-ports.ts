import { execa } from 'execa';
import { ComposeProject } from '../docker/compose-file/compose-project.ts';
import { composeOption, type ServiceExec } from './destructive-command.ts';
import { COMPOSE_PROJECT_LABEL, DRILL_LABEL } from './ownership-marker.ts';
import type { GuardPorts, Ownership, SqlResult } from './ownership-guard.ts';

/** What the compose stack tells its guard (written once per drill, read by every guarded `docker` call). */
export interface ComposeGuardConfig {
  drillId: string;
  /** The real docker CLI the guard delegates to. */
  realDocker: string;
  /** The compose project the drill owns (checked absent before the drill started). */
  project: string;
  /** Volumes that existed before the drill created anything: never the drill's. */
  volumesAtStart: string[];
}

/** The ownership guard's view of a real Docker engine, through the real docker CLI. */
export class ComposeGuardPorts implements GuardPorts {
  constructor(
    private readonly config: ComposeGuardConfig,
    private readonly cwd: string,
    private readonly env: Record<string, string | undefined>,
  ) {}

  project(composeArgs: string[]): ComposeProject {
    return ComposeProject.locate(this.cwd, composeOption(composeArgs, ['-f', '--file']), this.env);
  }

  async sql(exec: ServiceExec, sql: string): Promise<SqlResult> {
    return this.docker([
      'compose',
      ...exec.composeArgs,
      'exec',
      '-T',
      ...exec.execArgs,
      exec.service,
      'psql',
      ...exec.connectionArgs,
      '-d',
      exec.maintenanceDb,
      '-XAtq',
      '-c',
      sql,
    ]);
  }

  async volume(name: string): Promise<Ownership> {
    const labels = await this.labels(['volume', 'inspect', '--format', '{{json .Labels}}', name]);
    if (!labels) return 'missing';
    if (labels[DRILL_LABEL] === this.config.drillId) return 'owned';
    // Compose labels the project's volumes; the project did not exist when the drill started, so a new one is the drill's.
    return labels[COMPOSE_PROJECT_LABEL] === this.config.project && !this.config.volumesAtStart.includes(name) ? 'owned' : 'foreign';
  }

  async container(name: string): Promise<Ownership> {
    const labels = await this.labels(['container', 'inspect', '--format', '{{json .Config.Labels}}', name]);
    if (!labels) return 'missing';
    return labels[DRILL_LABEL] === this.config.drillId || labels[COMPOSE_PROJECT_LABEL] === this.config.project ? 'owned' : 'foreign';
  }

  /** Docker creates a volume named in `run -v` on first use; created here first, it carries the drill's label. */
  async claimVolume(name: string): Promise<void> {
    if ((await this.labels(['volume', 'inspect', '--format', '{{json .Labels}}', name])) !== undefined) return;
    await this.docker(['volume', 'create', '--label', `${DRILL_LABEL}=${this.config.drillId}`, name]);
  }

  private async labels(args: string[]): Promise<Record<string, string> | undefined> {
    const result = await this.docker(args);
    if (result.exitCode !== 0) return undefined;
    return (JSON.parse(result.stdout.trim() || 'null') as Record<string, string> | null) ?? {};
  }

  private async docker(args: string[]): Promise<SqlResult> {
    const result = await execa(this.config.realDocker, args, {
      cwd: this.cwd,
      env: this.env,
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      timeout: 60_000,
    });
    return { exitCode: result.exitCode ?? 1, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
  }
}
