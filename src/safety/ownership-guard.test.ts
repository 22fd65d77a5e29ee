import { existsSync } from 'node:fs';
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPg } from '../postgres/pg-connect.ts';
import { EmulatedStack } from '../stacks/emulated/emulated-stack.ts';
import { readShimState, writeShimState } from '../stacks/emulated/shim-state.ts';
import { Workspace } from '../stacks/workspace.ts';
import { DRILL_LABEL, ownershipMarker } from './ownership-marker.ts';

const COMPOSE = `services:
  db:
    image: postgres:15
    environment:
      POSTGRES_USER: nmia
      POSTGRES_PASSWORD: nmia
      POSTGRES_DB: nmia
    volumes:
      - pgdata:/var/lib/postgresql/data
volumes:
  pgdata:
`;

/** The runbook's docker commands on the emulated stack, with a database and a volume the drill did not create. */
describe('ownership guard on the emulated stack (real PostgreSQL)', () => {
  let stack: EmulatedStack;
  let scratch: string;
  const docker = (...args: string[]) => stack.docker(args);
  const sql = async (text: string, database = 'postgres') => {
    const client = await connectPg(stack.dbClientConfig(database));
    try {
      return (await client.query(text)).rows as Array<Record<string, unknown>>;
    } finally {
      await client.end();
    }
  };
  const comment = async (database: string) =>
    (await sql(`SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = ${pg.escapeLiteral(database)}`))[0]?.c ??
    'missing';
  const marker = () => ownershipMarker(stack.workspace.drillId);

  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'guard-test-'));
    await writeFile(join(scratch, 'docker-compose.yml'), COMPOSE);
    stack = await EmulatedStack.create({
      workspace: await Workspace.create('guardtest'),
      composeFile: join(scratch, 'docker-compose.yml'),
      dotEnv: {},
      reason: 'test',
    });
    expect((await docker('compose', 'up', '-d', '--wait', 'db')).exitCode).toBe(0);
    // Stands for production data on the same server: the drill never created it.
    await sql('CREATE DATABASE prod_nmia');
    await sql('CREATE TABLE keep (id int); INSERT INTO keep VALUES (1)', 'prod_nmia');
  });
  afterAll(async () => {
    await stack?.stop();
    await rm(scratch, { recursive: true, force: true });
  });

  it('refuses dropdb of a database without the marker, with one clear line, and drops nothing', async () => {
    const result = await docker('compose', 'exec', '-T', 'db', 'dropdb', '-U', 'nmia', 'prod_nmia');
    expect(result.exitCode).toBe(1);
    expect(result.stderr.trim()).toBe(
      `nmia-drill: refusing to drop database "prod_nmia": it does not carry this drill's ownership marker (${marker()}); a drill destroys only what it created. Nothing was changed.`,
    );
    expect(await sql('SELECT count(*)::int AS n FROM keep', 'prod_nmia')).toEqual([{ n: 1 }]);
  });

  it('refuses DROP DATABASE through psql -c, and a database whose comment is not the marker', async () => {
    const dropped = await docker('compose', 'exec', '-T', 'db', 'psql', '-U', 'nmia', '-c', 'DROP DATABASE prod_nmia');
    expect(dropped.exitCode).toBe(1);
    expect(dropped.stderr).toContain('nmia-drill: refusing to drop database "prod_nmia"');
    await sql(`COMMENT ON DATABASE prod_nmia IS 'nmia-drill:someotherdrill'`);
    const other = await docker('compose', 'exec', '-T', 'db', 'dropdb', '-U', 'nmia', 'prod_nmia');
    expect(other.exitCode).toBe(1);
    expect(other.stderr).toContain('its comment is "nmia-drill:someotherdrill", not this drill\'s ownership marker');
    expect(await comment('prod_nmia')).toBe('nmia-drill:someotherdrill');
  });

  it('marks a database the runbook creates, and then lets the runbook drop it', async () => {
    expect((await docker('compose', 'exec', '-T', 'db', 'createdb', '-U', 'nmia', 'nmia_restore_test')).exitCode).toBe(0);
    expect(await comment('nmia_restore_test')).toBe(marker());
    expect(await docker('compose', 'exec', '-T', 'db', 'dropdb', '-U', 'nmia', 'nmia_restore_test')).toMatchObject({
      exitCode: 0,
      stderr: '',
    });
    expect(await comment('nmia_restore_test')).toBe('missing');
  });

  it('a missing database is the command’s own error, not a refusal', async () => {
    const result = await docker('compose', 'exec', '-T', 'db', 'dropdb', '-U', 'nmia', 'no_such_db');
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('database "no_such_db" does not exist');
    expect(result.stderr).not.toContain('refusing');
  });

  it('adopts the image-created POSTGRES_DB of a volume the drill created only while it has no comment', async () => {
    await sql(`COMMENT ON DATABASE nmia IS 'production, do not drop'`);
    expect((await docker('compose', 'exec', '-T', 'db', 'dropdb', '-U', 'nmia', 'nmia')).exitCode).toBe(1);
    await sql('COMMENT ON DATABASE nmia IS NULL');
    expect((await docker('compose', 'exec', '-T', 'db', 'dropdb', '-U', 'nmia', 'nmia')).exitCode).toBe(0);
    expect((await docker('compose', 'exec', '-T', 'db', 'createdb', '-U', 'nmia', 'nmia')).exitCode).toBe(0);
    expect(await comment('nmia')).toBe(marker());
  });

  it('refuses docker volume rm of a volume the drill did not create; its own volumes carry the drill label', async () => {
    // A volume that was on the engine before the drill: recorded without the drill's label.
    const state = readShimState(join(stack.workspace.harnessDir, 'engine'));
    const dir = join(state.root, 'volumes', 'prod_pgdata', '_data');
    await mkdir(dir, { recursive: true });
    await writeFile(join(dir, 'PG_VERSION'), '15\n');
    state.volumes.prod_pgdata = { name: 'prod_pgdata', dir, createdAt: new Date().toISOString(), labels: {} };
    writeShimState(state);
    const refused = await docker('volume', 'rm', 'prod_pgdata', 'nmia_pgdata');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr.trim()).toBe(
      `nmia-drill: refusing to remove volume "prod_pgdata": this drill did not create it (no label ${DRILL_LABEL}=${stack.workspace.drillId}); a drill destroys only what it created. Nothing was removed.`,
    );
    expect(existsSync(join(dir, 'PG_VERSION'))).toBe(true);
    expect((await docker('volume', 'prune', '-f')).stderr).toContain('nmia-drill: refusing to run "docker volume prune -f"');

    expect((await docker('run', '--rm', '-v', 'nmai_pgdata:/data', 'alpine', 'ls', '/data')).exitCode).toBe(0);
    const inspect = JSON.parse((await docker('volume', 'inspect', 'nmai_pgdata', 'nmia_pgdata')).stdout) as Array<{
      Labels: Record<string, string>;
    }>;
    expect(inspect.map((volume) => volume.Labels[DRILL_LABEL])).toEqual([stack.workspace.drillId, stack.workspace.drillId]);
    expect((await docker('volume', 'rm', 'nmai_pgdata')).exitCode).toBe(0);
  });
});
