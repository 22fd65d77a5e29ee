import { DrillError, ExitCode } from '../src/errors/drill-error.ts';
import { ensurePrerequisites, installPolicyFrom } from '../src/prerequisites/prerequisite-check.ts';

/**
 * vitest globalSetup: before any test, the system tools the suite needs (PostgreSQL, git, slapd, Chromium, GnuPG).
 * As root with apt they are installed (one line per package); otherwise `npm test` stops within seconds with
 * one line naming every missing part and the install command (exit 3), not after many time-outs. Docker is
 * not asked for: the Docker suites skip themselves without an engine.
 */
export default async function checkPrerequisites(): Promise<void> {
  try {
    await ensurePrerequisites({
      needs: { postgresServer: true, directory: true, browser: true, git: true, realAppConnector: true, gpg: true },
      install: installPolicyFrom(process.env),
      log: (line) => process.stderr.write(`${line}\n`),
    });
  } catch (error) {
    if (!(error instanceof DrillError)) throw error;
    process.stderr.write(`${error.toOperatorText()}\n`);
    process.exit(ExitCode.environment);
  }
}
