import { randomBytes } from 'node:crypto';
import { openSync, closeSync, chownSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { spawn } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { PgBinaries } from '../../postgres/pg-binaries.ts';
import { freePort } from '../../postgres/free-port.ts';
import type { ComposeProject, ComposeService } from '../../docker/compose-file/compose-project.ts';
import { DRILL_LABEL } from '../../safety/ownership-marker.ts';
import { PathMapper } from './path-mapper.ts';
import { INIT_FLAG } from './container-init.ts';
import { ENTRYPOINT_FLAG, type PostgresEntrypointSpec } from './postgres-entrypoint.ts';
import { PGDATA, PostgresRuntime } from './postgres-runtime.ts';
import { isAlive, terminate } from './process-liveness.ts';
import type { ContainerRecord, MountRecord, ShimState, VolumeRecord } from './shim-state.ts';

/** A Docker daemon error: `docker` prints it and exits with `exitCode`. */
export class EngineError extends Error {
  override readonly name = 'EngineError';
  constructor(
    message: string,
    readonly exitCode = 1,
  ) {
    super(message);
  }
}

const ROOTFS_DIRS = ['tmp', 'root', 'etc', 'var/run/postgresql', 'var/lib/postgresql'];

/**
 * The emulated Docker engine: volumes, containers and their lifecycles, kept in ShimState.
 * Postgres images run the machine's PostgreSQL; services with `x-emulated` run as local processes.
 */
export class EmulatedEngine {
  private readonly postgres: PostgresRuntime;

  constructor(
    readonly state: ShimState,
    binaries: PgBinaries,
  ) {
    const identity = state.pg.uid === undefined ? undefined : { uid: state.pg.uid, gid: state.pg.gid ?? state.pg.uid, user: 'postgres' };
    this.postgres = new PostgresRuntime(binaries, identity);
  }

  // ── volumes ──────────────────────────────────────────────────────────────

  async ensureVolume(name: string, labels: Record<string, string> = {}): Promise<VolumeRecord> {
    const existing = this.state.volumes[name];
    if (existing) return existing;
    if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]+$/.test(name)) {
      throw new EngineError(
        `Error response from daemon: create ${name}: "${name}" includes invalid characters for a local volume name, only "[a-zA-Z0-9][a-zA-Z0-9_.-]" are allowed.`,
      );
    }
    const dir = join(this.state.root, 'volumes', name, '_data');
    await mkdir(dir, { recursive: true });
    // Every volume this engine creates is its drill's; the label is what `docker volume rm` is checked against.
    const volume = { name, dir, createdAt: new Date().toISOString(), labels: { ...labels, [DRILL_LABEL]: this.state.owner } };
    this.state.volumes[name] = volume;
    return volume;
  }

  async removeVolume(name: string, force = false): Promise<void> {
    const volume = this.state.volumes[name];
    if (!volume) {
      if (force) return;
      throw new EngineError(`Error response from daemon: get ${name}: no such volume`);
    }
    const users = Object.values(this.state.containers).filter((container) =>
      container.mounts.some((mount) => mount.type === 'volume' && mount.source === name),
    );
    if (users.length > 0) {
      throw new EngineError(
        `Error response from daemon: remove ${name}: volume is in use - [${users.map((container) => container.id).join(', ')}]`,
      );
    }
    await rm(join(this.state.root, 'volumes', name), { recursive: true, force: true });
    delete this.state.volumes[name];
  }

  volumeDir(name: string): string {
    const volume = this.state.volumes[name];
    if (!volume) throw new EngineError(`Error response from daemon: get ${name}: no such volume`);
    return volume.dir;
  }

  // ── containers ───────────────────────────────────────────────────────────

  containerFor(project: ComposeProject, service: string): ContainerRecord | undefined {
    return this.state.containers[project.containerName(service)];
  }

  async createServiceContainer(project: ComposeProject, service: ComposeService): Promise<ContainerRecord> {
    const mounts: MountRecord[] = [];
    for (const volume of service.volumes) {
      if (volume.kind === 'volume') {
        const name = project.volumeName(volume.source);
        await this.ensureVolume(name, { 'com.docker.compose.project': project.name, 'com.docker.compose.volume': volume.source });
        mounts.push({ type: 'volume', source: name, target: volume.target });
      } else {
        mounts.push({ type: 'bind', source: volume.source, target: volume.target });
      }
    }
    const ports: Record<string, number> = {};
    for (const port of this.servicePorts(service))
      ports[String(port.containerPort)] = await this.stablePort(project, service.name, port.containerPort);
    const record = await this.newContainer(project.containerName(service.name), service.image, mounts, ports, {
      project: project.name,
      service: service.name,
    });
    this.state.containers[record.name] = record;
    return record;
  }

  async newContainer(
    name: string,
    image: string,
    mounts: MountRecord[],
    ports: Record<string, number>,
    labels: { project?: string; service?: string } = {},
  ): Promise<ContainerRecord> {
    if (this.state.containers[name])
      throw new EngineError(`Error response from daemon: Conflict. The container name "/${name}" is already in use.`);
    const id = randomBytes(32).toString('hex');
    const rootfs = join(this.state.root, 'containers', id.slice(0, 12), 'rootfs');
    for (const dir of ROOTFS_DIRS) await mkdir(join(rootfs, dir), { recursive: true });
    const logFile = join(this.state.root, 'containers', id.slice(0, 12), 'container.log');
    writeFileSync(logFile, '');
    if (this.state.pg.uid !== undefined) chownSync(logFile, this.state.pg.uid, this.state.pg.gid ?? this.state.pg.uid);
    return { id, name, ...labels, image, status: 'created', mounts, rootfs, ports, logFile, createdAt: new Date().toISOString() };
  }

  isPostgres(container: ContainerRecord): boolean {
    return isPostgresImage(container.image);
  }

  /** Status as Docker would report it now: a server that died is an exited container. */
  refresh(container: ContainerRecord): ContainerRecord {
    if (container.status !== 'running') return container;
    // A postgres container runs while its entrypoint initialises/starts the server, and then while the server runs.
    const alive = this.isPostgres(container)
      ? isAlive(container.pid) || this.postgres.isRunning(this.pgDataDir(container))
      : isAlive(container.pid);
    if (!alive) {
      container.status = 'exited';
      container.exitCode = container.exitCode ?? (this.isPostgres(container) ? 1 : this.recordedExit(container));
    }
    return container;
  }

  async start(container: ContainerRecord, project: ComposeProject, service: ComposeService): Promise<void> {
    if (this.refresh(container).status === 'running') return;
    if (this.isPostgres(container)) {
      container.socketDir ??= await mkdtemp(join(tmpdir(), 'nmia-shim-sock-'));
      // As with Docker, `start` returns once the container's main process runs; initdb and the
      // server's start-up happen in it, and a crashing entrypoint leaves an exited container.
      const spec: PostgresEntrypointSpec = {
        binDir: this.state.pg.binDir,
        ...(this.state.pg.uid === undefined ? {} : { uid: this.state.pg.uid, gid: this.state.pg.gid ?? this.state.pg.uid }),
        dataDir: this.pgDataDir(container),
        socketDir: container.socketDir,
        port: container.ports['5432'] ?? (await freePort()),
        logFile: container.logFile,
        environment: service.environment,
      };
      const specFile = join(container.rootfs, '..', 'entrypoint.json');
      writeFileSync(specFile, JSON.stringify(spec), { mode: 0o600 });
      const log = openSync(container.logFile, 'a');
      try {
        const child = spawn(process.execPath, [join(this.state.root, 'docker-shim.mjs'), ENTRYPOINT_FLAG, specFile], {
          detached: true,
          stdio: ['ignore', log, log],
          env: { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C.UTF-8' },
        });
        child.unref();
        container.pid = child.pid;
      } finally {
        closeSync(log);
      }
      container.status = 'running';
      delete container.exitCode;
      return;
    }
    if (!service.emulated) {
      throw new EngineError(
        `nmia-drill docker shim: service "${service.name}" (image ${service.image}) has no x-emulated command, so it cannot run without Docker; use --stack compose`,
        125,
      );
    }
    const [command, ...args] = service.emulated.command;
    // A service that dials others by name gets every service's address at its start: its environment is frozen then,
    // whereas Compose DNS answers for a service started later (the worker dials the directory, which may start after
    // it). Only then, so that a port is fixed as short a time as possible before its own service binds it.
    if (service.environment.NMIA_SERVICE_HOSTS) await this.serviceHosts(project);
    const env = this.serviceEnvironment(project, service, container);
    const log = openSync(container.logFile, 'a');
    rmSync(this.exitFile(container), { force: true });
    try {
      // Through an init that records the exit status, as Docker reports it in `ps -a` (143 after an unhandled SIGTERM).
      const init = [join(this.state.root, 'docker-shim.mjs'), INIT_FLAG, this.exitFile(container), '--', command!, ...args];
      const child = spawn(process.execPath, init, { cwd: container.rootfs, env, detached: true, stdio: ['ignore', log, log] });
      child.unref();
      container.pid = child.pid;
    } finally {
      closeSync(log);
    }
    container.status = 'running';
    delete container.exitCode;
  }

  private exitFile(container: ContainerRecord): string {
    return join(container.rootfs, '..', 'exit-code');
  }

  /** How an app container's process ended, as its init recorded it; 137 when it had to be killed. */
  private recordedExit(container: ContainerRecord): number {
    try {
      return Number.parseInt(readFileSync(this.exitFile(container), 'utf8'), 10);
    } catch {
      return 137;
    }
  }

  async stop(container: ContainerRecord): Promise<void> {
    if (this.refresh(container).status !== 'running') return;
    if (this.isPostgres(container)) {
      // A server still starting is let finish, then shut down fast (Docker's SIGINT for this image).
      await this.waitForEntrypoint(container);
      await this.postgres.stop(this.pgDataDir(container));
    } else if (container.pid) await terminate(container.pid);
    container.status = 'exited';
    // The db's fast shutdown (SIGINT) ends with 0; an app's exit code is whatever its process made of SIGTERM.
    container.exitCode = this.isPostgres(container) ? 0 : this.recordedExit(container);
    delete container.pid;
  }

  /** Until a postgres container's entrypoint has finished: the server accepts connections, or it failed. */
  async waitForEntrypoint(container: ContainerRecord, timeoutMs = 120_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (isAlive(container.pid) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    if (isAlive(container.pid)) await terminate(container.pid!);
  }

  async remove(container: ContainerRecord): Promise<void> {
    await this.stop(container);
    await rm(join(container.rootfs, '..'), { recursive: true, force: true });
    if (container.socketDir) await rm(container.socketDir, { recursive: true, force: true });
    delete this.state.containers[container.name];
  }

  pathMapper(container: ContainerRecord): PathMapper {
    // In a postgres container the server's socket directory is /var/run/postgresql, on port 5432.
    const socket =
      this.isPostgres(container) && container.socketDir ? [{ target: '/var/run/postgresql', hostPath: container.socketDir }] : [];
    const port = container.ports['5432'];
    const rewrites = socket.length > 0 && port ? ([[`.s.PGSQL.${port}`, '.s.PGSQL.5432']] as const) : [];
    return PathMapper.forMounts(container.rootfs, container.mounts, (name) => this.volumeDir(name), socket, rewrites);
  }

  pgDataDir(container: ContainerRecord): string {
    return this.pathMapper(container).toHost(PGDATA);
  }

  /** libpq settings that make a client inside the db container reach its server over the socket. */
  pgClientEnv(container: ContainerRecord): Record<string, string> {
    return { PGHOST: container.socketDir ?? '', PGPORT: String(container.ports['5432'] ?? 5432) };
  }

  /** The stable host port of every published service port, as `service:containerPort` → `127.0.0.1:hostPort`. */
  async serviceHosts(project: ComposeProject): Promise<Record<string, string>> {
    const hosts: Record<string, string> = {};
    for (const service of project.services.values()) {
      for (const port of this.servicePorts(service)) {
        hosts[`${service.name}:${port.containerPort}`] = `127.0.0.1:${await this.stablePort(project, service.name, port.containerPort)}`;
      }
    }
    return hosts;
  }

  /** Kills every process the engine started; used by cleanup on any exit path. */
  async shutdownAll(): Promise<void> {
    // Apps first, the database last: as `docker compose down` stops dependants before dependencies.
    const containers = Object.values(this.state.containers).sort((a, b) => Number(this.isPostgres(a)) - Number(this.isPostgres(b)));
    for (const container of containers) await this.stop(container).catch(() => undefined);
  }

  private servicePorts(service: ComposeService): Array<{ containerPort: number }> {
    const ports = service.ports.map((port) => ({ containerPort: port.containerPort }));
    // The harness reaches the db over its socket port even when nothing is published.
    if (ports.length === 0 && isPostgresImage(service.image)) ports.push({ containerPort: 5432 });
    // An unpublished service still listens: its port variable names the container port others dial.
    const declared = service.emulated?.portEnv ? Number(service.environment[service.emulated.portEnv]) : Number.NaN;
    if (ports.length === 0 && Number.isInteger(declared) && declared > 0) ports.push({ containerPort: declared });
    return ports;
  }

  private async stablePort(project: ComposeProject, service: string, containerPort: number): Promise<number> {
    const key = `${project.name}/${service}/${containerPort}`;
    this.state.ports[key] ??= await freePort();
    return this.state.ports[key];
  }

  private serviceEnvironment(project: ComposeProject, service: ComposeService, container: ContainerRecord): NodeJS.ProcessEnv {
    const hosts = Object.fromEntries(
      Object.entries(this.state.ports)
        .filter(([key]) => key.startsWith(`${project.name}/`))
        .map(([key, port]) => {
          const [, name, containerPort] = key.split('/');
          return [`${name}:${containerPort}`, `127.0.0.1:${port}`];
        }),
    );
    const rewrite = (value: string) =>
      Object.entries(hosts).reduce((text, [from, to]) => text.split(`@${from}`).join(`@${to}`).split(`//${from}`).join(`//${to}`), value);
    const env: NodeJS.ProcessEnv = { PATH: process.env.PATH, HOME: container.rootfs, ...this.state.serviceEnv };
    for (const [key, value] of Object.entries(service.environment)) env[key] = rewrite(value);
    // The service's own map (e.g. "*:389" → "directory:389") chains into the emulated addresses.
    const own = service.environment.NMIA_SERVICE_HOSTS
      ? (JSON.parse(service.environment.NMIA_SERVICE_HOSTS) as Record<string, string>)
      : {};
    env.NMIA_SERVICE_HOSTS = JSON.stringify({ ...own, ...hosts });
    const firstPort = Object.values(container.ports)[0];
    if (service.emulated?.portEnv && firstPort) env[service.emulated.portEnv] = String(firstPort);
    return env;
  }
}

function isPostgresImage(image: string): boolean {
  return /(^|\/)postgres(:|$)/.test(image);
}
