import { mkdtemp, rm, stat, truncate } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { applySchema } from '../../nmia/schema/nmia-schema.ts';
import { seedDatabase } from '../../nmia/seed/seed-database.ts';
import { LocalPostgresProvider } from '../postgres/local-postgres-provider.ts';
import type { StartedLocalPostgres } from '../postgres/started-local-postgres.ts';
import { measureParallelRestoreHint, parallelRestoreHintText } from './parallel-restore-hint.ts';

describe('parallelRestoreHintText', () => {
  it('states the saving when parallel restore is measurably faster', () => {
    const { savingPercent, hint } = parallelRestoreHintText(10_000, 6_000, 2);
    expect(savingPercent).toBe(40);
    expect(hint).toMatch(/^parallel restore \(pg_restore -j 2\) would cut restore time by 40% \(pg_restore -j 1: 10\.0 s, -j 2: 6\.0 s/);
    expect(hint).toMatch(/recommendation only; the runbook under drill is unchanged/);
  });

  it('says no lever when the difference is within noise, and says slower when it is slower', () => {
    expect(parallelRestoreHintText(1_000, 980, 4).hint).toMatch(/would not cut restore time measurably.*keep -j 1/);
    const slower = parallelRestoreHintText(1_000, 1_500, 2);
    expect(slower.savingPercent).toBe(-50);
    expect(slower.hint).toMatch(/was 50% slower here/);
  });
});

describe('measureParallelRestoreHint', () => {
  let server: StartedLocalPostgres;
  let dir: string;
  let dump: string;

  const scratchDatabases = async () =>
    (await server.query<{ datname: string }>(`SELECT datname FROM pg_database WHERE datname LIKE 'nmia\\_restore\\_hint\\_%'`)).map(
      (row) => row.datname,
    );

  beforeAll(async () => {
    server = await new LocalPostgresProvider().start();
    dir = await mkdtemp(join(tmpdir(), 'nmia-restore-hint-test-'));
    await server.createDatabase('nmia');
    const client = await server.connect('nmia');
    try {
      await applySchema(client);
      await seedDatabase(client, { seed: 7, scale: 2_000 });
    } finally {
      await client.end();
    }
    dump = join(dir, 'nmia.dump');
    await execa(server.binaries.path('pg_dump'), ['-Fc', '-d', 'nmia', '-f', dump], { env: server.env('nmia') });
  });

  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  it('restores with -j 1 and -j N, reports both times, and drops its scratch databases', async () => {
    const result = await measureParallelRestoreHint({
      pgRestorePath: server.binaries.path('pg_restore'),
      dump,
      env: server.env(),
      jobs: 2,
    });
    expect(result.jobs).toBe(2);
    expect(result.serialMs).toBeGreaterThan(0);
    expect(result.parallelMs).toBeGreaterThan(0);
    expect(result.savingPercent).toBe(parallelRestoreHintText(result.serialMs, result.parallelMs, 2).savingPercent);
    expect(result.hint).toMatch(/pg_restore -j 2/);
    expect(await scratchDatabases()).toEqual([]);
  });

  it("fails with pg_restore's exit code and stderr on a truncated dump, and still drops its scratch databases", async () => {
    const cut = join(dir, 'cut.dump');
    await execa('cp', [dump, cut]);
    await truncate(cut, Math.floor((await stat(cut)).size / 2));
    await expect(
      measureParallelRestoreHint({ pgRestorePath: server.binaries.path('pg_restore'), dump: cut, env: server.env(), jobs: 2 }),
    ).rejects.toThrow(/pg_restore -j 1 .* failed \(exit 1\): .*(could not read|end of file|unexpected)/);
    expect(await scratchDatabases()).toEqual([]);
  });

  it('refuses a plain SQL dump, which pg_restore -j cannot read', async () => {
    const plain = join(dir, 'nmia.sql');
    await execa(server.binaries.path('pg_dump'), ['--format=plain', '-d', 'nmia', '-f', plain], { env: server.env('nmia') });
    await expect(
      measureParallelRestoreHint({ pgRestorePath: server.binaries.path('pg_restore'), dump: plain, env: server.env(), jobs: 2 }),
    ).rejects.toThrow(/text format dump/);
    expect(await scratchDatabases()).toEqual([]);
  });

  it('refuses fewer than two jobs and a missing dump with a fix', async () => {
    await expect(
      measureParallelRestoreHint({ pgRestorePath: server.binaries.path('pg_restore'), dump, env: server.env(), jobs: 1 }),
    ).rejects.toThrow(/jobs must be an integer ≥ 2/);
    await expect(
      measureParallelRestoreHint({
        pgRestorePath: server.binaries.path('pg_restore'),
        dump: join(dir, 'none.dump'),
        env: server.env(),
        jobs: 2,
      }),
    ).rejects.toThrow(/no dump at/);
  });
});
