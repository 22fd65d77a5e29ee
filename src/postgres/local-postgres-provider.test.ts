import { existsSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { findPgBinaries } from './pg-binaries.ts';
import { LocalPostgresProvider } from './local-postgres-provider.ts';
import type { StartedLocalPostgres } from './started-local-postgres.ts';

describe('LocalPostgresProvider', () => {
  let server: StartedLocalPostgres;
  beforeAll(async () => {
    server = await new LocalPostgresProvider().start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('serves queries as the nmia superuser on a private socket', async () => {
    const [row] = await server.query<{ user: string; version: string }>('select current_user as user, current_setting($1) as version', [
      'server_version_num',
    ]);
    expect(row?.user).toBe('nmia');
    expect(Number(row?.version)).toBeGreaterThanOrEqual(130000);
  });

  it('works with the real client binaries through env()', async () => {
    await server.createDatabase('probe');
    const { stdout } = await execa(server.binaries.path('psql'), ['-At', '-c', 'select current_database()'], { env: server.env('probe') });
    expect(stdout.trim()).toBe('probe');
    await server.dropDatabase('probe');
  });

  it('removes its data directory on stop and tolerates a second stop', async () => {
    const other = await new LocalPostgresProvider().start();
    const dir = other.rootDir;
    expect(existsSync(dir)).toBe(true);
    await other.stop();
    await other.stop();
    expect(existsSync(dir)).toBe(false);
  });
});

describe('findPgBinaries', () => {
  it('honours PG_BINDIR and refuses one that lacks the binaries with a fix', () => {
    expect(() => findPgBinaries({ env: { PG_BINDIR: '/nonexistent', PATH: '' } })).toThrow(/PG_BINDIR=\/nonexistent lacks initdb/);
  });

  it('gives a one-line cause and fix when nothing is found', () => {
    const search = { env: { PATH: '/nonexistent' }, debianRoot: '/nonexistent', usePgConfig: false };
    expect(() => findPgBinaries(search)).toThrow(/PostgreSQL binaries not found/);
  });

  it('finds the Debian layout without PATH', () => {
    expect(findPgBinaries({ env: { PATH: '' }, usePgConfig: false }).source).toBe('/usr/lib/postgresql');
  });
});
