import { spawn } from 'node:child_process';
import { cpSync, createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, statSync, utimesSync } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { findPgBinaries, CLIENT_BINARIES } from '../../postgres/pg-binaries.ts';
import { ComposeFileNotFound, ComposeProject, type ComposeService } from '../../docker/compose-file/compose-project.ts';
import { EmulatedEngine, EngineError } from './emulated-engine.ts';
import { PathMapper } from './path-mapper.ts';
import { guardedActions } from '../../safety/destructive-command.ts';
import { OwnershipGuard } from '../../safety/ownership-guard.ts';
import { EmulatedGuardPorts } from './emulated-guard-ports.ts';
import { readShimState, STATE_FILE, writeShimState, type ContainerRecord, type MountRecord } from './shim-state.ts';

export interface ShimIo {
  cwd: string;
  env: Record<string, string | undefined>;
  stdout: (text: string) => void;
  stderr: (text: string) => void;
}

/** Client tools a postgres image carries; exec of anything else cannot be emulated faithfully. */
const POSTGRES_IMAGE_TOOLS = new Set<string>([
  ...CLIENT_BINARIES,
  'pg_dumpall',
  'pg_isready',
  'vacuumdb',
  'reindexdb',
  'createuser',
  'dropuser',
  'clusterdb',
]);
/** Applets of the alpine/busybox image that run the same on the host once paths are mapped. */
const ALPINE_APPLETS = new Set(['tar', 'gzip', 'gunzip', 'ls', 'cat', 'true', 'echo', 'du', 'mkdir']);

const NOT_EMULATED = 125;

/**
 * The `docker` command of the emulated stack. It behaves as Docker does for every command it
 * accepts and refuses anything else with exit code 125 and a clear message: never a silent success.
 */
export class DockerShim {
  constructor(
    private readonly stateRoot: string,
    private readonly io: ShimIo,
  ) {}

  async main(argv: string[]): Promise<number> {
    if (!existsSync(join(this.stateRoot, STATE_FILE))) {
      this.io.stderr(`nmia-drill docker shim: no emulated engine at ${this.stateRoot} (the drill that owned it has ended).\n`);
      return NOT_EMULATED;
    }
    const state = readShimState(this.stateRoot);
    const binaries = findPgBinaries({ env: { ...process.env, PG_BINDIR: state.pg.binDir } });
    const engine = new EmulatedEngine(state, binaries);
    try {
      // A drill destroys only what it created: ownership first, then the command as Docker would run it.
      const guard = new OwnershipGuard(state.owner, new EmulatedGuardPorts(engine, this.io.cwd, this.io.env));
      const decision = await guard.check(guardedActions(argv));
      if (decision.refusals.length > 0) {
        for (const line of [...decision.notes, ...decision.refusals]) this.io.stderr(`${line}\n`);
        return 1;
      }
      let exitCode = await this.dispatch(engine, argv);
      for (const after of exitCode === 0 ? decision.afterSuccess : []) {
        const failure = await after();
        if (failure) {
          this.io.stderr(`${failure}\n`);
          exitCode = 1;
        }
      }
      return exitCode;
    } catch (error) {
      if (error instanceof EngineError) {
        this.io.stderr(`${error.message}\n`);
        return error.exitCode;
      }
      if (error instanceof ComposeFileNotFound) {
        this.io.stderr(`${error.message}\n`);
        return 1;
      }
      throw error;
    } finally {
      writeShimState(state);
    }
  }

  private async dispatch(engine: EmulatedEngine, argv: string[]): Promise<number> {
    const [command, ...rest] = argv;
    switch (command) {
      case 'compose':
        return this.compose(engine, rest);
      case 'volume':
        return this.volume(engine, rest);
      case 'run':
        return this.run(engine, rest);
      default:
        return this.refuse(`docker ${argv.join(' ')}`);
    }
  }

  private refuse(what: string): number {
    this.io.stderr(
      `nmia-drill docker shim: "${what}" is not emulated (it would need a real Docker engine). Run the drill with --stack compose, or extend the shim.\n`,
    );
    return NOT_EMULATED;
  }

  // ── docker compose ───────────────────────────────────────────────────────

  private async compose(engine: EmulatedEngine, args: string[]): Promise<number> {
    let file: string | undefined;
    let i = 0;
    for (; i < args.length; i++) {
      const arg = args[i]!;
      if (arg === '-f' || arg === '--file') file = args[++i];
      else if (arg.startsWith('--file=')) file = arg.slice('--file='.length);
      else break;
    }
    const [subcommand, ...rest] = args.slice(i);
    if (subcommand === 'version') {
      this.io.stdout('Docker Compose version v2 (nmia-drill emulated)\n');
      return 0;
    }
    const project = ComposeProject.locate(this.io.cwd, file, this.io.env);
    switch (subcommand) {
      case 'up':
        return this.composeUp(engine, project, rest);
      case 'start':
        return this.composeStart(engine, project, rest);
      case 'stop':
        return this.composeStop(engine, project, rest);
      case 'restart':
        return (await this.composeStop(engine, project, rest)) || this.composeStart(engine, project, rest);
      case 'rm':
        return this.composeRm(engine, project, rest);
      case 'down':
        return this.composeDown(engine, project, rest);
      case 'ps':
        return this.composePs(engine, project, rest);
      case 'logs':
        return this.composeLogs(engine, project, rest);
      case 'exec':
        return this.composeExec(engine, project, rest);
      case 'cp':
        return this.composeCp(engine, project, rest);
      default:
        return this.refuse(`docker compose ${args.join(' ')}`);
    }
  }

  private services(project: ComposeProject, names: string[]): ComposeService[] {
    const selected = names.length === 0 ? [...project.services.keys()] : names;
    return selected.map((name) => {
      const service = project.service(name);
      if (!service) throw new EngineError(`no such service: ${name}`);
      return service;
    });
  }

  /** Dependencies first, as Compose starts them. */
  private withDependencies(project: ComposeProject, services: ComposeService[]): ComposeService[] {
    const ordered: ComposeService[] = [];
    const visit = (service: ComposeService) => {
      if (ordered.includes(service)) return;
      for (const dependency of service.dependsOn) {
        const found = project.service(dependency);
        if (found) visit(found);
      }
      ordered.push(service);
    };
    services.forEach(visit);
    return ordered;
  }

  private async composeUp(engine: EmulatedEngine, project: ComposeProject, args: string[]): Promise<number> {
    const { flags, positional } = splitFlags(args, ['-d', '--detach', '--wait', '--no-recreate', '--remove-orphans']);
    if (!flags.has('-d') && !flags.has('--detach')) return this.refuse(`docker compose up ${args.join(' ')} (attached mode)`);
    const started: ContainerRecord[] = [];
    for (const service of this.withDependencies(project, this.services(project, positional))) {
      const container = engine.containerFor(project, service.name) ?? (await engine.createServiceContainer(project, service));
      await engine.start(container, project, service);
      started.push(container);
      this.io.stderr(` Container ${container.name}  Started\n`);
    }
    if (flags.has('--wait')) {
      // Compose waits until every container is running (healthy, for the db: accepting connections).
      for (const container of started) {
        if (engine.isPostgres(container)) await engine.waitForEntrypoint(container);
        if (engine.refresh(container).status !== 'running')
          throw new EngineError(`container ${container.name} exited (${container.exitCode ?? 1})`);
      }
    }
    return 0;
  }

  private async composeStart(engine: EmulatedEngine, project: ComposeProject, args: string[]): Promise<number> {
    const { positional } = splitFlags(args, []);
    for (const service of this.services(project, positional)) {
      const container = engine.containerFor(project, service.name);
      // Compose 2.26 (project named after its directory) skips it silently and exits 0.
      if (!container) continue;
      await engine.start(container, project, service);
      this.io.stderr(` Container ${container.name}  Started\n`);
    }
    return 0;
  }

  private async composeStop(engine: EmulatedEngine, project: ComposeProject, args: string[]): Promise<number> {
    const { positional } = splitFlags(args, [], ['-t', '--timeout']);
    for (const service of [...this.services(project, positional)].reverse()) {
      const container = engine.containerFor(project, service.name);
      if (!container) continue;
      await engine.stop(container);
      this.io.stderr(` Container ${container.name}  Stopped\n`);
    }
    return 0;
  }

  private async composeRm(engine: EmulatedEngine, project: ComposeProject, args: string[]): Promise<number> {
    const { flags, positional } = splitFlags(args, ['-f', '--force', '-s', '--stop', '-v', '--volumes', '-sf', '-fs']);
    const force = flags.has('-f') || flags.has('--force') || flags.has('-sf') || flags.has('-fs');
    const stopFirst = flags.has('-s') || flags.has('--stop') || flags.has('-sf') || flags.has('-fs');
    if (!force) return this.refuse(`docker compose rm ${args.join(' ')} (without -f it asks for confirmation)`);
    for (const service of this.services(project, positional)) {
      const container = engine.containerFor(project, service.name);
      if (!container) continue;
      if (engine.refresh(container).status === 'running') {
        if (!stopFirst) continue;
        await engine.stop(container);
      }
      await engine.remove(container);
      this.io.stderr(` Container ${container.name}  Removed\n`);
    }
    return 0;
  }

  private async composeDown(engine: EmulatedEngine, project: ComposeProject, args: string[]): Promise<number> {
    const { flags } = splitFlags(args, ['-v', '--volumes', '--remove-orphans']);
    for (const service of [...this.withDependencies(project, this.services(project, []))].reverse()) {
      const container = engine.containerFor(project, service.name);
      if (!container) continue;
      await engine.remove(container);
      this.io.stderr(` Container ${container.name}  Removed\n`);
    }
    if (flags.has('-v') || flags.has('--volumes')) {
      for (const volume of project.volumes) {
        await engine.removeVolume(project.volumeName(volume), true);
        this.io.stderr(` Volume ${project.volumeName(volume)}  Removed\n`);
      }
    }
    return 0;
  }

  private async composePs(engine: EmulatedEngine, project: ComposeProject, args: string[]): Promise<number> {
    const { flags, positional } = splitFlags(args, ['-a', '--all', '-q', '--quiet']);
    const all = flags.has('-a') || flags.has('--all');
    const rows = this.services(project, positional)
      .map((service) => engine.containerFor(project, service.name))
      .filter((container): container is ContainerRecord => Boolean(container))
      .map((container) => engine.refresh(container))
      .filter((container) => all || container.status === 'running');
    if (flags.has('-q') || flags.has('--quiet')) {
      this.io.stdout(rows.map((row) => `${row.id}\n`).join(''));
      return 0;
    }
    const lines = [['NAME', 'IMAGE', 'SERVICE', 'STATUS', 'PORTS']];
    for (const row of rows) {
      const status = row.status === 'running' ? 'Up' : `Exited (${row.exitCode ?? 0})`;
      const ports = Object.entries(row.ports)
        .map(([inner, outer]) => `127.0.0.1:${outer}->${inner}/tcp`)
        .join(', ');
      lines.push([row.name, row.image, row.service ?? '', status, ports]);
    }
    this.io.stdout(formatTable(lines));
    return 0;
  }

  private async composeLogs(engine: EmulatedEngine, project: ComposeProject, args: string[]): Promise<number> {
    const { flags, positional } = splitFlags(args, ['--no-color', '--no-log-prefix', '-t', '--timestamps'], ['--tail', '-n']);
    const containers = this.services(project, positional)
      .map((service) => engine.containerFor(project, service.name))
      .filter((container): container is ContainerRecord => Boolean(container));
    // As Compose 2.26 prints it, TTY or not: an erase-line code, then `<service>-<index>` padded to the longest.
    const prefixOf = (container: ContainerRecord) => `${container.service ?? container.name}-1`;
    const width = Math.max(0, ...containers.map((container) => prefixOf(container).length));
    for (const container of containers) {
      const text = existsSync(container.logFile) ? readFileSync(container.logFile, 'utf8') : '';
      const prefix = flags.has('--no-log-prefix') ? '' : `${prefixOf(container).padEnd(width)}  | `;
      for (const line of text.split('\n').filter(Boolean)) this.io.stdout(`\x1b[2K${prefix}${line}\n`);
    }
    return 0;
  }

  private async composeExec(engine: EmulatedEngine, project: ComposeProject, args: string[]): Promise<number> {
    const { flags, values, positional } = splitFlags(
      args,
      ['-T', '--no-TTY', '-d', '--detach', '--privileged'],
      ['-e', '--env', '-u', '--user', '-w', '--workdir', '--index'],
      true,
    );
    const [serviceName, binary, ...commandArgs] = positional;
    if (!serviceName || !binary) throw new EngineError('"docker compose exec" requires at least 2 arguments.');
    if (flags.has('-d') || flags.has('--detach')) return this.refuse('docker compose exec --detach');
    const service = project.service(serviceName);
    const container = service ? engine.containerFor(project, service.name) : undefined;
    if (!service || !container || engine.refresh(container).status !== 'running')
      throw new EngineError(`service "${serviceName}" is not running`);
    const extraEnv = Object.fromEntries(
      (values.get('-e') ?? []).concat(values.get('--env') ?? []).map((pair) => [pair.split('=')[0]!, pair.split('=').slice(1).join('=')]),
    );
    if (!engine.isPostgres(container))
      return binary === 'printenv'
        ? this.printenv(container, commandArgs, extraEnv)
        : this.refuse(
            `docker compose exec ${serviceName} ${binary} (exec is emulated for the postgres image only, and printenv in app services)`,
          );
    if (!POSTGRES_IMAGE_TOOLS.has(binary)) return this.refuse(`docker compose exec ${serviceName} ${binary}`);
    const mapper = engine.pathMapper(container);
    const binaries = findPgBinaries({ env: { ...process.env, PG_BINDIR: engine.state.pg.binDir } });
    return this.spawnMapped(binaries.path(binary), mapper.mapArgs(commandArgs), mapper, {
      cwd: mapper.toHost(values.get('-w')?.[0] ?? values.get('--workdir')?.[0] ?? '/'),
      env: { PATH: process.env.PATH ?? '', LANG: 'C.UTF-8', ...engine.pgClientEnv(container), ...extraEnv },
    });
  }

  /**
   * `printenv NAME…` in an app service: the environment its process was started with (its compose `environment:`),
   * read from /proc, as `docker compose exec` gives an exec'd process the container's environment. Exit 1 when a
   * name is unset, as printenv does. Bare `printenv` is refused: the process also carries the emulation's own variables.
   */
  private printenv(container: ContainerRecord, names: string[], extraEnv: Record<string, string>): number {
    if (names.length === 0 || names.some((name) => name.startsWith('-')))
      return this.refuse(
        `docker compose exec ${container.service ?? container.name} printenv ${names.join(' ')} (only printenv NAME… is emulated)`,
      );
    const started = Object.fromEntries(
      readFileSync(`/proc/${container.pid}/environ`, 'utf8')
        .split('\0')
        .filter(Boolean)
        .map((entry) => [entry.slice(0, entry.indexOf('=')), entry.slice(entry.indexOf('=') + 1)]),
    );
    const environment: Record<string, string> = { ...started, ...extraEnv };
    let missing = false;
    for (const name of names) {
      if (environment[name] === undefined) missing = true;
      else this.io.stdout(`${environment[name]}\n`);
    }
    return missing ? 1 : 0;
  }

  private async composeCp(engine: EmulatedEngine, project: ComposeProject, args: string[]): Promise<number> {
    const { positional } = splitFlags(args, ['-a', '--archive', '-L', '--follow-link', '--all'], ['--index']);
    const [source, destination] = positional;
    if (!source || !destination || positional.length !== 2) throw new EngineError('"docker compose cp" requires exactly 2 arguments.');
    const side = (spec: string) => {
      const match = /^([A-Za-z0-9][A-Za-z0-9_.-]*):(.*)$/.exec(spec);
      if (!match || isAbsolute(spec)) return { host: resolve(this.io.cwd, spec) };
      const service = project.service(match[1]!);
      const container = service ? engine.containerFor(project, service.name) : undefined;
      if (!container) throw new EngineError(`no container found for service "${match[1]!}"`);
      const containerPath = match[2]!.startsWith('/') ? match[2]! : `/${match[2]!}`;
      return { host: engine.pathMapper(container).toHost(containerPath), containerPath, id: container.id };
    };
    const from = side(source);
    const to = side(destination);
    if (from.containerPath === undefined && to.containerPath === undefined)
      throw new EngineError('copying between services is not supported / one side must be a container');
    if (!existsSync(from.host)) {
      throw new EngineError(
        from.containerPath
          ? `Error response from daemon: Could not find the file ${from.containerPath} in container ${from.id}`
          : `lstat ${from.host}: no such file or directory`,
      );
    }
    let target = to.host;
    if (existsSync(target) && statSync(target).isDirectory()) target = join(target, basename(from.host));
    else if (!existsSync(dirname(target))) {
      throw new EngineError(
        to.containerPath
          ? `Error response from daemon: Could not find the file ${dirname(to.containerPath)} in container ${to.id}`
          : `invalid output path: directory "${dirname(target)}" does not exist`,
      );
    }
    try {
      // A file is written through as it arrives, as docker cp extracts its tar stream: a full disk leaves the
      // part that fit (docker cp onto a 64 KiB tmpfs: exit 1, a 65536-byte file left under the target name).
      const source = statSync(from.host);
      if (source.isFile()) {
        await pipeline(createReadStream(from.host), createWriteStream(target, { mode: source.mode & 0o7777 }));
        utimesSync(target, source.atime, source.mtime);
      } else cpSync(from.host, target, { recursive: true, preserveTimestamps: true });
    } catch (error) {
      // Docker reports a failed copy (disk full, read-only target) as one line and exit 1, not a crash.
      const code = (error as NodeJS.ErrnoException).code ?? 'EIO';
      if (code === 'ENOSPC') throw new EngineError(`write ${target}: no space left on device`);
      throw new EngineError(
        `Error response from daemon: copy to ${to.containerPath ?? target}: ${code === 'EACCES' || code === 'EPERM' ? 'permission denied' : (error as Error).message}`,
      );
    }
    return 0;
  }

  // ── docker volume / docker run ──────────────────────────────────────────

  private async volume(engine: EmulatedEngine, args: string[]): Promise<number> {
    const [subcommand, ...rest] = args;
    const { flags, positional } = splitFlags(rest, ['-f', '--force', '-q', '--quiet']);
    switch (subcommand) {
      case 'create': {
        const name = positional[0];
        if (!name) return this.refuse('docker volume create without a name');
        await engine.ensureVolume(name);
        this.io.stdout(`${name}\n`);
        return 0;
      }
      case 'rm':
      case 'remove': {
        if (positional.length === 0) throw new EngineError('"docker volume rm" requires at least 1 argument.');
        let exitCode = 0;
        for (const name of positional) {
          try {
            await engine.removeVolume(name, flags.has('-f') || flags.has('--force'));
            this.io.stdout(`${name}\n`);
          } catch (error) {
            if (!(error instanceof EngineError)) throw error;
            this.io.stderr(`${error.message}\n`);
            exitCode = 1;
          }
        }
        return exitCode;
      }
      case 'ls': {
        const names = Object.keys(engine.state.volumes).sort();
        this.io.stdout(
          flags.has('-q') || flags.has('--quiet')
            ? names.map((name) => `${name}\n`).join('')
            : formatTable([['DRIVER', 'VOLUME NAME'], ...names.map((name) => ['local', name])]),
        );
        return 0;
      }
      case 'inspect': {
        const found = positional.map((name) => engine.state.volumes[name]);
        const missing = positional.filter((_, index) => !found[index]);
        const existing = found.filter((volume) => volume !== undefined);
        this.io.stdout(
          `${JSON.stringify(
            existing.map((volume) => ({
              Name: volume.name,
              Driver: 'local',
              Mountpoint: volume.dir,
              Labels: volume.labels,
              CreatedAt: volume.createdAt,
            })),
            null,
            4,
          )}\n`,
        );
        for (const name of missing) this.io.stderr(`Error: No such volume: ${name}\n`);
        return missing.length > 0 ? 1 : 0;
      }
      default:
        return this.refuse(`docker volume ${args.join(' ')}`);
    }
  }

  private async run(engine: EmulatedEngine, args: string[]): Promise<number> {
    const { flags, values, positional } = splitFlags(
      args,
      ['--rm', '-i', '-t', '-it'],
      ['-v', '--volume', '-w', '--workdir', '--name', '-e', '--env'],
      true,
    );
    const [image, binary, ...commandArgs] = positional;
    if (!image) throw new EngineError('"docker run" requires at least 1 argument.');
    if (!/^(alpine|busybox)(:[\w.-]+)?$/.test(image)) {
      this.io.stderr(
        `Unable to find image '${image}' locally\ndocker: Error response from daemon: the nmia-drill shim runs only alpine/busybox images for one-off containers.\n`,
      );
      return NOT_EMULATED;
    }
    if (!binary) return this.refuse(`docker run ${image} (the image's default shell)`);
    if (!ALPINE_APPLETS.has(binary)) return this.refuse(`docker run ${image} ${binary}`);
    const mounts: MountRecord[] = [];
    for (const spec of [...(values.get('-v') ?? []), ...(values.get('--volume') ?? [])]) {
      const [source = '', target = ''] = spec.split(':');
      if (!target.startsWith('/')) throw new EngineError(`docker: Error response from daemon: invalid volume specification: '${spec}'.`);
      if (source.startsWith('/')) {
        mounts.push({ type: 'bind', source, target });
      } else {
        await engine.ensureVolume(source);
        mounts.push({ type: 'volume', source, target });
      }
    }
    const name = values.get('--name')?.[0] ?? `shim-run-${Date.now().toString(36)}`;
    const container = await engine.newContainer(name, image, mounts, {});
    engine.state.containers[container.name] = { ...container, status: 'running' };
    // Docker creates missing bind-mount sources as directories.
    for (const mount of mounts) if (mount.type === 'bind') mkdirSync(mount.source, { recursive: true });
    const mapper = PathMapper.forMounts(container.rootfs, mounts, (volume) => engine.volumeDir(volume));
    try {
      return await this.spawnMapped(binary, mapper.mapArgs(commandArgs), mapper, {
        cwd: mapper.toHost(values.get('-w')?.[0] ?? values.get('--workdir')?.[0] ?? '/'),
        env: { PATH: '/usr/bin:/bin', LANG: 'C.UTF-8' },
      });
    } finally {
      const record = engine.state.containers[container.name]!;
      record.status = 'exited';
      if (flags.has('--rm')) await engine.remove(record);
    }
  }

  /** Runs a host process standing in for the container's; stdout streams straight through, stderr is mapped back to container paths. */
  private spawnMapped(
    command: string,
    args: string[],
    mapper: PathMapper,
    options: { cwd: string; env: Record<string, string> },
  ): Promise<number> {
    return new Promise((resolvePromise) => {
      const child = spawn(command, args, { cwd: options.cwd, env: options.env, stdio: ['inherit', 'inherit', 'pipe'] });
      let stderr = '';
      child.stderr!.setEncoding('utf8');
      child.stderr!.on('data', (chunk: string) => {
        stderr += chunk;
        const lastNewline = stderr.lastIndexOf('\n');
        if (lastNewline >= 0) {
          this.io.stderr(mapper.toContainerText(stderr.slice(0, lastNewline + 1)));
          stderr = stderr.slice(lastNewline + 1);
        }
      });
      child.on('error', (error) => {
        this.io.stderr(
          `OCI runtime exec failed: exec failed: unable to start container process: exec: "${basename(command)}": ${error.message}: unknown\n`,
        );
        resolvePromise(126);
      });
      child.on('close', (code, signal) => {
        if (stderr) this.io.stderr(mapper.toContainerText(stderr));
        resolvePromise(code ?? (signal ? 128 + 9 : 1));
      });
    });
  }
}

/** Splits argv into known boolean flags, flags with values and positionals; `stopAtPositional` keeps a command's own flags intact. */
export function splitFlags(
  args: string[],
  booleans: string[],
  withValue: string[] = [],
  stopAtPositional = false,
): { flags: Set<string>; values: Map<string, string[]>; positional: string[] } {
  const flags = new Set<string>();
  const values = new Map<string, string[]>();
  const positional: string[] = [];
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (stopAtPositional && positional.length > 0) {
      positional.push(arg);
      continue;
    }
    const [name, inline] =
      arg.startsWith('--') && arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    if (withValue.includes(name)) {
      const value = inline ?? args[++i];
      if (value === undefined) throw new EngineError(`flag needs an argument: ${name}`);
      values.set(name, [...(values.get(name) ?? []), value]);
    } else if (booleans.includes(arg)) {
      flags.add(arg);
    } else if (arg.startsWith('-') && arg !== '-') {
      throw new EngineError(`unknown flag: ${arg}`, NOT_EMULATED);
    } else {
      positional.push(arg);
    }
  }
  return { flags, values, positional };
}

function formatTable(rows: string[][]): string {
  const widths = rows[0]!.map((_, column) => Math.max(...rows.map((row) => (row[column] ?? '').length)));
  return (
    rows
      .map((row) =>
        row
          .map((cell, column) => cell.padEnd(widths[column]! + 3))
          .join('')
          .trimEnd(),
      )
      .join('\n') + '\n'
  );
}
