import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { rmSync } from 'node:fs';
import { type AppCheckout, checkOutApp } from '../app/app-checkout.ts';
import { CREATE_ALL_SCRIPT, createdTables } from '../app/app-schema.ts';
import { type AppSource, describeAppSource } from '../app/app-source.ts';
import { ComposeProject, type ComposeService } from '../docker/compose-file/compose-project.ts';
import { DockerCli, dockerClientEnv, lastLine } from '../docker/docker-cli.ts';
import { DockerPreflight } from '../docker/docker-preflight.ts';
import { EnvironmentError } from '../errors/drill-error.ts';
import type { HarnessAction } from '../evidence/journal.ts';
import { type CleanupHandle, cleanupRegistry } from '../lifecycle/cleanup-registry.ts';
import { AppImageBuild } from '../stacks/compose/app-image-build.ts';

type RepositorySource = Extract<AppSource, { kind: 'repository' }>;

/**
 * verify-backup --app: the schema a backup is judged against is the app's own, made the app's way. The
 * real NMIA has no migrations, so that is its models' `Base.metadata.create_all`, run in its api image
 * with its compose file's environment and source mounts (src/app/app-schema.ts), against the reference
 * database verify-backup created. The api image is built from the app's Dockerfiles when the engine lacks it.
 */
export class AppExpectedSchema {
  private constructor(
    readonly source: RepositorySource,
    readonly checkout: AppCheckout,
    private readonly api: ComposeService,
    private readonly cli: DockerCli,
    private readonly cleanup: CleanupHandle,
    /** `docker compose build`, when the api image had to be built. */
    readonly build: HarnessAction | undefined,
  ) {}

  /** Clones the app (removed by remove(), also on Ctrl-C), finds its api service and makes sure its image is there. */
  static async prepare(source: RepositorySource, onStep: (message: string) => void = () => undefined): Promise<AppExpectedSchema> {
    const parent = await mkdtemp(join(tmpdir(), 'nmia-drill-app-schema-'));
    const cleanup = cleanupRegistry.register(
      `app checkout ${parent}`,
      () => rm(parent, { recursive: true, force: true }),
      () => rmSync(parent, { recursive: true, force: true }),
    );
    try {
      onStep(`cloning the app ${describeAppSource(source)}`);
      // Named as the runbook's clone is: Compose names the images it builds after the directory (nmia-api).
      const checkout = await checkOutApp(source, join(parent, 'nmia'));
      const project = ComposeProject.locate(checkout.dir, checkout.composeFile, {});
      const api = project.service('api');
      if (!api)
        throw new EnvironmentError(`${checkout.composeFile} has no api service, whose image holds the app's models`, {
          fix: 'give --app an NMIA repository (its docker-compose.yml runs the api), or judge the backup with --expected-schema <file>',
        });
      const cli = new DockerCli(
        { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...dockerClientEnv() },
        checkout.dir,
      );
      const preflight = new DockerPreflight(cli);
      await preflight.engine();
      await preflight.composeV2();
      const built = await new AppImageBuild(cli, onStep).ensure(project, [api.name]);
      await preflight.images([api.image]);
      return new AppExpectedSchema(source, checkout, api, cli, cleanup, built.applicable ? built.action : undefined);
    } catch (error) {
      await cleanup.run();
      throw error;
    }
  }

  /** How rungs and the journal name the expected schema. */
  get label(): string {
    return `the schema of ${describeAppSource(this.source)} at ${this.checkout.commit.slice(0, 8)} (its create_all, in its api image)`;
  }

  /** The command as recorded: the database URL left out (it may hold the target server's password). */
  get command(): string {
    return `docker run --rm --network host -e DATABASE_URL=<reference database> ${this.api.image} python -c '<create_all>'`;
  }

  /** Runs create_all against `databaseUrl` (reachable from this host); the tables it made. */
  async createIn(databaseUrl: string): Promise<string[]> {
    const environment = { ...this.api.environment, DATABASE_URL: databaseUrl };
    const mounts = this.api.volumes.filter((volume) => volume.kind === 'bind').map((volume) => `${volume.source}:${volume.target}:ro`);
    const result = await this.cli.run(
      [
        'run',
        '--rm',
        ...['--network', 'host'],
        ...Object.entries(environment).flatMap(([key, value]) => ['-e', `${key}=${value}`]),
        ...mounts.flatMap((mount) => ['-v', mount]),
        this.api.image,
        ...['python', '-c', CREATE_ALL_SCRIPT],
      ],
      { timeoutMs: 5 * 60_000 },
    );
    const tables = createdTables(result.stdout);
    if (result.exitCode !== 0 || tables.length === 0)
      throw new EnvironmentError(
        `create_all in ${this.api.image} failed (exit ${result.exitCode}): ${lastLine(result.stderr) || 'no tables made'}`,
        {
          fix: `check that ${this.api.image} is the app's api image at ${this.checkout.commit.slice(0, 8)} (rebuild it: docker compose build api), or judge the backup with --expected-schema <file>`,
        },
      );
    return tables;
  }

  remove(): Promise<void> {
    return this.cleanup.run();
  }
}
