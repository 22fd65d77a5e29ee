import { existsSync, readFileSync, rmSync } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type pg from 'pg';
import { cleanupRegistry, type CleanupHandle } from '../../lifecycle/cleanup-registry.ts';
import { binaryVersion, findPgBinaries, type PgBinaries } from '../../postgres/pg-binaries.ts';
import { serverIdentity } from '../../postgres/server-identity.ts';
import { REPO_ROOT } from '../../repo-root.ts';
import { ComposeProject } from '../../docker/compose-file/compose-project.ts';
import type { DockerResult } from '../../docker/docker-result.ts';
import type { StackKind, StartedStack } from '../stack.ts';
import type { Workspace } from '../workspace.ts';
import { EmulatedEngine } from './emulated-engine.ts';
import { isAlive, killProcessesReferencing } from './process-liveness.ts';
import { PGDATA } from './postgres-runtime.ts';
import { readShimState, writeShimState, type ShimState } from './shim-state.ts';
import { bundleServices, bundleShim } from './shim-bundle.ts';

export interface EmulatedStackOptions {
  workspace: Workspace;
  /** The compose file to drill; the project gets a copy. */
  composeFile: string;
  /** Values for the project's .env. */
  dotEnv: Record<string, string>;
  reason: string;
  binaries?: PgBinaries;
}

/**
 * The no-Docker stack: a `docker` shim first on PATH, a local Postgres cluster for the db service
 * and local processes for the app services, all inside the drill workspace.
 */
export class EmulatedStack implements StartedStack {
  readonly kind: StackKind = 'emulated';

  private constructor(
    readonly workspace: Workspace,
    readonly binaries: PgBinaries,
    readonly reason: string,
    private readonly engineRoot: string,
    private readonly cleanup: CleanupHandle,
  ) {}

  /** Prepares the workspace and engine; services are started by the caller through `docker compose up -d`. */
  static async create(options: EmulatedStackOptions): Promise<EmulatedStack> {
    const binaries = options.binaries ?? findPgBinaries();
    // Seeded-defect scenarios shorten the worker's poll (nmia/reference-app/README.md); the journal says so.
    const pollMs = process.env.NMIA_WORKER_POLL_MS?.match(/^\d+$/)?.[0];
    const { workspace } = options;
    const engineRoot = join(workspace.harnessDir, 'engine');
    const binDir = join(engineRoot, 'bin');
    await mkdir(binDir, { recursive: true });
    const identity = serverIdentity();
    const state: ShimState = {
      stateVersion: 1,
      owner: workspace.drillId,
      createdAt: new Date().toISOString(),
      root: engineRoot,
      pg: { binDir: binaries.binDir, ...(identity ? { uid: identity.uid, gid: identity.gid } : {}) },
      serviceEnv: { NMIA_DRILL_REPO: REPO_ROOT.replace(/\/$/, ''), ...(pollMs ? { NMIA_WORKER_POLL_MS: pollMs } : {}) },
      volumes: {},
      containers: {},
      ports: {},
    };
    writeShimState(state);
    const bundle = join(engineRoot, 'docker-shim.mjs');
    await Promise.all([bundleShim(bundle), bundleServices(join(engineRoot, 'services'))]);
    await writeFile(
      join(binDir, 'docker'),
      `#!/bin/sh\n# nmia-drill emulated docker: see src/stacks/emulated/docker-shim.ts\nexec "${process.execPath}" "${bundle}" "$@"\n`,
      { mode: 0o755 },
    );
    await copyFile(options.composeFile, join(workspace.projectDir, 'docker-compose.yml'));
    await writeFile(
      join(workspace.projectDir, '.env'),
      Object.entries(options.dotEnv)
        .map(([key, value]) => `${key}=${value}\n`)
        .join(''),
      { mode: 0o600 },
    );
    const cleanup = cleanupRegistry.register(
      `emulated stack ${workspace.root}`,
      () => EmulatedStack.teardown(engineRoot, binaries, workspace),
      () => EmulatedStack.emergencyTeardown(engineRoot, workspace),
    );
    const reason = pollMs
      ? `${options.reason}; the reference worker polls every ${pollMs} ms, not the real 15 s (NMIA_WORKER_POLL_MS, a test setting)`
      : options.reason;
    return new EmulatedStack(workspace, binaries, reason, engineRoot, cleanup);
  }

  blockEnv(): Record<string, string> {
    return {
      PATH: `${join(this.engineRoot, 'bin')}:${process.env.PATH ?? '/usr/bin:/bin'}`,
      HOME: process.env.HOME ?? '/root',
      LANG: 'C.UTF-8',
      TZ: process.env.TZ ?? 'UTC',
      NMIA_DRILL_ENGINE: this.engineRoot,
      NMIA_DRILL_REPO: REPO_ROOT.replace(/\/$/, ''),
      // The compose file's x-emulated commands run these bundles (see bundleServices).
      NMIA_DRILL_SERVICES: join(this.engineRoot, 'services'),
    };
  }

  project(): ComposeProject {
    return ComposeProject.locate(this.workspace.projectDir, undefined, this.blockEnv());
  }

  dbClientConfig(database = 'nmia'): pg.ClientConfig {
    const state = readShimState(this.engineRoot);
    const project = this.project();
    const container = state.containers[project.containerName('db')];
    if (!container?.socketDir) throw new Error('the db service has no container yet');
    return { host: container.socketDir, port: container.ports['5432'] ?? 5432, user: 'nmia', database };
  }

  serviceUrl(service: string, containerPort: number, scheme = 'http'): string {
    const port = readShimState(this.engineRoot).ports[`${this.project().name}/${service}/${containerPort}`];
    if (!port) throw new Error(`service ${service} publishes no port ${containerPort} in this stack`);
    return `${scheme}://127.0.0.1:${port}`;
  }

  transferDirs(): Array<{ dir: string; shownAs: string }> {
    let state: ShimState;
    try {
      state = readShimState(this.engineRoot);
    } catch {
      return [];
    }
    return Object.values(state.containers)
      .filter((container) => container.service)
      .map((container) => ({ dir: join(container.rootfs, 'tmp'), shownAs: `${container.service}:/tmp` }));
  }

  async docker(args: string[], options: { cwd?: string } = {}): Promise<DockerResult> {
    if (!existsSync(join(this.engineRoot, 'engine.json'))) throw new Error(`the emulated stack of ${this.workspace.root} has been stopped`);
    const started = Date.now();
    const result = await execa('docker', args, {
      cwd: options.cwd ?? this.workspace.projectDir,
      env: this.blockEnv(),
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    return {
      command: `docker ${args.join(' ')}`,
      exitCode: result.exitCode ?? 1,
      stdout: String(result.stdout),
      stderr: String(result.stderr),
      durationMs: Date.now() - started,
    };
  }

  async versions(): Promise<Record<string, string>> {
    return {
      stack: 'emulated (docker shim)',
      postgres: binaryVersion(this.binaries, 'postgres'),
      pg_dump: binaryVersion(this.binaries, 'pg_dump'),
      pg_restore: binaryVersion(this.binaries, 'pg_restore'),
      psql: binaryVersion(this.binaries, 'psql'),
    };
  }

  async stop(): Promise<void> {
    await this.cleanup.run();
  }

  private static async teardown(engineRoot: string, binaries: PgBinaries, workspace: Workspace): Promise<void> {
    if (existsSync(join(engineRoot, 'engine.json'))) {
      const engine = new EmulatedEngine(readShimState(engineRoot), binaries);
      await engine.shutdownAll();
      for (const container of Object.values(engine.state.containers)) {
        if (container.socketDir) rmSync(container.socketDir, { recursive: true, force: true });
      }
    }
    killProcessesReferencing(engineRoot);
    await workspace.remove();
  }

  /** Process exit: no awaiting possible, so signal what is alive and delete the directories. */
  private static emergencyTeardown(engineRoot: string, workspace: Workspace): void {
    try {
      const state = readShimState(engineRoot);
      for (const container of Object.values(state.containers)) {
        if (container.pid && isAlive(container.pid)) process.kill(-container.pid, 'SIGKILL');
        const dataMount = container.mounts.find((mount) => mount.target === PGDATA && mount.type === 'volume');
        const pidFile = dataMount ? join(state.volumes[dataMount.source]?.dir ?? '/nonexistent', 'postmaster.pid') : undefined;
        if (pidFile && existsSync(pidFile)) {
          const pid = Number.parseInt(readFileSync(pidFile, 'utf8').split('\n')[0] ?? '', 10);
          if (isAlive(pid)) process.kill(pid, 'SIGQUIT');
        }
        if (container.socketDir) rmSync(container.socketDir, { recursive: true, force: true });
      }
    } catch {
      // Best effort while exiting.
    }
    killProcessesReferencing(engineRoot);
    workspace.removeSync();
  }
}
