import { connectPg } from '../postgres/pg-connect.ts';
import { assertClientsFitServerAt } from './client-version-guard.ts';
import { markStatement } from '../safety/ownership-marker.ts';
import { applySchema, CORE_TABLES as NMIA_CORE_TABLES } from '../../nmia/schema/nmia-schema.ts';
import { seedDatabase, type SeedSummary } from '../../nmia/seed/seed-database.ts';
import { takeManifest, type Manifest } from '../verify/manifest.ts';
import { SentinelWriter } from '../probes/sentinel-writer.ts';
import type { StartedStack } from '../stacks/stack.ts';
import type { DrillReporter } from './drill-reporter.ts';
import type { EnvironmentState } from './drill-state.ts';
import { lastLines } from '../exec/error-lines.ts';

export interface EnvironmentOptions {
  seed: number;
  scale: number;
  /** The seeded admin, for the sentinel writer's login. */
  admin: { username: string; password: string };
  reporter?: DrillReporter;
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

/** Tables the application writes by itself (heartbeats, RPO sentinels): compared within bounds, never exactly. */
export const APP_WRITTEN_TABLES = ['public.worker_heartbeats', 'public.sentinels'];

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
    const environment = new DrillEnvironment(stack, { artifacts: new Map(), baseline }, seeding, options);
    try {
      environment.state.sentinels = await SentinelWriter.start({ apiUrl: stack.serviceUrl('api', 8000), admin: options.admin });
    } catch (error) {
      await environment.stop();
      throw error;
    }
    return environment;
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
    await mustSucceed(this.stack, ['compose', 'down', '-v']);
    const { baseline } = await DrillEnvironment.bringUp(this.stack, this.options);
    this.state.baseline = baseline;
  }

  private static async bringUp(stack: StartedStack, options: EnvironmentOptions): Promise<{ seeding: SeedSummary; baseline: Manifest }> {
    const { reporter } = options;
    reporter?.onStep?.('starting the db service');
    await mustSucceed(stack, ['compose', 'up', '-d', 'db']);
    await waitForDatabase(stack);
    // Fail fast (exit 3) when the harness's own pg_dump/pg_restore/psql are older than the db service.
    await assertClientsFitServerAt(stack.binaries, stack.dbClientConfig('postgres'));
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
    await waitForHttp(`${stack.serviceUrl('api', 8000)}/health`, 60_000);
    return { seeding, baseline: await DrillEnvironment.manifestOf(stack) };
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

async function mustSucceed(stack: StartedStack, args: string[]): Promise<void> {
  const result = await stack.docker(args);
  if (result.exitCode !== 0) throw new Error(`${result.command} failed (exit ${result.exitCode}): ${lastLines(result.stderr, 3, ' | ')}`);
}
