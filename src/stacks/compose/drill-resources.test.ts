import { describe, expect, it } from 'vitest';
import { announceSkip, dockerAvailability } from '../../docker/docker-availability.ts';
import { DockerCli, dockerClientEnv } from '../../docker/docker-cli.ts';
import { DRILL_LABEL, DrillResources, parseContainers, parseVolumes } from './drill-resources.ts';

describe('DrillResources parsing', () => {
  it('reads docker volume ls / docker ps rows with their labels and mounts', () => {
    expect(parseVolumes('nmia_pgdata\tcom.docker.compose.project=nmia,org.nmia-drill.drill=ab12\nnmai_pgdata\t\n')).toEqual([
      { name: 'nmia_pgdata', labels: { 'com.docker.compose.project': 'nmia', 'org.nmia-drill.drill': 'ab12' } },
      { name: 'nmai_pgdata', labels: {} },
    ]);
    expect(parseContainers('abc\tnmia-db-1\tcom.docker.compose.service=db\tnmia_pgdata,/tmp/x\n')).toEqual([
      { id: 'abc', name: 'nmia-db-1', labels: { 'com.docker.compose.service': 'db' }, volumes: ['nmia_pgdata', '/tmp/x'] },
    ]);
  });
});

const docker = await dockerAvailability(['alpine:latest']);
const suffix = announceSkip('DrillResources', docker);

// A private project name: these tests never touch project nmia, so they need no compose lock.
describe.skipIf(!docker.available)(`DrillResources against the engine${suffix}`, () => {
  const cli = new DockerCli({ PATH: process.env.PATH ?? '', ...dockerClientEnv() }, '/');
  const project = `nmiatest${process.pid}`;
  const volumes = async () => (await cli.run(['volume', 'ls', '-q'])).stdout.split('\n').filter(Boolean);

  it('refuses when the project already has containers or a guarded volume exists', async () => {
    const guarded = `${project}_typo`;
    const container = (
      await cli.run(['create', '--label', `com.docker.compose.project=${project}`, 'alpine:latest', 'true'])
    ).stdout.trim();
    await cli.run(['volume', 'create', guarded]);
    try {
      const resources = new DrillResources(cli, project, 'd1', [guarded]);
      await expect(resources.refuseForeign()).rejects.toMatchObject({
        message: expect.stringMatching(new RegExp(`^the Docker engine already has container \\S+, volume ${guarded};`)),
        fix: expect.stringContaining(`docker compose -p ${project} down -v --remove-orphans; docker volume rm ${guarded}`),
      });
    } finally {
      await cli.run(['rm', '-f', '-v', container]);
      await cli.run(['volume', 'rm', guarded]);
    }
    await expect(new DrillResources(cli, project, 'd1', [guarded]).refuseForeign()).resolves.toBeUndefined();
  });

  it('at exit (sync) removes what the drill created and nothing that was there or belongs to others', async () => {
    const drillId = `sync${process.pid}`;
    const existing = `${project}_existing`;
    const created = `${project}_typo`;
    const foreignAnonymous = 'e'.repeat(58) + String(process.pid).padStart(6, '0');
    await cli.run(['volume', 'create', existing]);
    try {
      const resources = new DrillResources(cli, project, drillId, []);
      await resources.snapshot();
      await cli.run(['run', '-d', '--label', `${DRILL_LABEL}=${drillId}`, '-v', `${created}:/data`, 'alpine:latest', 'sleep', '60']);
      await cli.run(['volume', 'create', foreignAnonymous]);
      resources.teardownSync();
      const after = await volumes();
      expect(after).not.toContain(created);
      expect(after).toContain(existing);
      expect(after).toContain(foreignAnonymous);
      expect((await cli.run(['ps', '-aq', '--filter', `label=${DRILL_LABEL}=${drillId}`])).stdout.trim()).toBe('');
    } finally {
      // Whatever the assertions say, the test leaves the engine as it found it.
      await cli.run([
        'rm',
        '-f',
        ...(await cli.run(['ps', '-aq', '--filter', `label=${DRILL_LABEL}=${drillId}`])).stdout.split('\n').filter(Boolean),
      ]);
      await cli.run(['volume', 'rm', existing, foreignAnonymous, created]);
    }
  });
});
