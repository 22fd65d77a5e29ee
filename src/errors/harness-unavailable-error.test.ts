import { describe, expect, it } from 'vitest';
import { ExitCode } from './drill-error.ts';
import { HarnessUnavailableError } from './harness-unavailable-error.ts';

describe('HarnessUnavailableError', () => {
  const error = new HarnessUnavailableError('the fixture LDAP directory (slapd)', 'slapd would not start: exit 1', 'apt-get install slapd');

  it('is an environment error (exit 3) with a one-line cause and fix', () => {
    expect(error.exitCode).toBe(ExitCode.environment);
    expect(error.message).toBe('the fixture LDAP directory (slapd) is unavailable: slapd would not start: exit 1');
    expect(error.summary()).toBe(`${error.message} (fix: apt-get install slapd)`);
    expect(error.summary()).not.toContain('\n');
  });

  it('travels through a service log and back (a harness service is a separate process)', () => {
    const log = `2026-12-06T00:00:00Z directory starting\n2026-12-06T00:00:01Z directory ERROR ${error.logLine()}\n`;
    const read = HarnessUnavailableError.fromLog('the fixture LDAP directory (slapd)', log);
    expect(read?.summary()).toBe(error.summary());
    expect(HarnessUnavailableError.fromLog('x', 'directory listening on ldap://127.0.0.1:389')).toBeUndefined();
  });
});
