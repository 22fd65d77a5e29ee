import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { EnvironmentError, ExitCode } from '../errors/drill-error.ts';
import { LocalPostgresProvider } from '../postgres/local-postgres-provider.ts';
import { binaryVersion, findPgBinaries } from '../postgres/pg-binaries.ts';
import type { StartedLocalPostgres } from '../postgres/started-local-postgres.ts';
import { majorVersion } from '../verify-backup/version-check.ts';
import { assertClientsFitServer, assertClientsFitServerAt } from './client-version-guard.ts';

// The machine's real client binaries, against a real server and against server versions as a server reports them.
const binaries = findPgBinaries();
const clientMajor = majorVersion(binaryVersion(binaries, 'pg_dump'));

describe('the drill’s client binaries against the server they will talk to', () => {
  let server: StartedLocalPostgres;
  beforeAll(async () => {
    server = await new LocalPostgresProvider().start();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('a real server of the same major passes, and its version is returned', async () => {
    await expect(assertClientsFitServerAt(binaries, server.clientConfig('postgres'))).resolves.toMatch(new RegExp(`^${clientMajor}\\.`));
  });

  it('a newer server fails fast: an EnvironmentError (exit 3) with one line of cause and one of fix', () => {
    let thrown: unknown;
    try {
      assertClientsFitServer(binaries, `${clientMajor + 2}.1`);
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(EnvironmentError);
    const error = thrown as EnvironmentError;
    expect(error.exitCode).toBe(ExitCode.environment);
    expect(error.message).toMatch(
      new RegExp(
        `^pg_dump ${clientMajor}\\.\\d+ \\(.*/pg_dump\\) is older than the PostgreSQL ${clientMajor + 2}\\.1 server: it aborts with "server version mismatch"$`,
      ),
    );
    expect(error.fix).toBe(
      `install PostgreSQL ${clientMajor + 2} client binaries and point PG_BINDIR at their bin directory (Debian: /usr/lib/postgresql/${clientMajor + 2}/bin)`,
    );
    expect(error.toOperatorText().split('\n')).toHaveLength(2);
  });

  it('an older server is fine (pg_dump supports older servers)', () => {
    expect(() => assertClientsFitServer(binaries, `${clientMajor - 1}.9`)).not.toThrow();
  });
});
