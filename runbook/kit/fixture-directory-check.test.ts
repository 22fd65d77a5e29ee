import { describe, expect, it } from 'vitest';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';
import type { HarnessAction } from '../../src/evidence/journal.ts';
import { checkFixtureDirectory, unavailableParts } from './fixture-directory-check.ts';

/** A stack whose directory service logs `log`; what the check concludes is what is asserted. */
function contextWith(kind: 'compose' | 'emulated', log: string) {
  const actions: HarnessAction[] = [];
  const context = {
    stack: {
      kind,
      project: () => ({ service: (name: string) => (name === 'directory' ? { name } : undefined) }),
      docker: async () => ({ exitCode: 0, stdout: log, stderr: '' }),
      dbClientConfig: () => ({ host: '127.0.0.1', port: 1, user: 'nmia', database: 'nmia' }),
    },
    scratch: {},
    evidence: { harnessAction: (action: HarnessAction) => actions.push(action) },
  } as unknown as ProcedureContext;
  return { context, actions };
}

describe('checkFixtureDirectory: the directory the connector scan dials is the harness’s', () => {
  it('lets the scan run once the directory listens', async () => {
    const { context, actions } = contextWith(
      'compose',
      'directory-1  | listening on ldap://0.0.0.0:389 (3 connector accounts, suffixes dc=x) in 40ms\n',
    );
    await checkFixtureDirectory(context, 1_000);
    expect(unavailableParts(context)).toEqual({});
    expect(actions).toEqual([expect.objectContaining({ exitCode: 0 })]);
  });

  it('makes the scan an error with a compose fix (seeded: its container died), never a check the app fails', async () => {
    const { context, actions } = contextWith(
      'compose',
      "directory-1  | Error [ERR_MODULE_NOT_FOUND]: Cannot find package 'tsx' imported from /repo/\n",
    );
    await checkFixtureDirectory(context, 300);
    const unavailable = unavailableParts(context)['connector-scan'];
    expect(unavailable?.summary()).toMatch(
      /did not report listening within 0\.3 s \(last log line: .*Cannot find package 'tsx'.*\) \(fix: see docker compose logs directory; run npm install in the nmia-drill checkout/,
    );
    expect(actions).toEqual([expect.objectContaining({ exitCode: 1 })]);
  });

  it('names slapd and how to install it on the emulated stack', async () => {
    const { context } = contextWith('emulated', '');
    await checkFixtureDirectory(context, 300);
    expect(unavailableParts(context)['connector-scan']?.summary()).toMatch(/fix: check that slapd starts on this machine/);
  });
});
