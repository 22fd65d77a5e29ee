import { describe, expect, it } from 'vitest';
import { binaryVersion, findPgBinaries } from '../postgres/pg-binaries.ts';
import { checkClientServerVersions, majorVersion } from './version-check.ts';

// The machine's real client binaries (PostgreSQL 15 here) against server versions as a server reports them.
const binaries = findPgBinaries();
const clientMajor = majorVersion(binaryVersion(binaries, 'pg_dump'));

describe('checkClientServerVersions', () => {
  it('reads majors from version strings and server_version_num', () => {
    expect(majorVersion('15.18')).toBe(15);
    expect(majorVersion('17.2 (Debian 17.2-1.pgdg120+1)')).toBe(17);
    expect(majorVersion('170002')).toBe(17);
    expect(majorVersion('90624')).toBe(9);
    expect(() => majorVersion('banana')).toThrow(/not a PostgreSQL version/);
  });

  it('names pg_dump, both versions and the fix when the server is a newer major', () => {
    const mismatch = checkClientServerVersions(binaries, `${clientMajor + 2}.2`);
    expect(mismatch).toMatchObject({ binary: 'pg_dump', serverVersion: `${clientMajor + 2}.2` });
    expect(mismatch!.cause).toMatch(
      new RegExp(
        `^pg_dump ${clientMajor}\\.\\d+ \\(.*/pg_dump\\) is older than the PostgreSQL ${clientMajor + 2}\\.2 server: it aborts with "server version mismatch"$`,
      ),
    );
    expect(mismatch!.fix).toBe(
      `install PostgreSQL ${clientMajor + 2} client binaries and point PG_BINDIR at their bin directory (Debian: /usr/lib/postgresql/${clientMajor + 2}/bin)`,
    );
    expect(mismatch!.message.split('\n')).toHaveLength(1);
  });

  it('accepts the same major and an older server (pg_dump supports older servers)', () => {
    expect(checkClientServerVersions(binaries, `${clientMajor}.0`)).toBeUndefined();
    expect(checkClientServerVersions(binaries, `${clientMajor - 1}.9`)).toBeUndefined();
  });

  it('checks pg_restore too when asked', () => {
    expect(checkClientServerVersions(binaries, `${clientMajor + 1}.0`, ['pg_restore'])).toMatchObject({
      binary: 'pg_restore',
      cause: expect.stringMatching(/cannot read archives a newer pg_dump writes/),
    });
  });
});
