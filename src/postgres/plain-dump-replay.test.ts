import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { TEST_SCHEMA_SQL, testSeedSql } from '../../test-support/test-schema.ts';
import { diffManifests } from '../verify/manifest-diff.ts';
import { takeManifest, type Manifest } from '../verify/manifest.ts';
import { LocalPostgresProvider } from './local-postgres-provider.ts';
import { plainDumpLayout, replayPlainDump } from './plain-dump-replay.ts';
import type { StartedLocalPostgres } from './started-local-postgres.ts';

describe('replayPlainDump', () => {
  let server: StartedLocalPostgres;
  let dir: string;
  let dump: string;
  let source: Manifest;
  let databases = 0;

  beforeAll(async () => {
    server = await new LocalPostgresProvider().start();
    dir = await mkdtemp(join(tmpdir(), 'nmia-plain-replay-'));
    await server.createDatabase('src');
    await server.query(TEST_SCHEMA_SQL + testSeedSql(3_000), [], 'src');
    dump = join(dir, 'src.sql');
    await execa(server.binaries.path('pg_dump'), ['--format=plain', '-f', dump], { env: server.env('src') });
    source = await manifestOf('src');
  });

  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  async function manifestOf(database: string): Promise<Manifest> {
    const client = await server.connect(database);
    try {
      return await takeManifest(client);
    } finally {
      await client.end();
    }
  }

  async function replayInto(path: string, jobs: number) {
    const database = `copy_${++databases}`;
    await server.createDatabase(database);
    const result = await replayPlainDump(path, { psql: server.binaries.path('psql'), env: server.env(database), jobs });
    return { database, result };
  }

  it('finds every table’s COPY between pre- and post-data, wherever its chunks happen to cut the file', async () => {
    const layout = (await plainDumpLayout(dump))!;
    const text = await readFile(dump, 'utf8');
    // Every table pg_dump wrote rows for, partitions and other schemas included.
    const tables = await server.query<{ name: string }>(
      "SELECT c.relname AS name FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace WHERE c.relkind = 'r' AND n.nspname NOT IN ('pg_catalog', 'information_schema')",
      [],
      'src',
    );
    expect(layout.data.map((entry) => entry.table).sort()).toEqual(tables.map((table) => table.name).sort());
    for (const entry of layout.data) {
      expect(text.slice(entry.start, entry.end)).toMatch(/^--\n-- Data for Name: \w+; Type: TABLE DATA;[\s\S]*\nCOPY [\s\S]*\n\\\.\n$/);
    }
    expect(text.slice(0, layout.preamble.end)).toMatch(/^--\n-- PostgreSQL database dump\n[\s\S]*SET row_security = off;\n\n$/);
    expect(layout.postData.end).toBe((await stat(dump)).size);
    // Markers straddling a read boundary are found all the same.
    for (const chunkBytes of [61, 4096, 65_536]) expect(await plainDumpLayout(dump, chunkBytes), `${chunkBytes}`).toEqual(layout);
  });

  it('loads the data several sessions at a time into an identical database', async () => {
    const { database, result } = await replayInto(dump, 2);
    expect(result).toMatchObject({ exitCode: 0, mode: 'parallel', jobs: 2 });
    expect(diffManifests(source, await manifestOf(database))).toEqual([]);
  });

  it('fails on a failing statement in one table’s data, as the one-session replay does', async () => {
    const broken = join(dir, 'broken.sql');
    const text = await readFile(dump, 'utf8');
    // A row of the second table's COPY with one column too many.
    const copy = text.indexOf('\n', text.indexOf('COPY public.assets '));
    await writeFile(broken, `${text.slice(0, copy + 1)}1\t2\t3\n${text.slice(copy + 1)}`);
    const parallel = await replayInto(broken, 2);
    expect(parallel.result).toMatchObject({ mode: 'parallel' });
    expect(parallel.result.exitCode).not.toBe(0);
    expect(parallel.result.stderr).toMatch(/ERROR: /);
    const serial = await replayInto(broken, 1);
    expect(serial.result).toMatchObject({ mode: 'serial' });
    expect(serial.result.exitCode).not.toBe(0);
  });

  it('replays a file not laid out as pg_dump writes it (cut inside a COPY) in one session', async () => {
    const text = await readFile(dump, 'utf8');
    const cut = join(dir, 'cut.sql');
    await writeFile(cut, text.slice(0, text.indexOf('\n', text.indexOf('COPY public.assets ') + 200)));
    expect(await plainDumpLayout(cut)).toBeUndefined();
    const { result } = await replayInto(cut, 2);
    expect(result.mode).toBe('serial');
  });
});
