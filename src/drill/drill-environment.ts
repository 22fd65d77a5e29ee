import { existsSync } from 'node:fs';
import { writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { extendOverride, OVERRIDE_FILE } from '../app/compose-override.ts';
import { composeDatabaseUrl, directoryServiceAdditions } from '../app/directory-service.ts';
import { REPO_ROOT } from '../repo-root.ts';
import { connectPg } from '../postgres/pg-connect.ts';
import { assertClientsFitServerAt } from './client-version-guard.ts';
import { markStatement } from '../safety/ownership-marker.ts';
import { applySchema, CORE_TABLES as NMIA_CORE_TABLES } from '../../nmia/schema/nmia-schema.ts';
import { seedDatabase, type SeedSummary } from '../../nmia/seed/seed-database.ts';
import { takeManifest, type Manifest } from '../verify/manifest.ts';
import type { StartedStack } from '../stacks/stack.ts';
import type { DrillReporter } from './drill-reporter.ts';
import type { EnvironmentState } from './drill-state.ts';
import { lastLines } from '../exec/error-lines.ts';
import { DrillError } from '../errors/drill-error.ts';
import { HarnessUnavailableError } from '../errors/harness-unavailable-error.ts';
import type { HarnessAction } from '../evidence/journal.ts';
import { createAllCommand, createdTables } from '../app/app-schema.ts';

export interface EnvironmentOptions {
  seed: number;
  scale: number;
  /** The seeded admin (its login is the app's, as are the recovery's RPO writes). */
  admin: { username: string; password: string };
  reporter?: DrillReporter;
  /**
   * An app repository instead of the reference app: its schema comes from its own create_all inside its
   * api image (recorded through onHarnessAction), the reference seeding and the sentinel writer do not apply.
   */
  app?: { kind: 'repository'; onHarnessAction: (action: HarnessAction) => void };
}

/**
 * Polls an HTTP endpoint until it answers 200: readiness, never a fixed sleep. `signal` stops the wait
 * early (e.g. the service it waits for has exited: no point waiting out the bound); its reason is reported.
 */
export async function waitForHttp(url: string, timeoutMs: number, signal?: AbortSignal): Promise<void> {
  const started = Date.now();
  const deadline = started + timeoutMs;
  let last = 'no answer';
  while (Date.now() < deadline) {
    if (signal?.aborted)
      throw new Error(
        `${url} did not answer 200 (stopped waiting after ${((Date.now() - started) / 1000).toFixed(1)}s: ${String(signal.reason)}; last: ${last})`,
      );
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
      if (response.status === 200) return;
      last = `HTTP ${response.status}`;
    } catch (error) {
      last = (error as Error).message;
    }
    await new Promise((resolve) => setTimeout(resolve, 150));
  }
  throw new Error(`${url} did not answer 200 within ${timeoutMs / 1000}s (last: ${last})`);
}

/** Tables whose content the application never changes by itself: the health of an environment. */
const QUALIFIED_CORE_TABLES = NMIA_CORE_TABLES.map((table) => `public.${table}`);

/** Polls until the db service accepts connections: readiness, never a fixed sleep. */
export async function waitForDatabase(stack: StartedStack, database = 'nmia', timeoutMs = 60_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      const client = await connectPg({ ...stack.dbClientConfig(database), connectionTimeoutMillis: 2_000 });
      await client.end();
      return;
    } catch (error) {
      lastError = error;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
  throw new Error(`the db service did not accept connections within ${timeoutMs / 1000}s: ${(lastError as Error)?.message ?? 'unknown'}`);
}

/**
 * One NMIA environment on a stack: the db up and seeded, the app services started, and the
 * baseline manifest taken. Procedures in runbook order share one; a procedure alone gets its own.
 */
export class DrillEnvironment {
  private constructor(
    readonly stack: StartedStack,
    readonly state: EnvironmentState,
    readonly seeding: SeedSummary,
    private readonly options: EnvironmentOptions,
  ) {}

  static async start(stack: StartedStack, options: EnvironmentOptions): Promise<DrillEnvironment> {
    const { seeding, baseline } = await DrillEnvironment.bringUp(stack, options);
    // The app's database holds the app's tables only: a recovery's RPO writes go through the app's own
    // POST /api/v1/enclaves/ (ApiSentinelWriter, started by the recovery), on the reference and the real app alike.
    return new DrillEnvironment(stack, { artifacts: new Map(), baseline }, seeding, options);
  }

  /** Why this environment no longer holds the seeded data (db down, core tables changed), or undefined when healthy. */
  async damage(): Promise<string | undefined> {
    let current: Manifest;
    try {
      current = this.state.stateAfterLastProcedure ?? (await DrillEnvironment.manifestOf(this.stack));
    } catch (error) {
      return `the database is unreachable: ${(error as Error).message}`;
    }
    const changed = QUALIFIED_CORE_TABLES.filter((table) => {
      const before = this.state.baseline.tables[table];
      const now = current.tables[table];
      return !now || !before || now.rows !== before.rows || now.hash !== before.hash;
    });
    return changed.length > 0 ? `core tables differ from the seeded baseline: ${changed.join(', ')}` : undefined;
  }

  /** Removes the project's containers and volumes and seeds again; artifacts on disk stay available. */
  async rebuild(): Promise<void> {
    // A recovery may have replaced the project directory with a fresh clone, without the harness's override.
    const setup = this.stack.appSetup;
    const override = join(this.stack.workspace.projectDir, OVERRIDE_FILE);
    if (setup && existsSync(join(this.stack.workspace.projectDir, 'docker-compose.yml')) && !existsSync(override))
      await writeFile(override, setup.overrideYaml);
    await mustSucceed(this.stack, ['compose', 'down', '-v']);
    const { baseline } = await DrillEnvironment.bringUp(this.stack, this.options);
    this.state.baseline = baseline;
  }

  private static async bringUp(stack: StartedStack, options: EnvironmentOptions): Promise<{ seeding: SeedSummary; baseline: Manifest }> {
    const { reporter } = options;
    reporter?.onStep?.('starting the db service');
    await mustSucceed(stack, ['compose', 'up', '-d', 'db']);
    await harnessWait(
      "the stack's db service",
      'check that PostgreSQL starts on this machine (initdb, pg_ctl in PG_BINDIR) and that nothing else holds its port, then run the drill again',
      () => waitForDatabase(stack),
    );
    // Fail fast (exit 3) when the harness's own pg_dump/pg_restore/psql are older than the db service.
    await assertClientsFitServerAt(stack.binaries, stack.dbClientConfig('postgres'));
    if (options.app) return DrillEnvironment.bringUpApp(stack, options, options.app);
    reporter?.onStep?.(`seeding ${options.scale} identities (seed ${options.seed})`);
    const client = await connectPg(stack.dbClientConfig('nmia'));
    let seeding: SeedSummary;
    try {
      // The db image created it in a volume this drill created: marked as the drill's, so the runbook's dropdb may drop it.
      await client.query(markStatement('nmia', stack.workspace.drillId));
      await applySchema(client);
      seeding = await seedDatabase(client, {
        seed: options.seed,
        scale: options.scale,
        ...(reporter?.onSeedProgress ? { onProgress: (progress) => reporter.onSeedProgress!(progress) } : {}),
      });
    } finally {
      await client.end();
    }
    reporter?.onStep?.('starting the application services');
    await mustSucceed(stack, ['compose', 'up', '-d']);
    // Ready means the api answers: every later step (sentinels, probes, a recovery's login) relies on it.
    await harnessWait(
      "the stack's api service",
      'check that nothing else holds its port and that node starts the reference app here (npm install), then run the drill again',
      () => waitForHttp(`${stack.serviceUrl('api', 8000)}/health`, 60_000),
    );
    return { seeding, baseline: await DrillEnvironment.manifestOf(stack) };
  }

  /** The app repository's way: mark the database as the drill's, create_all in the api image, then start every service. */
  private static async bringUpApp(
    stack: StartedStack,
    options: EnvironmentOptions,
    app: NonNullable<EnvironmentOptions['app']>,
  ): Promise<{ seeding: SeedSummary; baseline: Manifest }> {
    const client = await connectPg(stack.dbClientConfig('nmia'));
    try {
      await client.query(markStatement('nmia', stack.workspace.drillId));
    } finally {
      await client.end();
    }
    options.reporter?.onStep?.("creating the app's schema (create_all in its api image)");
    const result = await stack.docker(createAllCommand());
    const tables = createdTables(result.stdout);
    app.onHarnessAction({
      purpose: "schema: the app's own Base.metadata.create_all, run in its api image (the app has no migrations)",
      command: `docker compose run --rm --no-deps -T api python -c '<create_all>'`,
      exitCode: result.exitCode,
      durationMs: result.durationMs,
      detail: result.exitCode === 0 ? `tables: ${tables.join(', ')}` : lastLines(result.stderr, 3, ' | '),
    });
    if (result.exitCode !== 0)
      throw new Error(`create_all in the api image failed (exit ${result.exitCode}): ${lastLines(result.stderr, 3, ' | ')}`);
    // Seeded before the api starts: its startup inserts roles and connector types, which the seeder writes itself.
    options.reporter?.onStep?.(`seeding ${options.scale} identities (seed ${options.seed})`);
    const seedClient = await connectPg(stack.dbClientConfig('nmia'));
    let seeding: SeedSummary;
    try {
      seeding = await seedDatabase(seedClient, {
        seed: options.seed,
        scale: options.scale,
        ...(options.reporter?.onSeedProgress ? { onProgress: (progress) => options.reporter!.onSeedProgress!(progress) } : {}),
      });
    } finally {
      await seedClient.end();
    }
    await DrillEnvironment.addDirectory(stack, app);
    options.reporter?.onStep?.('starting the application services');
    await mustSucceed(stack, ['compose', 'up', '-d']);
    await waitForHttp(`${stack.serviceUrl('api', 8000)}/health`, 90_000);
    return { seeding, baseline: await DrillEnvironment.manifestOf(stack) };
  }

  /**
   * The directory the seeded connectors scan, added to the override once their servers are known (after seeding):
   * every ad_ldap connector's `server` resolves to it inside the compose network. Recorded with the other additions.
   */
  private static async addDirectory(stack: StartedStack, app: NonNullable<EnvironmentOptions['app']>): Promise<void> {
    const setup = stack.appSetup;
    if (!setup) return;
    const client = await connectPg(stack.dbClientConfig('nmia'));
    let servers: string[];
    try {
      const { rows } = await client.query<{ server: string }>(
        `SELECT DISTINCT c.config::jsonb->>'server' AS server FROM connector_instances c
           JOIN connector_types t ON t.id = c.connector_type_id
          WHERE t.code = 'ad_ldap' AND c.config::jsonb->>'server' IS NOT NULL ORDER BY 1`,
      );
      servers = rows.map((row) => row.server);
    } finally {
      await client.end();
    }
    const db = stack.project().service('db');
    const extended = extendOverride(
      { yaml: setup.overrideYaml, additions: setup.additions },
      directoryServiceAdditions({
        drillId: stack.workspace.drillId,
        repoRoot: REPO_ROOT,
        databaseUrl: composeDatabaseUrl(db?.environment ?? {}),
        servers,
      }),
    );
    // In place: the journal's app record holds this very list.
    setup.additions.splice(0, setup.additions.length, ...extended.additions);
    setup.overrideYaml = extended.yaml;
    const started = Date.now();
    await writeFile(join(stack.workspace.projectDir, OVERRIDE_FILE), setup.overrideYaml);
    app.onHarnessAction({
      purpose: `environment: the directory the ad_ldap connectors scan, as ${servers.length} network alias(es) in ${OVERRIDE_FILE}`,
      command: `write ${join(stack.workspace.projectDir, OVERRIDE_FILE)} (services.directory)`,
      exitCode: 0,
      durationMs: Date.now() - started,
      detail: `aliases: ${servers.join(', ')}`,
    });
  }

  static async manifestOf(stack: StartedStack, database = 'nmia'): Promise<Manifest> {
    const client = await connectPg(stack.dbClientConfig(database));
    try {
      return await takeManifest(client);
    } finally {
      await client.end();
    }
  }

  async stop(): Promise<void> {
    await this.state.sentinels?.stop().catch(() => undefined);
    await this.stack.stop();
  }
}

/**
 * A wait of the harness's own (its stack coming up before any runbook block ran): a time-out says nothing about
 * the runbook, so it is a HarnessUnavailableError with a fix (exit 3), not an internal error.
 */
async function harnessWait(part: string, fix: string, wait: () => Promise<void>): Promise<void> {
  try {
    await wait();
  } catch (error) {
    if (error instanceof DrillError) throw error;
    throw new HarnessUnavailableError(part, (error as Error).message, fix, error);
  }
}

async function mustSucceed(stack: StartedStack, args: string[]): Promise<void> {
  const result = await stack.docker(args);
  if (result.exitCode !== 0) throw new Error(`${result.command} failed (exit ${result.exitCode}): ${lastLines(result.stderr, 3, ' | ')}`);
}
