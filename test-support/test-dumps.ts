/**
 * For verify-backup's tests: a seeded NMIA database and dumps of it made by plain pg_dump, as a user
 * would make them outside the harness, plus dumps of databases with known defects.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { applySchema } from '../nmia/schema/nmia-schema.ts';
import { seedDatabase } from '../nmia/seed/seed-database.ts';
import type { Journal, Rung } from '../src/evidence/journal.ts';
import { LocalPostgresProvider } from '../src/postgres/local-postgres-provider.ts';
import type { StartedLocalPostgres } from '../src/postgres/started-local-postgres.ts';
import { takeManifest, type Manifest } from '../src/verify/manifest.ts';

export const TEST_SEED = 42;
export const TEST_SCALE = 300;

export interface TestDumps {
  dir: string;
  reports: string;
  source: StartedLocalPostgres;
  /** The manifest of the seeded database the custom and plain dumps were made from. */
  sourceManifest: Manifest;
  custom: string;
  plain: string;
  /** identities.linked_system and table audit_logs dropped, and a grant to a role a fresh cluster does not have. */
  altered?: string;
  /** Restores cleanly, but: every FK NOT VALID with orphans behind it, connector_instances empty. */
  defective?: string;
  /** The app's tables plus a schema the app does not have (an older drill's nmia_drill, with rows in it). */
  extraSchema?: string;
  stop(): Promise<void>;
}

export async function makeTestDumps(options: { altered?: boolean; defective?: boolean; extraSchema?: boolean } = {}): Promise<TestDumps> {
  const dir = await mkdtemp(join(tmpdir(), 'nmia-verify-backup-test-'));
  const source = await new LocalPostgresProvider().start();
  const stop = async () => {
    await source.stop();
    await rm(dir, { recursive: true, force: true });
  };
  try {
    const seeded = async (database: string) => {
      await source.createDatabase(database);
      const client = await source.connect(database);
      try {
        await applySchema(client);
        await seedDatabase(client, { seed: TEST_SEED, scale: TEST_SCALE });
      } finally {
        await client.end();
      }
    };
    const pgDump = async (database: string, file: string, format: 'custom' | 'plain') => {
      await execa(source.binaries.path('pg_dump'), [format === 'custom' ? '-Fc' : '--format=plain', '-d', database, '-f', file], {
        env: source.env(database),
      });
      return file;
    };
    await seeded('nmia');
    const client = await source.connect('nmia');
    let sourceManifest: Manifest;
    try {
      sourceManifest = await takeManifest(client);
    } finally {
      await client.end();
    }
    const dumps: TestDumps = {
      dir,
      reports: join(dir, 'reports'),
      source,
      sourceManifest,
      custom: await pgDump('nmia', join(dir, 'nmia_backup_20250201_020000.dump'), 'custom'),
      plain: await pgDump('nmia', join(dir, 'nmia_backup_20250201_020000.sql'), 'plain'),
      stop,
    };
    if (options.altered) {
      await seeded('nmia_altered');
      await source.query('ALTER TABLE identities DROP COLUMN linked_system; DROP TABLE audit_logs', [], 'nmia_altered');
      // A role the fresh cluster does not have: the restore only works because verify-backup creates it.
      await source.query('CREATE ROLE nmia_reporting NOLOGIN; GRANT SELECT ON identities TO nmia_reporting', [], 'nmia_altered');
      dumps.altered = await pgDump('nmia_altered', join(dir, 'altered.dump'), 'custom');
    }
    if (options.defective) {
      // Defects a restore carries over silently: NOT VALID foreign keys let orphans restore.
      await seeded('nmia_defective');
      await source.query(
        `DO $$ DECLARE r record; BEGIN
           FOR r IN SELECT conrelid::regclass AS tbl, conname, pg_get_constraintdef(oid) AS def FROM pg_constraint WHERE contype = 'f' AND connamespace = 'public'::regnamespace LOOP
             EXECUTE format('ALTER TABLE %s DROP CONSTRAINT %I', r.tbl, r.conname);
             EXECUTE format('ALTER TABLE %s ADD CONSTRAINT %I %s NOT VALID', r.tbl, r.conname, r.def);
           END LOOP;
         END $$;
         SET session_replication_role = replica;
         DELETE FROM connector_instances;
         RESET session_replication_role;`,
        [],
        'nmia_defective',
      );
      dumps.defective = await pgDump('nmia_defective', join(dir, 'defective.dump'), 'custom');
    }
    if (options.extraSchema) {
      await seeded('nmia_extra_schema');
      await source.query(
        `CREATE SCHEMA nmia_drill;
         CREATE TABLE nmia_drill.sentinels (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, written_at timestamptz NOT NULL DEFAULT now());
         INSERT INTO nmia_drill.sentinels DEFAULT VALUES;`,
        [],
        'nmia_extra_schema',
      );
      dumps.extraSchema = await pgDump('nmia_extra_schema', join(dir, 'extra-schema.dump'), 'custom');
    }
    return dumps;
  } catch (error) {
    await stop();
    throw error;
  }
}

/** The verify-backup record's rungs as `rung: check — summary` lines, optionally of one outcome. */
export function rungLines(journal: Journal, outcome?: Rung['outcome']): string[] {
  return journal.procedures[0]!.rungs.filter((rung) => !outcome || rung.outcome === outcome).map(
    (rung) => `${rung.rung}: ${rung.check} — ${rung.summary}`,
  );
}
