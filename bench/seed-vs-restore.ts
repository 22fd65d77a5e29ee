/**
 * The seeding anchor (issue 16): seeding time ÷ pg_restore time of a dump of the same seeded database
 * (same rows, same indexes), on one fresh local cluster. `npx tsx bench/seed-vs-restore.ts [scale...]`
 * (default 100000 1000000). Not a test: it prints one line per scale.
 */
import { mkdtemp, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { applySchema } from '../nmia/schema/nmia-schema.ts';
import { seedDatabase } from '../nmia/seed/seed-database.ts';
import { LocalPostgresProvider } from '../src/postgres/local-postgres-provider.ts';

const scales = process.argv.slice(2).map(Number);
const server = await new LocalPostgresProvider().start();
const dir = await mkdtemp(join(tmpdir(), 'nmia-seed-vs-restore-'));
try {
  for (const scale of scales.length > 0 ? scales : [100_000, 1_000_000]) {
    const seeded = `seeded_${scale}`;
    const restored = `restored_${scale}`;
    await server.createDatabase(seeded);
    const client = await server.connect(seeded);
    let seedMs: number;
    let rows: number;
    try {
      await applySchema(client);
      const started = performance.now();
      const summary = await seedDatabase(client, { seed: 42, scale });
      seedMs = performance.now() - started;
      rows = Object.values(summary.rows).reduce((sum, n) => sum + n, 0);
    } finally {
      await client.end();
    }
    const dump = join(dir, `${seeded}.dump`);
    const dumpStarted = performance.now();
    await execa(server.binaries.path('pg_dump'), ['-Fc', '-f', dump, '-d', seeded], { env: server.env(seeded) });
    const dumpMs = performance.now() - dumpStarted;
    await server.createDatabase(restored);
    const restoreStarted = performance.now();
    await execa(server.binaries.path('pg_restore'), ['--exit-on-error', '--no-owner', '-d', restored, dump], { env: server.env(restored) });
    const restoreMs = performance.now() - restoreStarted;
    const bytes = (await stat(dump)).size;
    process.stdout.write(
      `scale ${scale}: ${rows} rows; seed ${(seedMs / 1000).toFixed(1)} s; pg_dump -Fc ${(dumpMs / 1000).toFixed(1)} s (${(bytes / 2 ** 20).toFixed(0)} MiB); pg_restore -j1 ${(restoreMs / 1000).toFixed(1)} s; seed ÷ restore = ${(seedMs / restoreMs).toFixed(2)}\n`,
    );
    await server.query(`DROP DATABASE ${seeded}`);
    await server.query(`DROP DATABASE ${restored}`);
    await rm(dump, { force: true });
  }
} finally {
  await server.stop();
  await rm(dir, { recursive: true, force: true });
}
