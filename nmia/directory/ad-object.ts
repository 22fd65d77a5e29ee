import { createHash } from 'node:crypto';
import type { DistinguishedName } from './distinguished-name.ts';
import { SecurityIdentifier } from './security-identifier.ts';

export type LdifValue = string | Buffer;
export type Attributes = Array<[string, LdifValue]>;

/** What an AD account entry is for; decides the attributes the connector's filter looks at. */
export type AdObjectKind = 'service-account' | 'disabled-service-account' | 'bind-account' | 'user' | 'computer';

// Windows FILETIME (100 ns since 1601) of the fixture's fixed "now", so every build gives the same values.
const REFERENCE_MS = Date.UTC(2026, 0, 1);
const DAY_MS = 86_400_000;
const EPOCH_1601_MS = 11_644_473_600_000n;
// A self-relative security descriptor with no owner, group or ACLs: AD's top class requires one.
const EMPTY_SECURITY_DESCRIPTOR = Buffer.from([1, 0, 4, 0x80, ...new Array<number>(16).fill(0)]);
const SERVICES = ['MSSQLSvc/sql{n}.{dns}:1433', 'HTTP/app{n}.{dns}', 'CIFS/fs{n}.{dns}', 'HOST/batch{n}.{dns}'];
// userAccountControl bits: NORMAL_ACCOUNT 0x200, ACCOUNTDISABLE 0x2, DONT_EXPIRE_PASSWORD 0x10000, WORKSTATION_TRUST_ACCOUNT 0x1000.
const UAC: Record<AdObjectKind, number> = {
  'service-account': 0x10200,
  'disabled-service-account': 0x10202,
  'bind-account': 0x10200,
  user: 0x200,
  computer: 0x1000,
};

/**
 * The attributes of an AD account as Active Directory returns them to NMIA's connector
 * (worker/src/nmia_worker/connectors/ad/collector.py): objectClass user (computer for machines),
 * objectCategory person/computer, sAMAccountName, a binary objectSid, servicePrincipalName,
 * userAccountControl, pwdLastSet and lastLogonTimestamp as FILETIME integers. Values derive from the DN.
 */
export function adObjectAttributes(dn: DistinguishedName, kind: AdObjectKind, ordinal = 1): Attributes {
  const { type, value } = dn.rdn;
  const dns = dnsDomain(dn);
  const hash = createHash('sha256').update(`${kind}:${dn.key}`).digest();
  const computer = kind === 'computer';
  const sam = (computer ? `${value.toUpperCase().slice(0, 15)}$` : value).slice(0, 20);
  const attributes: Attributes = [
    ['objectClass', computer ? 'computer' : 'user'],
    ['objectClass', 'securityPrincipal'],
    ['cn', value],
    ['sn', value],
    ['instanceType', '4'],
    ['nTSecurityDescriptor', EMPTY_SECURITY_DESCRIPTOR],
    ['objectCategory', computer ? 'computer' : 'person'],
    ['distinguishedName', dn.toString()],
    ['sAMAccountName', sam],
    ['objectSid', SecurityIdentifier.forAccount(dns, dn.key).toBuffer()],
    ['userAccountControl', String(UAC[kind])],
    ['pwdLastSet', fileTime(REFERENCE_MS - (hash.readUInt16LE(0) % 900) * DAY_MS)],
  ];
  if (kind !== 'user') attributes.push(['lastLogonTimestamp', fileTime(REFERENCE_MS - (hash.readUInt16LE(2) % 30) * DAY_MS)]);
  if (!computer) attributes.push(['userPrincipalName', `${sam}@${dns}`]);
  if (type === 'uid') attributes.push(['uid', value]);
  if (kind === 'service-account' || kind === 'disabled-service-account') {
    const first = hash.readUInt8(4) % SERVICES.length;
    for (const offset of [0, 1])
      attributes.push([
        'servicePrincipalName',
        (SERVICES[(first + offset) % SERVICES.length] as string).replace('{n}', String(ordinal).padStart(2, '0')).replace('{dns}', dns),
      ]);
  }
  if (computer)
    attributes.push(['servicePrincipalName', `HOST/${value.toLowerCase()}.${dns}`], ['dNSHostName', `${value.toLowerCase()}.${dns}`]);
  return attributes;
}

/** A service account NMIA already knows: one of its svc_acct identities (normalized_data, as the app's normaliser writes it). */
export interface KnownServiceAccount {
  dn: string;
  samAccountName: string;
  objectSid: string;
  spns: readonly string[];
  enabled: boolean;
  passwordLastSet?: string | null;
  lastLogon?: string | null;
}

/**
 * The AD entry a known identity came from: the same sAMAccountName, SID (NMIA's fingerprint), SPNs,
 * enabled flag and times, so a scan finds the identity again instead of adding one.
 */
export function knownAccountAttributes(dn: DistinguishedName, known: KnownServiceAccount): Attributes {
  const attributes = adObjectAttributes(dn, known.enabled ? 'service-account' : 'disabled-service-account').filter(
    ([name]) =>
      !['sAMAccountName', 'objectSid', 'pwdLastSet', 'lastLogonTimestamp', 'servicePrincipalName', 'userPrincipalName'].includes(name),
  );
  const sam = known.samAccountName;
  attributes.push(['sAMAccountName', sam], ['objectSid', SecurityIdentifier.parse(known.objectSid).toBuffer()]);
  attributes.push(['userPrincipalName', `${sam}@${dnsDomain(dn)}`]);
  for (const spn of known.spns) attributes.push(['servicePrincipalName', spn]);
  const pwdLastSet = parseTimestamp(known.passwordLastSet);
  attributes.push(['pwdLastSet', pwdLastSet === undefined ? '0' : fileTime(pwdLastSet)]);
  const lastLogon = parseTimestamp(known.lastLogon);
  if (lastLogon !== undefined) attributes.push(['lastLogonTimestamp', fileTime(lastLogon)]);
  return attributes;
}

/** ISO 8601 or PostgreSQL's text form (`2025-03-01 10:00:00+00`); undefined when absent or unreadable. */
function parseTimestamp(text: string | null | undefined): number | undefined {
  const m = /^(\d{4}-\d\d-\d\d)[ T](\d\d:\d\d:\d\d(?:\.\d+)?)(Z|[+-]\d\d(?::?\d\d)?)?$/.exec(text ?? '');
  if (!m) return undefined;
  const zone = !m[3] || m[3] === 'Z' ? 'Z' : m[3].length === 3 ? `${m[3]}:00` : m[3].replace(/^([+-]\d\d)(\d\d)$/, '$1:$2');
  const ms = Date.parse(`${m[1]}T${m[2]}${zone}`);
  return Number.isNaN(ms) ? undefined : ms;
}

/** t1.example.com from DC=t1,DC=example,DC=com; the top RDN's value when the DN has no DC= parts. */
export function dnsDomain(dn: DistinguishedName): string {
  const dcs = dn.rdns.filter((r) => r.type === 'dc').map((r) => r.value.toLowerCase());
  return dcs.length > 0 ? dcs.join('.') : (dn.rdns.at(-1)?.value.toLowerCase() ?? 'local');
}

export function fileTime(ms: number): string {
  return String((BigInt(ms) + EPOCH_1601_MS) * 10_000n);
}

/**
 * An AD FILETIME (pwdLastSet, lastLogonTimestamp) as NMIA's connector stores it: ldap3's format_ad_timestamp
 * (a UTC datetime, negative values made positive, the int64 maximum as datetime.max) then isoformat().
 */
export function fileTimeToIso(raw: string): string {
  if (raw === '9223372036854775807') return '9999-12-31T23:59:59.999999+00:00';
  const value = BigInt(raw);
  const ticks = value < 0n ? -value : value;
  // Python: datetime.fromtimestamp(ticks / 1e7 - 11644473600): the double's whole seconds, then its
  // fraction times 1e6 rounded half to even (so float noise lands as CPython's does, e.g. .343001).
  const seconds = Number(ticks) / 10_000_000 - 11_644_473_600;
  let whole = Math.floor(seconds);
  let fraction = roundHalfEven((seconds - whole) * 1_000_000);
  if (fraction === 1_000_000) {
    whole += 1;
    fraction = 0;
  }
  const base = new Date(whole * 1000).toISOString().slice(0, 19);
  return `${base}${fraction === 0 ? '' : `.${String(fraction).padStart(6, '0')}`}+00:00`;
}

function roundHalfEven(value: number): number {
  const floor = Math.floor(value);
  const diff = value - floor;
  if (diff > 0.5) return floor + 1;
  if (diff < 0.5) return floor;
  return floor % 2 === 0 ? floor : floor + 1;
}
