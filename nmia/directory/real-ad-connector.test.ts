import { Client } from 'ldapts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { type RealAdConnector as Connector, RealAdConnector } from '../../test-support/real-ad-connector.ts';
import { cloneRealNmia, realNmiaSource } from '../../test-support/real-nmia-checkout.ts';
import { SeededNmiaDatabase } from '../../test-support/seeded-nmia-database.ts';
import { fileTimeToIso } from './ad-object.ts';
import { FixtureDirectory } from './fixture-directory.ts';
import { SecurityIdentifier } from './security-identifier.ts';
import type { StartedFixtureDirectory } from './started-fixture-directory.ts';

interface SeededConfig {
  enclave_id: string;
  bind_dn: string;
  bind_password: string;
  search_base: string;
}

const source = realNmiaSource();

// NMIA's own AD connector (ldap3, get_info=ALL: names checked against the server's schema) against the directory.
describe.skipIf(!source)('the real NMIA AD connector against the fixture directory', () => {
  let db: SeededNmiaDatabase;
  let directory: StartedFixtureDirectory;
  let app: Awaited<ReturnType<typeof cloneRealNmia>>;
  let connector: Connector;
  let configs: SeededConfig[];

  const configFor = (seeded: SeededConfig, change: Partial<Record<string, unknown>> = {}) => ({
    // The seeded host names stand for the directory (compose gives it those names as network aliases).
    server: '127.0.0.1',
    port: directory.port,
    bind_dn: seeded.bind_dn,
    bind_password: seeded.bind_password,
    search_base: seeded.search_base,
    ...change,
  });

  beforeAll(async () => {
    app = await cloneRealNmia();
    const found = await RealAdConnector.find(app.dir);
    if (!found) throw new Error('no python3 with ldap3: apt-get install -y python3-ldap3');
    connector = found;
    db = await SeededNmiaDatabase.start({ seed: 33, scale: 100 });
    configs = (
      await db.query<{ enclave_id: string; config: Omit<SeededConfig, 'enclave_id'> }>(
        `SELECT c.enclave_id::text, c.config FROM connector_instances c JOIN connector_types t ON t.id = c.connector_type_id
          WHERE t.code = 'ad_ldap' ORDER BY c.id`,
      )
    ).map((r) => ({ ...r.config, enclave_id: r.enclave_id }));
    directory = await new FixtureDirectory().start({ database: db.url, entriesPerBase: 4 });
  });

  afterAll(async () => {
    await directory?.stop();
    await db?.stop();
    await app?.remove();
  });

  it("binds as each seeded connector and returns the service accounts its enclave's identities came from, as AD would", async () => {
    expect(app.commit).toMatch(/^[0-9a-f]{40}$/);
    expect(configs.length).toBeGreaterThanOrEqual(3);
    for (const seeded of configs) {
      const scan = await connector.scan(configFor(seeded));
      if (!scan.ok) throw new Error(`${seeded.bind_dn}: ${scan.errorType}: ${scan.message}`);
      const known = await db.query<{
        fingerprint: string;
        data: { sam_account_name: string; spn: string[]; enabled: boolean; dn: string };
      }>(
        `SELECT fingerprint, normalized_data::jsonb AS data FROM identities WHERE enclave_id = $1 AND identity_type = 'svc_acct'
          ORDER BY fingerprint COLLATE "C" LIMIT 4`,
        [seeded.enclave_id],
      );
      expect(known.length).toBeGreaterThan(0);
      expect(scan.entries.length).toBe(known.length);
      for (const entry of scan.entries) {
        const identity = known.find((k) => k.fingerprint === entry.objectSid);
        expect(identity, `objectSid ${String(entry.objectSid)} is a seeded identity`).toBeDefined();
        expect(entry).toMatchObject({
          sAMAccountName: identity?.data.sam_account_name,
          // ldap3's Attribute.value is the bare value when there is one, so the app's "keep lists for
          // servicePrincipalName" never sees a list of one: a single SPN arrives as a string.
          servicePrincipalName: identity?.data.spn.length === 1 ? identity.data.spn[0] : identity?.data.spn,
          userAccountControl_enabled: identity?.data.enabled,
          pwdLastSet: expect.stringMatching(/^20\d\d-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?\+00:00$/),
        });
        expect(String(entry.distinguishedName).toLowerCase()).toBe(identity?.data.dn.toLowerCase());
      }
      // The filter skips the computer (objectCategory computer), the user without an SPN and the bind account.
      expect(scan.entries.some((e) => /\$$|fixture-person|svc-nmia-scan/i.test(String(e.sAMAccountName)))).toBe(false);
      expect(scan.identities.map((i) => i.fingerprint)).toEqual(scan.entries.map((e) => e.objectSid));
      expect(scan.identities.every((i) => i.identity_type === 'svc_acct')).toBe(true);
      expect(scan.log).toMatch(/connect_and_collect: retrieved \d+ entries/);
      expect(scan.log).not.toContain(seeded.bind_password);
    }
  });

  it('returns the same identities from a directory rebuilt from the same database (fingerprints survive a restore)', async () => {
    const first = await connector.scan(configFor(configs[0] as SeededConfig));
    const rebuilt = await new FixtureDirectory().start({ database: db.url, entriesPerBase: 4 });
    try {
      const again = await connector.scan({ ...configFor(configs[0] as SeededConfig), port: rebuilt.port });
      expect(first.ok && again.ok).toBe(true);
      if (first.ok && again.ok) expect(again.identities).toEqual(first.identities);
    } finally {
      await rebuilt.stop();
    }
  });

  it('scans over LDAPS for a connector with use_ssl (its port 636), with the same result as plain LDAP', async () => {
    const seeded = configs[0] as SeededConfig;
    expect(directory.tlsPort).toEqual(expect.any(Number));
    const plain = await connector.scan(configFor(seeded));
    const secure = await connector.scan(configFor(seeded, { use_ssl: true, port: directory.tlsPort }));
    if (!secure.ok) throw new Error(`${secure.errorType}: ${secure.message}`);
    expect(secure.log).toMatch(/connected to 127\.0\.0\.1:\d+ \(ssl=True\)/);
    expect(plain.ok && secure.identities).toEqual(plain.ok && plain.identities);
    // Plain LDAP spoken to the LDAPS port does not get through.
    expect((await connector.scan(configFor(seeded, { port: directory.tlsPort }))).ok).toBe(false);
  });

  it('formats objectSid and FILETIMEs as ldap3 does: the helpers a TypeScript collector needs to match the real one', async () => {
    const seeded = configs[0] as SeededConfig;
    const scan = await connector.scan(configFor(seeded));
    if (!scan.ok) throw new Error(scan.message);
    const client = new Client({ url: directory.url, strictDN: false });
    try {
      await client.bind(seeded.bind_dn, seeded.bind_password);
      const { searchEntries } = await client.search(seeded.search_base, {
        scope: 'sub',
        filter: '(&(objectCategory=person)(objectClass=user)(servicePrincipalName=*))',
        attributes: ['distinguishedName', 'objectSid', 'pwdLastSet', 'lastLogonTimestamp'],
        explicitBufferAttributes: ['objectSid'],
      });
      expect(searchEntries.length).toBe(scan.entries.length);
      for (const raw of searchEntries) {
        const real = scan.entries.find((e) => String(e.distinguishedName).toLowerCase() === String(raw.distinguishedName).toLowerCase());
        expect(real).toBeDefined();
        expect(SecurityIdentifier.fromBuffer(raw.objectSid as Buffer).toString()).toBe(real?.objectSid);
        expect(fileTimeToIso(String(raw.pwdLastSet))).toBe(real?.pwdLastSet);
        expect(fileTimeToIso(String(raw.lastLogonTimestamp))).toBe(real?.lastLogonTimestamp);
      }
    } finally {
      await client.unbind();
    }
    // The edges of ldap3's format_ad_timestamp.
    expect(fileTimeToIso('0')).toBe('1601-01-01T00:00:00+00:00');
    expect(fileTimeToIso('9223372036854775807')).toBe('9999-12-31T23:59:59.999999+00:00');
  });

  it('fails the scan when the bind password changed (seeded defect)', async () => {
    const seeded = configs[0] as SeededConfig;
    const scan = await connector.scan(configFor(seeded, { bind_password: `${seeded.bind_password}-rotated` }));
    expect(scan).toMatchObject({
      ok: false,
      errorType: 'ldap3.core.exceptions.LDAPBindError',
      message: expect.stringMatching(/invalidCredentials/),
    });
  });

  it("checks names against the directory's schema: an attribute AD lacks fails before the search is sent (seeded defect)", async () => {
    const scan = await connector.scan(
      configFor(configs[0] as SeededConfig, { search_filter: '(&(objectClass=user)(msDS-NoSuchAttribute=1))' }),
    );
    expect(scan).toMatchObject({
      ok: false,
      errorType: 'ldap3.core.exceptions.LDAPAttributeError',
      message: expect.stringMatching(/invalid attribute/),
    });
    const wrongClass = await connector.scan(configFor(configs[0] as SeededConfig, { search_filter: '(objectClass=inetOrgPersonX)' }));
    expect(wrongClass).toMatchObject({ ok: false, errorType: 'ldap3.core.exceptions.LDAPObjectClassError' });
  });
});
