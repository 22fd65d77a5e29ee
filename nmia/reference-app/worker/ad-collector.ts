import { lookup } from 'node:dns/promises';
import { Client, InvalidCredentialsError } from 'ldapts';
import type { ServiceHosts } from '../shared/service-hosts.ts';

/** The attributes the real collector asks for (connectors/ad/collector.py _LDAP_ATTRIBUTES). */
const LDAP_ATTRIBUTES = [
  'sAMAccountName',
  'cn',
  'distinguishedName',
  'objectSid',
  'servicePrincipalName',
  'userAccountControl',
  'pwdLastSet',
  'lastLogonTimestamp',
];
const DEFAULT_FILTER = '(&(objectCategory=person)(objectClass=user)(servicePrincipalName=*))';

export interface AdConfig {
  server?: unknown;
  port?: unknown;
  use_ssl?: unknown;
  bind_dn?: unknown;
  bind_password?: unknown;
  search_base?: unknown;
  search_filter?: unknown;
}

/**
 * connect_and_collect of the real worker: bind as the connector's account, check the requested
 * attribute names against the server's schema (ldap3 with get_info=ALL raises "invalid attribute type
 * sAMAccountName" on a directory without AD's schema), subtree-search, one dict per entry.
 * Errors are thrown with ldap3's wording where the drill reads them.
 */
export class AdCollector {
  constructor(private readonly hosts: ServiceHosts) {}

  async collect(config: AdConfig): Promise<Array<Record<string, unknown>>> {
    const server = typeof config.server === 'string' ? config.server : 'localhost';
    const port = Number(config.port ?? 389);
    const useSsl = config.use_ssl === true;
    const searchFilter = typeof config.search_filter === 'string' ? config.search_filter : DEFAULT_FILTER;
    const url = `${useSsl ? 'ldaps' : 'ldap'}://${server}:${port}`;
    // ldap3's Server() resolves the host first and raises "invalid server address" when it cannot. Inside a drill
    // stack (a map is set) an unmapped host is outside it: it is not looked up, and fails the same way.
    const target = this.hosts.rewriteUrl(url);
    const outside = this.hosts.size > 0 && !this.hosts.maps(url);
    const resolves =
      !outside &&
      (await lookup(new URL(target).hostname).then(
        () => true,
        () => false,
      ));
    if (!resolves) throw new Error('invalid server address');
    const client = new Client({ url: target, timeout: 30_000, connectTimeout: 10_000, strictDN: false });
    try {
      try {
        await client.bind(String(config.bind_dn ?? ''), String(config.bind_password ?? ''));
      } catch (error) {
        if (error instanceof InvalidCredentialsError) throw new Error('automatic bind not successful - invalidCredentials');
        throw error;
      }
      await this.checkSchema(client);
      const { searchEntries } = await client.search(String(config.search_base ?? ''), {
        scope: 'sub',
        filter: searchFilter,
        attributes: LDAP_ATTRIBUTES,
      });
      return searchEntries.map((entry) => {
        const out: Record<string, unknown> = {};
        for (const name of LDAP_ATTRIBUTES) {
          const key = Object.keys(entry).find((k) => k.toLowerCase() === name.toLowerCase());
          if (key === undefined) continue;
          const raw = entry[key];
          const values = (Array.isArray(raw) ? raw : [raw]).map((v) => (Buffer.isBuffer(v) ? v.toString('hex') : v));
          out[name] = values.length === 1 && name !== 'servicePrincipalName' ? values[0] : values;
        }
        const uac = out.userAccountControl;
        delete out.userAccountControl;
        out.userAccountControl_enabled = uac === undefined ? true : !(Number(uac) & 0x2);
        return out;
      });
    } finally {
      await client.unbind().catch(() => undefined);
    }
  }

  /** ldap3 reads the subschema (get_info=ALL) and refuses attribute names it does not define. */
  private async checkSchema(client: Client): Promise<void> {
    const root = await client.search('', { scope: 'base', filter: '(objectClass=*)', attributes: ['subschemaSubentry'] });
    const subschema = root.searchEntries[0]?.subschemaSubentry;
    const dn = String(Array.isArray(subschema) ? subschema[0] : (subschema ?? ''));
    if (!dn) return;
    const schema = await client.search(dn, { scope: 'base', filter: '(objectClass=*)', attributes: ['attributeTypes'] });
    const types = ([] as unknown[]).concat(schema.searchEntries[0]?.attributeTypes ?? []).map(String);
    if (types.length === 0) return;
    const known = new Set<string>();
    for (const definition of types) {
      const names = /NAME\s+(?:'([^']+)'|\(([^)]*)\))/.exec(definition);
      for (const name of (names?.[1] ?? names?.[2] ?? '').split(/[\s']+/)) if (name) known.add(name.toLowerCase());
    }
    const missing = LDAP_ATTRIBUTES.find((name) => !known.has(name.toLowerCase()));
    if (missing) throw new Error(`invalid attribute type ${missing}`);
  }
}
