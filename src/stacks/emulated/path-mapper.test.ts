import { describe, expect, it } from 'vitest';
import { PathMapper } from './path-mapper.ts';

describe('PathMapper', () => {
  const mapper = new PathMapper('/state/c1/rootfs', [
    { target: '/data', hostPath: '/vols/nmia_pgdata/_data' },
    { target: '/backup', hostPath: '/ws/backups' },
  ]);

  it('maps mounts first, then the private filesystem, in plain and --opt= arguments', () => {
    expect(mapper.mapArgs(['-U', 'nmia', '--file=/tmp/x.dump', '/backup/a.tar.gz', '-C', '/data', '.', 'relative'])).toEqual([
      '-U',
      'nmia',
      '--file=/state/c1/rootfs/tmp/x.dump',
      '/ws/backups/a.tar.gz',
      '-C',
      '/vols/nmia_pgdata/_data',
      '.',
      'relative',
    ]);
    expect(mapper.toHost('/database')).toBe('/state/c1/rootfs/database');
  });

  it('turns host paths in messages back into the container paths an operator typed', () => {
    expect(mapper.toContainerText('could not open "/state/c1/rootfs/tmp/x.dump" or /ws/backups/a')).toBe(
      'could not open "/tmp/x.dump" or /backup/a',
    );
  });
});
