import { execa } from 'execa';
import { findPgBinaries } from '../../postgres/pg-binaries.ts';
import { composeOption, type ServiceExec } from '../../safety/destructive-command.ts';
import { DRILL_LABEL } from '../../safety/ownership-marker.ts';
import type { GuardPorts, Ownership, SqlResult } from '../../safety/ownership-guard.ts';
import { ComposeProject } from '../../docker/compose-file/compose-project.ts';
import type { EmulatedEngine } from './emulated-engine.ts';

/** The ownership guard's view of the emulated engine: its volumes' labels and its db containers' servers. */
export class EmulatedGuardPorts implements GuardPorts {
  constructor(
    private readonly engine: EmulatedEngine,
    private readonly cwd: string,
    private readonly env: Record<string, string | undefined>,
  ) {}

  project(composeArgs: string[]): ComposeProject {
    return ComposeProject.locate(this.cwd, composeOption(composeArgs, ['-f', '--file']), this.env);
  }

  async sql(exec: ServiceExec, sql: string): Promise<SqlResult> {
    const project = this.project(exec.composeArgs);
    const container = project.service(exec.service) ? this.engine.containerFor(project, exec.service) : undefined;
    if (!container || this.engine.refresh(container).status !== 'running')
      return { exitCode: 1, stdout: '', stderr: `service "${exec.service}" is not running` };
    const extraEnv: Record<string, string> = {};
    for (let i = 0; i < exec.execArgs.length; i += 2) {
      if (exec.execArgs[i] === '-e' || exec.execArgs[i] === '--env') {
        const pair = exec.execArgs[i + 1] ?? '';
        extraEnv[pair.split('=')[0]!] = pair.split('=').slice(1).join('=');
      }
    }
    const psql = findPgBinaries({ env: { ...process.env, PG_BINDIR: this.engine.state.pg.binDir } }).path('psql');
    const result = await execa(psql, [...exec.connectionArgs, '-d', exec.maintenanceDb, '-XAtq', '-c', sql], {
      env: { PATH: process.env.PATH ?? '', LANG: 'C.UTF-8', ...this.engine.pgClientEnv(container), ...extraEnv },
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      timeout: 30_000,
    });
    return { exitCode: result.exitCode ?? 1, stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? '') };
  }

  async volume(name: string): Promise<Ownership> {
    const volume = this.engine.state.volumes[name];
    if (!volume) return 'missing';
    return volume.labels[DRILL_LABEL] === this.engine.state.owner ? 'owned' : 'foreign';
  }

  async container(name: string): Promise<Ownership> {
    // Every container of the emulated engine was made by the drill that owns the engine.
    return Object.values(this.engine.state.containers).some((container) => container.name === name || container.id.startsWith(name))
      ? 'owned'
      : 'missing';
  }
}
