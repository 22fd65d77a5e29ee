import { describe, expect, it } from 'vitest';
import { environmentCause } from './environment-cause.ts';

describe('environmentCause', () => {
  it('names a taken port and a vanished Docker engine, with a fix', () => {
    expect(
      environmentCause('Error response from daemon: driver failed: Bind for 0.0.0.0:5432 failed: port is already allocated'),
    ).toMatchObject({
      cause: expect.stringMatching(/port .* taken/),
      fix: expect.stringMatching(/ss -ltnp/),
    });
    expect(environmentCause('listen EADDRINUSE: address already in use 127.0.0.1:8000')?.cause).toMatch(/port/);
    expect(
      environmentCause('Cannot connect to the Docker daemon at unix:///var/run/docker.sock. Is the docker daemon running?')?.fix,
    ).toMatch(/dockerd/);
  });

  it('leaves runbook errors to the runbook', () => {
    expect(environmentCause('Error response from daemon: remove nmia_pgdata: volume is in use')).toBeUndefined();
    expect(
      environmentCause('pg_restore: error: could not open input file "/tmp/nmia_restore.dump": No such file or directory'),
    ).toBeUndefined();
    expect(environmentCause('nmia-drill: refusing to drop database "postgres"')).toBeUndefined();
  });
});
