import { stat } from 'node:fs/promises';
import { join } from 'node:path';
import { execa } from 'execa';
import type pg from 'pg';
import { canariesFor } from '../nmia/seed/canaries.ts';
import { applySchema } from '../nmia/schema/nmia-schema.ts';
import { NmiaSeedRows } from '../nmia/seed/nmia-seed-rows.ts';
import { SeedPools } from '../nmia/seed/seed-pools.ts';
import { seedDatabase, type SeedSummary } from '../nmia/seed/seed-database.ts';
import type { StartedLocalPostgres } from '../src/postgres/started-local-postgres.ts';
import { takeManifest } from '../src/verify/manifest.ts';
import { loadAverage } from './machine-facts.ts';

export interface TableWidth {
  table: string;
  rows: number;
  /** avg(pg_column_size(row)) of the seeded table, bytes. */
  seededWidth: number;
  /** The same for the generate_series baseline's table. */
  baselineWidth: number;
}

export interface SeedingBenchResult {
  scale: number;
  rows: number;
  seedMs: number;
  /** Where the seeder's time went: statements it sent, by kind; COPY is the remainder. */
  phases: Record<string, number>;
  baselineMs: number;
  /** The seeder's row generators alone, no database: the client's share of the COPY phase. */
  generation: { ms: number; bytes: number };
  /**
   * identities' rows copied server-side into a table with its uuid primary key in place (as the seeder
   * loads them) against into a bare table followed by building the key: what keeping the key costs.
   */
  primaryKey: { loadWithKeyMs: number; loadBareMs: number; buildKeyAfterMs: number };
  widths: TableWidth[];
  loadBefore: number;
  loadAfter: number;
}

export interface VerificationCostResult {
  manifestMs: number[];
  pgDumpMs: number[];
  dumpBytes: number;
  dumpPath: string;
  loadBefore: number;
  loadAfter: number;
}

function phaseOf(sql: string): string {
  const text = sql.trimStart();
  if (/^(CREATE (UNIQUE )?INDEX|ALTER TABLE \S+ ADD CONSTRAINT)/i.test(text)) return 'rebuild deferred indexes';
  if (/^DROP INDEX|^ALTER TABLE \S+ DROP CONSTRAINT/i.test(text)) return 'drop deferred indexes';
  if (/NOT EXISTS \(SELECT 1 FROM/i.test(text)) return 'foreign-key anti-joins';
  if (/^REFRESH MATERIALIZED VIEW/i.test(text)) return 'refresh materialized view';
  if (/^ANALYZE/i.test(text)) return 'analyze';
  if (/^COMMIT/i.test(text)) return 'commit';
  return 'other statements';
}

/** The same client, with every plain statement timed by kind (COPY streams pass through untimed). */
function timingClient(client: pg.Client, phases: Record<string, number>, firstQueryAt: { at?: number }): pg.Client {
  let lastSettled = performance.now();
  return new Proxy(client, {
    get(target, property) {
      const value = Reflect.get(target, property, target) as unknown;
      if (property !== 'query') return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
      return (...args: unknown[]) => {
        const [first] = args;
        firstQueryAt.at ??= performance.now();
        // The seeder hashes its bcrypt passwords and builds its generators between its lookups and BEGIN.
        if (first === 'BEGIN') phases['bcrypt hashes and generator set-up (before BEGIN)'] = performance.now() - lastSettled;
        const result = (target.query as (...inner: unknown[]) => unknown).apply(target, args);
        if (typeof first !== 'string' || !(result instanceof Promise)) return result;
        const started = performance.now();
        const phase = phaseOf(first);
        return result.finally(() => {
          lastSettled = performance.now();
          phases[phase] = (phases[phase] ?? 0) + lastSettled - started;
        });
      };
    },
  });
}

/** Seeds `nmia` on the server (schema applied first, not timed), with the seeder's own timing and a phase breakdown. */
export async function benchSeeding(server: StartedLocalPostgres, options: { scale: number; seed: number }): Promise<SeedingBenchResult> {
  const loadBefore = loadAverage();
  await server.createDatabase('nmia');
  const client = await server.connect('nmia');
  const phases: Record<string, number> = {};
  let summary: SeedSummary;
  try {
    await applySchema(client);
    const first: { at?: number } = {};
    const started = performance.now();
    summary = await seedDatabase(timingClient(client, phases, first), { seed: options.seed, scale: options.scale });
    const timed = Object.values(phases).reduce((sum, ms) => sum + ms, 0);
    const setupMs = (first.at ?? started) - started;
    phases['COPY (row generation + load), by difference'] = summary.durationMs - timed;
    // The seeder's first statement comes after its argument checks; nothing slow happens before it.
    if (setupMs > 1) phases['before the first statement'] = setupMs;
  } finally {
    await client.end();
  }
  const rows = Object.values(summary.rows).reduce((sum, count) => sum + count, 0);
  const widths = await seededWidths(server, summary.rows);
  const baselineMs = await generateSeriesBaseline(server, widths);
  const generation = await generationOnly(options);
  const primaryKey = await primaryKeyCost(server);
  return {
    scale: options.scale,
    rows,
    seedMs: summary.durationMs,
    phases,
    baselineMs,
    generation,
    primaryKey,
    widths,
    loadBefore,
    loadAfter: loadAverage(),
  };
}

/**
 * Runs the seeder's own row generators (nmia/seed/nmia-seed-rows.ts, same seed and scale) and
 * throws the rows away: how long the client alone needs to produce what COPY loads. The bcrypt
 * hashes are stand-ins of the same length; they are computed once, outside the rows.
 */
async function generationOnly(options: { scale: number; seed: number }): Promise<{ ms: number; bytes: number }> {
  const pools = new SeedPools(options.seed);
  const stand = `$2b$10$${'x'.repeat(53)}`;
  const generator = new NmiaSeedRows({
    seed: options.seed,
    scale: options.scale,
    pools,
    adminUsername: 'admin',
    adminPasswordHash: stand,
    sharedPasswordHashes: pools.userPasswords.map(() => stand),
    bindPasswords: canariesFor(options.seed).bindPasswords,
  });
  const started = performance.now();
  let bytes = 0;
  for (const table of generator.tables()) for (const row of table.rows()) bytes += Buffer.byteLength(row);
  return { ms: performance.now() - started, bytes };
}

async function primaryKeyCost(server: StartedLocalPostgres): Promise<SeedingBenchResult['primaryKey']> {
  const client = await server.connect('nmia');
  const timed = async (sql: string) => {
    const started = performance.now();
    await client.query(sql);
    return performance.now() - started;
  };
  try {
    await client.query('SELECT count(*) FROM identities');
    await client.query(
      'CREATE TABLE bench_identities_keyed (LIKE identities INCLUDING DEFAULTS); ALTER TABLE bench_identities_keyed ADD PRIMARY KEY (id)',
    );
    const loadWithKeyMs = await timed('INSERT INTO bench_identities_keyed SELECT * FROM identities');
    const loadBareMs = await timed('CREATE TABLE bench_identities_bare AS SELECT * FROM identities');
    const buildKeyAfterMs = await timed('ALTER TABLE bench_identities_bare ADD PRIMARY KEY (id)');
    return { loadWithKeyMs, loadBareMs, buildKeyAfterMs };
  } finally {
    await client.query('DROP TABLE IF EXISTS bench_identities_keyed, bench_identities_bare').catch(() => undefined);
    await client.end();
  }
}

async function seededWidths(server: StartedLocalPostgres, rows: Record<string, number>): Promise<TableWidth[]> {
  const widths: TableWidth[] = [];
  for (const [table, count] of Object.entries(rows)) {
    if (count === 0) continue;
    const [row] = await server.query<{ width: string }>(`SELECT avg(pg_column_size(t.*))::float8 AS width FROM ${table} t`, [], 'nmia');
    widths.push({ table, rows: count, seededWidth: Number(row?.width), baselineWidth: 0 });
  }
  return widths;
}

/**
 * The server's own upper bound for loading the same rows: per seeded table, as many rows of the
 * same average width (a bigint primary key and padding text), from INSERT … SELECT generate_series,
 * in one transaction as the seeder's load is. No client, no generator, no secondary indexes.
 */
async function generateSeriesBaseline(server: StartedLocalPostgres, widths: TableWidth[]): Promise<number> {
  await server.createDatabase('nmia_gs_baseline');
  const client = await server.connect('nmia_gs_baseline');
  try {
    const [empty] = (await client.query<{ size: number }>(`SELECT pg_column_size(ROW(1::bigint, ''::text)) AS size`)).rows;
    const started = performance.now();
    await client.query('BEGIN');
    for (const [index, width] of widths.entries()) {
      const pad = Math.max(0, Math.round(width.seededWidth - (empty?.size ?? 33)));
      await client.query(`CREATE TABLE gs_${index} (id bigint PRIMARY KEY, pad text)`);
      await client.query(`INSERT INTO gs_${index} SELECT g, repeat('x', ${pad}) FROM generate_series(1, ${width.rows}) g`);
    }
    await client.query('COMMIT');
    const elapsed = performance.now() - started;
    for (const [index, width] of widths.entries()) {
      const [row] = (await client.query<{ width: string }>(`SELECT avg(pg_column_size(t.*))::float8 AS width FROM gs_${index} t`)).rows;
      width.baselineWidth = Number(row?.width);
    }
    return elapsed;
  } finally {
    await client.end();
    await server.dropDatabase('nmia_gs_baseline');
  }
}

/** One full manifest against pg_dump -Fc of the same database, interleaved `rounds` times; keeps the last dump. */
export async function benchVerificationCost(
  server: StartedLocalPostgres,
  options: { rounds: number; dir: string },
): Promise<VerificationCostResult> {
  const loadBefore = loadAverage();
  const manifestMs: number[] = [];
  const pgDumpMs: number[] = [];
  const dumpPath = join(options.dir, 'nmia.dump');
  for (let round = 0; round < options.rounds; round++) {
    const client = await server.connect('nmia');
    try {
      const started = performance.now();
      await takeManifest(client);
      manifestMs.push(performance.now() - started);
    } finally {
      await client.end();
    }
    const started = performance.now();
    await execa(server.binaries.path('pg_dump'), ['-Fc', '-d', 'nmia', '-f', dumpPath], { env: server.env('nmia'), stdin: 'ignore' });
    pgDumpMs.push(performance.now() - started);
  }
  const { size } = await stat(dumpPath);
  return { manifestMs, pgDumpMs, dumpBytes: size, dumpPath, loadBefore, loadAfter: loadAverage() };
}
