import { accessSync, constants } from 'node:fs';
import { copyFile, mkdir, writeFile } from 'node:fs/promises';
import { delimiter, join } from 'node:path';
import pg from 'pg';
import { EnvironmentError } from '../../errors/drill-error.ts';
import { cleanupRegistry, type CleanupHandle } from '../../lifecycle/cleanup-registry.ts';
import { freePort } from '../../postgres/free-port.ts';
import { binaryVersion, findPgBinaries, type PgBinaries } from '../../postgres/pg-binaries.ts';
import { AppImageBuild } from './app-image-build.ts';
import { BLOCK_IMAGES } from './compose-images.ts';
import { ComposeProject } from '../../docker/compose-file/compose-project.ts';
import { REPO_ROOT } from '../../repo-root.ts';
import { bundleDockerGuard } from '../emulated/shim-bundle.ts';
import type { ComposeGuardConfig } from '../../safety/compose-guard-ports.ts';
import type { DockerResult } from '../../docker/docker-result.ts';
import type { AppStackSetup, StackKind, StartedStack } from '../stack.ts';
import type { Workspace } from '../workspace.ts';
import { ComposeLock, type ComposeLockOptions } from './compose-lock.ts';
import { DockerCli, dockerClientEnv, lastLine } from '../../docker/docker-cli.ts';
import { DockerPreflight, type DockerVersions } from '../../docker/docker-preflight.ts';
import { DrillResources } from './drill-resources.ts';
import type { AppCheckout } from '../../app/app-checkout.ts';
import { type ComposeOverride, composeOverride, OVERRIDE_FILE } from '../../app/compose-override.ts';
import { IMAGE_SUBSTITUTES } from './image-substitutes.ts';
import { type DbImageClients, majorOf, startDbImageClients } from './db-image-clients.ts';

/** The project name the runbook implies (/opt/nmia → nmia → volume nmia_pgdata). */
export const COMPOSE_PROJECT = 'nmia';
/** Volumes a drill creates by name: the db's, and the one the runbook's typo creates. */
export const GUARDED_VOLUMES = ['nmia_pgdata', 'nmai_pgdata'] as const;
/** Published app ports the stack moves to free ones, so a drill never collides with a real :8000. */
const PUBLISHED_PORT_VARIABLES = ['NMIA_API_PORT', 'NMIA_UI_PORT'] as const;
const DB_PASSWORD = 'nmia';

export interface ComposeStackOptions {
  workspace: Workspace;
  /** The compose file to drill; the project gets a copy. */
  composeFile: string;
  /** Values for the project's .env. */
  dotEnv: Record<string, string>;
  reason: string;
  binaries?: PgBinaries;
  /** Start the db service (healthy) before returning; the drill's own `up -d db` then finds it running. */
  startDb?: boolean;
  lock?: Omit<ComposeLockOptions, 'onWait'>;
  /**
   * The app's own repository, already cloned as the project directory: its docker-compose.yml is used as
   * it is (no copy, no .env written), and what the harness needs here goes in docker-compose.override.yml.
   */
  app?: { checkout: AppCheckout; mounts: readonly string[] };
  /** Told when another compose drill holds the lock. Default: a line on stderr. */
  onWait?: (message: string) => void;
  /** Told of long set-up work (building the app's images). Default: a line on stderr. */
  onStep?: (message: string) => void;
}

/**
 * The real Docker Compose stack: the runbook's `docker …` commands run with the real docker CLI
 * against a project named `nmia` in the drill workspace. Only one compose drill runs at a time, it
 * refuses to start on top of an existing `nmia` project, and its cleanup removes only what it created.
 */
export class ComposeStack implements StartedStack {
  readonly kind: StackKind = 'compose';

  private constructor(
    readonly workspace: Workspace,
    readonly binaries: PgBinaries,
    readonly reason: string,
    private readonly env: Record<string, string>,
    private readonly cli: DockerCli,
    private readonly engine: DockerVersions,
    private readonly cleanup: CleanupHandle,
    private readonly guardDir: string,
    /** With an app repository: what the harness added to its compose file, and whose client binaries it uses. */
    readonly appSetup?: AppStackSetup,
  ) {}

  /**
   * The override next to the app's compose file: image stand-ins only for what the engine lacks, no pulls,
   * loopback ports, drill labels (src/app/compose-override.ts). Compose reads it whenever no -f is given.
   */
  private static async writeOverride(cli: DockerCli, checkout: AppCheckout, drillId: string): Promise<ComposeOverride> {
    const file = ComposeProject.locate(checkout.dir, checkout.composeFile, {});
    const present = new Set<string>();
    for (const service of file.services.values()) {
      if (service.image && (await cli.run(['image', 'inspect', '--format', '{{.Id}}', service.image])).exitCode === 0)
        present.add(service.image);
    }
    const override = composeOverride(checkout.composeFile, {
      drillId,
      imageExists: (image) => present.has(image),
      substitutes: IMAGE_SUBSTITUTES,
    });
    await writeFile(join(checkout.dir, OVERRIDE_FILE), override.yaml);
    return override;
  }

  /**
   * The harness's own pg_dump, pg_restore and psql: the host's when they are as new as the db image's
   * PostgreSQL, else the db image's own (pg_dump refuses a newer server), recorded as a substitution.
   */
  private static async clientsFor(
    cli: DockerCli,
    project: ComposeProject,
    host: PgBinaries,
    workspace: Workspace,
    mounts: readonly string[],
    path: string,
  ): Promise<DbImageClients | undefined> {
    const image = project.service('db')?.image;
    if (!image) return undefined;
    const inImage = await cli.run(['run', '--rm', '--entrypoint', 'sh', image, '-c', 'ls /usr/lib/postgresql | sort -n | tail -n 1']);
    const imageMajor = Number.parseInt(inImage.stdout.trim(), 10);
    if (inImage.exitCode !== 0 || !Number.isFinite(imageMajor) || imageMajor <= majorOf(binaryVersion(host, 'pg_dump'))) return undefined;
    return startDbImageClients(cli, {
      image,
      drillId: workspace.drillId,
      binDir: join(workspace.harnessDir, 'db-image-clients', 'bin'),
      mounts: [workspace.root, ...mounts],
      docker: realDocker(path),
    });
  }

  static async create(options: ComposeStackOptions): Promise<ComposeStack> {
    const { workspace } = options;
    const binaries = options.binaries ?? findPgBinaries({ needServer: false });
    const ports = Object.fromEntries(
      await Promise.all(PUBLISHED_PORT_VARIABLES.map(async (name) => [name, String(await freePort())] as const)),
    );
    const env: Record<string, string> = {
      PATH: process.env.PATH ?? '/usr/local/bin:/usr/bin:/bin',
      HOME: process.env.HOME ?? '/root',
      LANG: 'C.UTF-8',
      TZ: process.env.TZ ?? 'UTC',
      ...dockerClientEnv(),
      NMIA_DRILL_REPO: REPO_ROOT.replace(/\/$/, ''),
      NMIA_DRILL_ID: workspace.drillId,
      // No registry: a missing image must fail at once, not after a pull attempt.
      NMIA_PULL_POLICY: 'never',
      // Also in .env; exported too because the DR checklist rewrites .env with only its two lines.
      ...ports,
    };
    const cli = new DockerCli(env, workspace.root);
    const override = options.app ? await ComposeStack.writeOverride(cli, options.app.checkout, workspace.drillId) : undefined;
    if (!options.app) {
      await copyFile(options.composeFile, join(workspace.projectDir, 'docker-compose.yml'));
      const dotEnv = { ...options.dotEnv, ...ports };
      await writeFile(
        join(workspace.projectDir, '.env'),
        Object.entries(dotEnv)
          .map(([key, value]) => `${key}=${value}\n`)
          .join(''),
        { mode: 0o600 },
      );
    }
    const project = ComposeProject.locate(workspace.projectDir, undefined, env);
    const preflight = new DockerPreflight(cli);
    const engine = { ...(await preflight.engine()), compose: await preflight.composeV2() };
    const stderrLine = (message: string) => process.stderr.write(`nmia-drill: ${message}\n`);
    const build = options.app ? await new AppImageBuild(cli, options.onStep ?? stderrLine).ensure(project) : undefined;
    await preflight.images([...new Set([...[...project.services.values()].map((service) => service.image), ...BLOCK_IMAGES])]);

    const onWait = options.onWait ?? stderrLine;
    const lock = await ComposeLock.acquire(workspace.drillId, { ...options.lock, onWait });
    const resources = new DrillResources(cli, COMPOSE_PROJECT, workspace.drillId, [
      ...new Set([...GUARDED_VOLUMES, ...project.volumes.map((volume) => project.volumeName(volume))]),
    ]);
    try {
      if (project.name !== COMPOSE_PROJECT) throw new Error(`the compose project would be "${project.name}", not "${COMPOSE_PROJECT}"`);
      await resources.refuseForeign();
      await resources.snapshot();
      await ComposeStack.installGuard(workspace, {
        drillId: workspace.drillId,
        realDocker: realDocker(env.PATH!),
        project: COMPOSE_PROJECT,
        volumesAtStart: [...resources.volumesAtStart],
      });
    } catch (error) {
      await lock.unlock();
      throw error;
    }
    const cleanup = cleanupRegistry.register(
      `compose stack ${workspace.root}`,
      () => ComposeStack.teardown(resources, lock, workspace),
      () => {
        resources.teardownSync();
        workspace.removeSync();
        lock.unlockSync();
      },
    );
    let clients: DbImageClients | undefined;
    try {
      clients = options.app ? await ComposeStack.clientsFor(cli, project, binaries, workspace, options.app.mounts, env.PATH!) : undefined;
    } catch (error) {
      await cleanup.run().catch(() => undefined);
      throw error;
    }
    const stack = new ComposeStack(
      workspace,
      clients?.binaries ?? binaries,
      options.reason,
      env,
      cli,
      engine,
      cleanup,
      join(workspace.harnessDir, 'guard'),
      override
        ? {
            additions: override.additions,
            overrideYaml: override.yaml,
            ...(build?.applicable ? { imageBuild: build.action } : {}),
            ...(clients
              ? { clients: { image: clients.image, version: clients.version, replaced: binaryVersion(binaries, 'pg_dump') } }
              : {}),
          }
        : undefined,
    );
    if (options.startDb ?? true) {
      try {
        await stack.startDb();
      } catch (error) {
        await cleanup.run().catch(() => undefined);
        throw error;
      }
    }
    return stack;
  }

  /**
   * The first `up` of the db through testcontainers, which waits for the image's health check: a
   * broken image or entrypoint fails here with the container's state instead of deep in a procedure.
   */
  private async startDb(): Promise<void> {
    // Loaded here, not at the top: testcontainers costs every CLI start about a second, and most never need it.
    const { DockerComposeEnvironment, Wait } = await import('testcontainers');
    try {
      // With an app repository the override is named too: testcontainers passes -f, which turns off Compose's own reading of it.
      await new DockerComposeEnvironment(
        this.workspace.projectDir,
        this.appSetup ? ['docker-compose.yml', OVERRIDE_FILE] : 'docker-compose.yml',
      )
        .withProjectName(COMPOSE_PROJECT)
        .withEnvironment(this.env)
        // testcontainers names compose containers without the project prefix: nmia-db-1 → db-1.
        .withWaitStrategy('db-1', Wait.forHealthCheck())
        .withStartupTimeout(90_000)
        .up(['db']);
    } catch (error) {
      const logs = await this.cli.run(['compose', '-p', COMPOSE_PROJECT, 'logs', '--no-color', '--tail', '5', 'db'], {
        cwd: this.workspace.projectDir,
      });
      const ryuk = /ryuk/i.test((error as Error).message)
        ? ' (testcontainers wants its Ryuk image: set TESTCONTAINERS_RYUK_DISABLED=true, the drill removes its own containers)'
        : '';
      throw new EnvironmentError(`the db service did not start healthy: ${lastLine((error as Error).message)}${ryuk}`, {
        fix: `read the db container's log (last lines: ${lastLine(logs.stdout) || 'none'}); rebuild the images with .ci/provision-docker.sh if the image is broken`,
        cause: error,
      });
    }
  }

  /** The blocks' `docker` is the ownership guard in front of the real CLI (src/safety/docker-guard-main.ts). */
  blockEnv(): Record<string, string> {
    return {
      ...this.env,
      PATH: `${join(this.guardDir, 'bin')}${delimiter}${this.env.PATH}`,
      NMIA_DRILL_GUARD: join(this.guardDir, 'guard.json'),
    };
  }

  /** Bundles the guard and writes what it needs to know; the harness's own docker calls bypass it. */
  private static async installGuard(workspace: Workspace, config: ComposeGuardConfig): Promise<void> {
    const dir = join(workspace.harnessDir, 'guard');
    await mkdir(join(dir, 'bin'), { recursive: true });
    await writeFile(join(dir, 'guard.json'), `${JSON.stringify(config)}\n`);
    const bundle = join(dir, 'docker-guard.mjs');
    await bundleDockerGuard(bundle);
    await writeFile(
      join(dir, 'bin', 'docker'),
      `#!/bin/sh\n# nmia-drill ownership guard: see src/safety/docker-guard-main.ts\nexec "${process.execPath}" "${bundle}" "$@"\n`,
      { mode: 0o755 },
    );
  }

  project(): ComposeProject {
    return ComposeProject.locate(this.workspace.projectDir, undefined, this.env);
  }

  /** Resolved at each call: a recreated or restarted container gets a new published port. */
  dbClientConfig(database = 'nmia'): pg.ClientConfig {
    const { host, port } = this.publishedPort('db', 5432);
    return { host, port, user: 'nmia', password: DB_PASSWORD, database };
  }

  serviceUrl(service: string, containerPort: number, scheme = 'http'): string {
    const { host, port } = this.publishedPort(service, containerPort);
    return `${scheme}://${host}:${port}`;
  }

  async docker(args: string[], options: { cwd?: string } = {}): Promise<DockerResult> {
    return this.cli.run(args, { cwd: options.cwd ?? this.workspace.projectDir });
  }

  async versions(): Promise<Record<string, string>> {
    const versions: Record<string, string> = {
      stack: `compose (Docker Engine ${this.engine.engine}, Compose ${this.engine.compose})`,
      docker: this.engine.engine,
      compose: this.engine.compose,
      storageDriver: this.engine.storageDriver,
    };
    const image = await this.cli.run(['image', 'inspect', '--format', '{{.Id}}', this.project().service('db')?.image ?? 'postgres:15']);
    if (image.exitCode === 0) versions.postgresImage = `${this.project().service('db')?.image ?? ''} ${image.stdout.trim().slice(7, 19)}`;
    try {
      const client = new pg.Client({ ...this.dbClientConfig('postgres'), connectionTimeoutMillis: 5_000 });
      await client.connect();
      try {
        versions.postgres = (await client.query<{ v: string }>("SELECT current_setting('server_version') AS v")).rows[0]!.v;
      } finally {
        await client.end();
      }
    } catch {
      versions.postgres = 'unknown (db not running)';
    }
    for (const binary of ['pg_dump', 'pg_restore', 'psql']) versions[`${binary} (harness)`] = binaryVersion(this.binaries, binary);
    return versions;
  }

  async stop(): Promise<void> {
    await this.cleanup.run();
  }

  private publishedPort(service: string, containerPort: number): { host: string; port: number } {
    // By project name, so it also works while the project directory is gone (the DR checklist deletes it).
    const result = this.cli.runSync(['compose', '-p', COMPOSE_PROJECT, 'port', service, String(containerPort)], {
      cwd: this.workspace.root,
      timeoutMs: 15_000,
    });
    const match = /^(.*):(\d+)$/.exec(result.stdout.trim().split('\n')[0] ?? '');
    if (result.exitCode !== 0 || !match) {
      const state = this.cli.runSync(
        [
          'ps',
          '-a',
          '--filter',
          `label=com.docker.compose.project=${COMPOSE_PROJECT}`,
          '--filter',
          `label=com.docker.compose.service=${service}`,
          '--format',
          '{{.Status}}',
        ],
        { timeoutMs: 15_000 },
      );
      throw new Error(
        `service ${service} publishes no port ${containerPort} (is it running?): ${lastLine(result.stderr) || result.stdout.trim() || `exit ${result.exitCode}`}; container: ${state.stdout.trim() || 'none'}`,
      );
    }
    const host = match[1] === '0.0.0.0' || match[1] === '[::]' || match[1] === '::' ? '127.0.0.1' : match[1]!;
    return { host, port: Number(match[2]) };
  }

  private static async teardown(resources: DrillResources, lock: ComposeLock, workspace: Workspace): Promise<void> {
    try {
      await resources.teardown();
    } finally {
      try {
        await workspace.remove();
      } finally {
        await lock.unlock();
      }
    }
  }
}

/** The docker executable the PATH resolves to (the guard calls it by absolute path, never itself). */
function realDocker(path: string): string {
  for (const dir of path.split(delimiter).filter(Boolean)) {
    const candidate = join(dir, 'docker');
    try {
      accessSync(candidate, constants.X_OK);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new EnvironmentError('the docker CLI is not on PATH', {
    fix: 'install the Docker CLI (see .ci/provision-docker.sh) or put it on PATH',
  });
}
