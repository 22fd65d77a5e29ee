import { SignJWT } from 'jose';
import { waitForHttp } from '../../src/drill/drill-environment.ts';
import type { Redactor } from '../../src/evidence/redactor.ts';
import { ChecklistProbes } from '../../src/probes/checklist-probes.ts';
import type { ChecklistExpectations, ProbeId, ProbeResult, ProbeTarget } from '../../src/probes/probe.ts';

/** A token like the app's (HS256, `sub` = username) signed with a key the app never had: a SECRET_KEY that changed. */
export async function tokenSignedWithAnotherKey(username = 'admin'): Promise<string> {
  return new SignJWT({ sub: username })
    .setProtectedHeader({ alg: 'HS256', typ: 'JWT' })
    .setExpirationTime('8h')
    .sign(new TextEncoder().encode('not-the-secret-key-of-this-deployment-0123456789'));
}

/** What injecting and undoing the defects needs of a running real NMIA (a drill's stack or a test's own). */
export interface DefectTarget {
  probes: ProbeTarget;
  expectations: ChecklistExpectations;
  stop(service: 'api' | 'worker' | 'ui'): Promise<void>;
  start(service: 'api' | 'worker' | 'ui'): Promise<void>;
  /** SQL on the app's database; nothing of it is recorded (it moves secrets: a password hash, bind passwords). */
  query(text: string, values?: unknown[]): Promise<Array<Record<string, string>>>;
  redactor?: Redactor;
}

/**
 * One seeded defect per "Verify recovery" item on one running real NMIA: inject it, run that item's probe,
 * undo it. One stack for all of them, as each real-app start costs minutes. Returns each item's result.
 */
export async function probeSeededDefects(target: DefectTarget): Promise<Partial<Record<ProbeId, ProbeResult>>> {
  const probe = async (id: ProbeId, extra: ChecklistExpectations = {}): Promise<ProbeResult> => {
    const checklist = new ChecklistProbes(target.probes, target.redactor ? { redactor: target.redactor } : {});
    const [result] = await checklist.run({ ...target.expectations, ...extra, only: [id] });
    return result!;
  };
  const results: Partial<Record<ProbeId, ProbeResult>> = {};

  await target.stop('api');
  results['api-docs'] = await probe('api-docs');
  await target.start('api');
  await waitForHttp(`${target.probes.apiUrl}/api/v1/bootstrap/status`, 120_000);

  // A wrong password hash after the restore; the one restored is put back afterwards.
  const [admin] = await target.query("SELECT password_hash FROM users WHERE username = 'admin'");
  await target.query(`UPDATE users SET password_hash = '$2b$12$' || repeat('A', 53) WHERE username = 'admin'`);
  results['admin-login'] = await probe('admin-login');
  await target.query("UPDATE users SET password_hash = $1 WHERE username = 'admin'", [admin?.password_hash]);

  results['jwt-continuity'] = await probe('jwt-continuity', {
    preDisasterToken: await tokenSignedWithAnotherKey(),
    tokenExpectation: 'valid',
  });

  // A connector lost (with its jobs and findings); not an ad_ldap one, which the scan item still needs.
  await target.query(
    `DELETE FROM connector_instances WHERE id = (SELECT c.id FROM connector_instances c JOIN connector_types t ON t.id = c.connector_type_id WHERE t.code <> 'ad_ldap' ORDER BY c.id LIMIT 1)`,
  );
  results['enclaves-connectors-visible'] = await probe('enclaves-connectors-visible');

  await target.query('DELETE FROM identities WHERE id = (SELECT id FROM identities ORDER BY id LIMIT 1)');
  results['identity-counts-match'] = await probe('identity-counts-match');

  await target.stop('worker');
  results['worker-running'] = await probe('worker-running');
  await target.start('worker');

  // The directory keeps the password it was built with; the restored config no longer matches it.
  const configs = await target.query('SELECT id, config::text AS config FROM connector_instances');
  await target.query(
    `UPDATE connector_instances SET config = jsonb_set(config::jsonb, '{bind_password}', '"not-the-directory-password"')::json WHERE config::jsonb ? 'bind_password'`,
  );
  results['connector-scan'] = await probe('connector-scan');
  for (const row of configs) await target.query('UPDATE connector_instances SET config = $2::json WHERE id = $1', [row.id, row.config]);

  await target.stop('ui');
  results['ui-loads'] = await probe('ui-loads');
  await target.start('ui');
  return results;
}
