import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalPostgresProvider } from '../postgres/local-postgres-provider.ts';
import type { StartedLocalPostgres } from '../postgres/started-local-postgres.ts';
import { checkCorruption } from './corruption-check.ts';

let pg: StartedLocalPostgres;
beforeAll(async () => {
  pg = await new LocalPostgresProvider().start();
}, 60_000);
afterAll(async () => {
  await pg?.stop();
});

describe('checkCorruption (pg_amcheck --heapallindexed)', () => {
  it('passes a consistent database', async () => {
    await pg.createDatabase('healthy');
    await pg.query(
      'CREATE TABLE t (i int PRIMARY KEY, v text); INSERT INTO t SELECT g, md5(g::text) FROM generate_series(1, 500) g; CREATE INDEX t_v ON t (v)',
      [],
      'healthy',
    );
    const verdict = await checkCorruption(pg.binaries, pg.env('healthy'), 'healthy');
    expect(verdict).toMatchObject({ outcome: 'passed', exitCode: 0, problems: [] });
  });

  it('fails an index whose entries no longer match the heap, naming index and tuple', async () => {
    await pg.createDatabase('damaged');
    // An expression index over a function declared IMMUTABLE that then changes: every heap tuple now
    // computes a key the index does not hold — the same damage a collation change or a bad disk leaves.
    await pg.query(
      `CREATE FUNCTION k(int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT $1';
       CREATE TABLE t (i int); INSERT INTO t SELECT generate_series(1, 100); CREATE INDEX t_k ON t (k(i));
       CREATE OR REPLACE FUNCTION k(int) RETURNS int IMMUTABLE LANGUAGE sql AS 'SELECT -$1';`,
      [],
      'damaged',
    );
    const verdict = await checkCorruption(pg.binaries, pg.env('damaged'), 'damaged');
    expect(verdict.outcome).toBe('failed');
    expect(verdict.exitCode).toBe(2);
    expect(verdict.summary).toMatch(
      /btree index "damaged\.public\.t_k": ERROR: {2}heap tuple \(0,1\) from table "t" lacks matching index tuple/,
    );
  });

  it('is an error, not a pass, when pg_amcheck is not there', async () => {
    const verdict = await checkCorruption(
      { ...pg.binaries, binDir: '/nonexistent', path: (binary) => `/nonexistent/${binary}` },
      pg.env('postgres'),
      'postgres',
    );
    expect(verdict).toMatchObject({ outcome: 'error', summary: expect.stringMatching(/pg_amcheck not found in \/nonexistent: install/) });
  });
});
