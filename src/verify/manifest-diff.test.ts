import type pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalPostgresProvider } from '../postgres/local-postgres-provider.ts';
import type { StartedLocalPostgres } from '../postgres/started-local-postgres.ts';
import { diffManifests, sequencesBehind } from './manifest-diff.ts';
import { takeManifest, type Manifest } from './manifest.ts';
import { TEST_ROLE, TEST_SCHEMA_SQL, testSeedSql } from '../../test-support/test-schema.ts';

/** Every test seeds one defect into a fresh copy of the source database and diffs it against the source manifest. */
describe('diffManifests on seeded defects', () => {
  let server: StartedLocalPostgres;
  let source: Manifest;
  let copies = 0;

  const manifestOf = async (database: string): Promise<Manifest> => {
    const client = await server.connect(database);
    try {
      return await takeManifest(client);
    } finally {
      await client.end();
    }
  };

  /** Copies are left for the cluster's teardown: DROP DATABASE forces a checkpoint and would double the cost. */
  const copyOfSource = async (): Promise<string> => {
    const name = `copy_${++copies}`;
    await server.query(`CREATE DATABASE ${name} TEMPLATE src`);
    return name;
  };

  /** Runs `defect` in `database` (triggers off, so only the named value changes) and returns its manifest. */
  const withDefect = async (defect: string, database?: string): Promise<Manifest> => {
    const name = database ?? (await copyOfSource());
    const client = await server.connect(name);
    try {
      await client.query('SET session_replication_role = replica');
      await client.query(defect);
    } finally {
      await client.end();
    }
    return manifestOf(name);
  };

  beforeAll(async () => {
    server = await new LocalPostgresProvider().start();
    await server.createDatabase('src');
    await server.query(TEST_SCHEMA_SQL + testSeedSql(), [], 'src');
    source = await manifestOf('src');
  });

  afterAll(async () => {
    await server?.stop();
  });

  it('finds nothing in an untouched copy', async () => {
    expect(diffManifests(source, await withDefect('SELECT 1'))).toEqual([]);
    expect(sequencesBehind(source)).toEqual([]);
  });

  // Each edit changes one value in one row; several are equal under the type's own hash or
  // equality (jsonb [] vs {}, 1.0 vs 1.00, -0 vs 0, array bounds), which the manifest must still see.
  // They share one copy: after each edit, every row is deleted and re-inserted from a pristine
  // temp table, which also shows the hash ignores physical row order.
  describe('single-value edits', () => {
    let database: string;
    let editor: pg.Client;
    beforeAll(async () => {
      database = await copyOfSource();
      editor = await server.connect(database);
      await editor.query('SET session_replication_role = replica');
      await editor.query('CREATE TEMP TABLE pristine AS SELECT * FROM assets');
    });
    afterAll(async () => {
      await editor?.end();
    });

    const edits: Array<[string, string]> = [
      ['text', `UPDATE assets SET name = 'asset-7 ' WHERE id = 7`],
      ['enum', `UPDATE assets SET kind = 'certificate' WHERE id = 7`],
      ['jsonb nesting', `UPDATE assets SET attributes = '{"weight": 1.0, "nested": {}, "label": "seven"}' WHERE id = 7`],
      ['jsonb {} to []', `UPDATE assets SET attributes = '[]' WHERE id = 9`],
      ['jsonb number scale', `UPDATE assets SET attributes = '{"weight": 1.00, "nested": [], "label": "seven"}' WHERE id = 7`],
      ['bytea NULL to empty', `UPDATE assets SET fingerprint = '' WHERE id = 7`],
      ['bytea one bit', `UPDATE assets SET fingerprint = set_byte(fingerprint, 5, get_byte(fingerprint, 5) # 1) WHERE id = 8`],
      ['array bounds', `UPDATE assets SET tags = '[0:1]={t3,prod}' WHERE id = 7`],
      ['float sign of zero', `UPDATE assets SET ratio = '-0' WHERE id = 7`],
      ['timestamptz by 1 µs', `UPDATE assets SET seen_at = seen_at + interval '1 microsecond' WHERE id = 7`],
      ['interval spelling', `UPDATE assets SET ttl = interval '1 day' WHERE id = 24`],
      ['domain', `UPDATE assets SET port = port + 1 WHERE id = 7`],
      ['swap between rows', `UPDATE assets SET name = CASE id WHEN 7 THEN 'asset-8' ELSE 'asset-7' END WHERE id IN (7, 8)`],
    ];
    it.each(edits)('reports exactly one content-hash difference: %s', async (_label, edit) => {
      await editor.query(edit);
      try {
        expect(diffManifests(source, await manifestOf(database))).toEqual([
          {
            kind: 'content-hash',
            table: 'public.assets',
            expected: source.tables['public.assets']!.hash,
            actual: expect.any(String),
            message: 'assets: content hash differs (200 rows, same count)',
          },
        ]);
      } finally {
        await editor.query('DELETE FROM assets; INSERT INTO assets OVERRIDING SYSTEM VALUE SELECT * FROM pristine ORDER BY id DESC');
      }
      expect(diffManifests(source, await manifestOf(database))).toEqual([]);
    });
  });

  it('reports a deleted and an added row as row counts, naming each table', async () => {
    expect(
      diffManifests(source, await withDefect(`DELETE FROM assets WHERE id = 42; INSERT INTO audit.log (msg) VALUES ('late')`)),
    ).toEqual([
      { kind: 'row-count', table: 'audit.log', expected: 2, actual: 3, message: 'audit.log: 3 rows, expected 2 (1 more)' },
      { kind: 'row-count', table: 'public.assets', expected: 200, actual: 199, message: 'assets: 199 rows, expected 200 (1 fewer)' },
      // The insert also drew a value from the bigserial's sequence.
      {
        kind: 'sequence',
        sequence: 'audit.log_id_seq',
        expected: '2',
        actual: '3',
        message: 'sequence audit.log_id_seq: last_value 3 (called), expected last_value 2 (called)',
      },
    ]);
  });

  it('reports a dropped index as a missing structure object naming it', async () => {
    expect(diffManifests(source, await withDefect('DROP INDEX assets_active_name_idx'))).toEqual([
      {
        kind: 'schema-object-missing',
        object: 'index public.assets_active_name_idx',
        category: 'structure',
        message: 'index public.assets_active_name_idx: missing',
      },
    ]);
  });

  it('points at the changed line of a function body', async () => {
    const changed = await withDefect(`CREATE OR REPLACE FUNCTION touch() RETURNS trigger LANGUAGE plpgsql AS $fn$
BEGIN
  NEW.updated_at := clock_timestamp();
  RETURN NEW;
END;
$fn$`);
    const differences = diffManifests(source, changed);
    expect(differences).toHaveLength(1);
    expect(differences[0]).toMatchObject({ kind: 'schema-object-changed', object: 'function public.touch()', category: 'structure' });
    expect(differences[0]!.message).toMatch(
      /^function public\.touch\(\): changed at line \d+: expected " {2}NEW.updated_at := now\(\);", found " {2}NEW.updated_at := clock_timestamp\(\);"$/,
    );
  });

  it('reports a column change and a lost comment as structure', async () => {
    const differences = diffManifests(
      source,
      await withDefect(`ALTER TABLE owners ALTER COLUMN name DROP NOT NULL; COMMENT ON TABLE assets IS NULL`),
    );
    expect(differences.map((d) => d.message)).toEqual([
      'column public.owners.name: changed: expected "#2 text not null", found "#2 text"',
      'comment table public.assets: missing',
    ]);
  });

  it('reports a revoked grant as a privilege difference only', async () => {
    const differences = diffManifests(source, await withDefect(`REVOKE SELECT ON assets FROM ${TEST_ROLE}`));
    expect(differences).toEqual([
      {
        kind: 'schema-object-missing',
        object: `grant table public.assets to ${TEST_ROLE}`,
        category: 'privilege',
        message: `grant table public.assets to ${TEST_ROLE}: missing (SELECT)`,
      },
    ]);
  });

  it('detects a sequence reset behind its table', async () => {
    // setval is not transactional, so one copy serves every case.
    const database = await copyOfSource();
    const reset = await withDefect(`SELECT setval('assets_id_seq', 150)`, database);
    expect(sequencesBehind(reset)).toEqual([
      {
        kind: 'sequence-behind',
        sequence: 'public.assets_id_seq',
        lastValue: '150',
        maxOwnedValue: '200',
        message:
          'sequence assets_id_seq is behind its table: nextval() would return 151 but max(assets.id) is 200; the next insert collides',
      },
    ]);
    expect(diffManifests(source, reset).map((d) => d.kind)).toEqual(['sequence', 'sequence-behind']);
    expect(diffManifests(source, reset)[0]!.message).toBe(
      'sequence assets_id_seq: last_value 150 (called), expected last_value 200 (called)',
    );

    // The boundary: a sequence whose next value is exactly max + 1 is fine, and is_called matters.
    expect(sequencesBehind(await withDefect(`SELECT setval('assets_id_seq', 200, true)`, database))).toEqual([]);
    expect(sequencesBehind(await withDefect(`SELECT setval('assets_id_seq', 200, false)`, database))).toHaveLength(1);
    expect(
      sequencesBehind(await withDefect(`SELECT setval('assets_id_seq', 201, false), setval('ticket_seq', 100)`, database)).map(
        (d) => d.sequence,
      ),
    ).toEqual(['public.ticket_seq']);
  });

  it('reports a dropped table as missing content, sequence and structure', async () => {
    const differences = diffManifests(source, await withDefect('DROP TABLE tickets'));
    expect(differences[0]).toEqual({ kind: 'table-missing', table: 'public.tickets', message: 'tickets: table missing (expected 3 rows)' });
    expect(differences).toContainEqual(expect.objectContaining({ kind: 'sequence', sequence: 'public.ticket_seq', actual: null }));
    expect(differences).toContainEqual(
      expect.objectContaining({ kind: 'schema-object-missing', object: 'table public.tickets', category: 'structure' }),
    );
    expect(differences).toContainEqual(
      expect.objectContaining({
        kind: 'schema-object-missing',
        object: `grant sequence public.ticket_seq to ${TEST_ROLE}`,
        category: 'privilege',
      }),
    );
  });

  it('reports an unpopulated materialized view', async () => {
    const differences = diffManifests(source, await withDefect('REFRESH MATERIALIZED VIEW asset_counts WITH NO DATA'));
    expect(differences).toHaveLength(1);
    expect(differences[0]!.message).toMatch(
      /^materialized view public\.asset_counts: changed at line \d+: expected "populated", found "not populated"$/,
    );
  });
});
