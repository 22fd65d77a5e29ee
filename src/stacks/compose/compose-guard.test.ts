import { execa } from 'execa';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { connectPg } from '../../postgres/pg-connect.ts';
import { DRILL_LABEL, ownershipMarker } from '../../safety/ownership-marker.ts';
import { Workspace } from '../workspace.ts';
import { announceSkip, dockerAvailability } from '../../docker/docker-availability.ts';
import { DockerCli, dockerClientEnv } from '../../docker/docker-cli.ts';
import { ComposeStack } from './compose-stack.ts';

const COMPOSE_FILE = fileURLToPath(new URL('../../../nmia/reference-app/docker-compose.yml', import.meta.url));
const docker = await dockerAvailability(['postgres:15', 'alpine:latest', 'nmia-drill/node:20']);
const suffix = announceSkip('compose ownership guard', docker);
const cli = new DockerCli({ PATH: process.env.PATH ?? '', ...dockerClientEnv() }, '/');
const FOREIGN = `nmia_drill_test_prod_${process.pid}`;

/** The blocks' `docker` on the compose stack: the guard in front of the real CLI, on a real engine. */
describe.skipIf(!docker.available)(`compose stack: the runbook's docker is the ownership guard${suffix}`, () => {
  let stack: ComposeStack;
  const block = async (...args: string[]) => {
    const result = await execa('docker', args, {
      cwd: stack.workspace.projectDir,
      env: stack.blockEnv(),
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    return { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
  };
  const sql = async (text: string, database = 'postgres') => {
    const client = await connectPg(stack.dbClientConfig(database));
    try {
      return (await client.query(text)).rows as Array<Record<string, unknown>>;
    } finally {
      await client.end();
    }
  };

  beforeAll(async () => {
    // A volume that was on the engine before the drill (it stands for production data).
    await cli.run(['volume', 'create', FOREIGN]);
    stack = await ComposeStack.create({
      workspace: await Workspace.create('guardcompose'),
      composeFile: COMPOSE_FILE,
      dotEnv: { DATABASE_URL: 'postgresql://nmia:nmia@db:5432/nmia', SECRET_KEY: 'x'.repeat(32) },
      reason: 'test',
    });
    await sql('CREATE DATABASE prod_nmia');
    // It waits for the project-wide compose lock, which a compose drill elsewhere in the suite may hold for minutes.
  }, 900_000);
  afterAll(async () => {
    await stack?.stop();
    await cli.run(['volume', 'rm', FOREIGN]);
  }, 120_000);

  it('refuses dropdb of a database without the marker; marks what createdb creates and lets it be dropped', async () => {
    const refused = await block('compose', 'exec', '-T', 'db', 'dropdb', '-U', 'nmia', 'prod_nmia');
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr.trim()).toBe(
      `nmia-drill: refusing to drop database "prod_nmia": it does not carry this drill's ownership marker (${ownershipMarker(stack.workspace.drillId)}); a drill destroys only what it created. Nothing was changed.`,
    );
    expect(await sql(`SELECT 1 AS one FROM pg_database WHERE datname = 'prod_nmia'`)).toEqual([{ one: 1 }]);

    expect((await block('compose', 'exec', '-T', 'db', 'createdb', '-U', 'nmia', 'nmia_restore_test')).exitCode).toBe(0);
    expect(await sql(`SELECT shobj_description(oid, 'pg_database') AS c FROM pg_database WHERE datname = 'nmia_restore_test'`)).toEqual([
      { c: ownershipMarker(stack.workspace.drillId) },
    ]);
    expect((await block('compose', 'exec', '-T', 'db', 'dropdb', '-U', 'nmia', 'nmia_restore_test')).exitCode).toBe(0);
    // nmia: the db image created it in the drill's own (labelled) volume; adopted and dropped.
    expect((await block('compose', 'exec', '-T', 'db', 'dropdb', '-U', 'nmia', 'nmia')).exitCode).toBe(0);
  }, 120_000);

  it('refuses docker volume rm of a volume the drill did not create; a volume docker run creates carries the drill label', async () => {
    const refused = await block('volume', 'rm', FOREIGN);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr.trim()).toBe(
      `nmia-drill: refusing to remove volume "${FOREIGN}": this drill did not create it (no label ${DRILL_LABEL}=${stack.workspace.drillId}); a drill destroys only what it created. Nothing was removed.`,
    );
    expect((await cli.run(['volume', 'inspect', FOREIGN])).exitCode).toBe(0);

    expect((await block('run', '--rm', '-v', 'nmai_pgdata:/data', 'alpine', 'ls', '/data')).exitCode).toBe(0);
    const labels = JSON.parse((await cli.run(['volume', 'inspect', '--format', '{{json .Labels}}', 'nmai_pgdata'])).stdout) as Record<
      string,
      string
    >;
    expect(labels[DRILL_LABEL]).toBe(stack.workspace.drillId);
    expect(await block('volume', 'rm', 'nmai_pgdata')).toMatchObject({ exitCode: 0, stdout: 'nmai_pgdata' });
  }, 120_000);
});
