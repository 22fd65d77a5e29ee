import { existsSync } from 'node:fs';
import { readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { EnvironmentError } from '../../src/errors/drill-error.ts';

/**
 * The schema that makes slapd answer NMIA's Active Directory connector. ldap3 (get_info=ALL) reads the
 * server's subschema and refuses any attribute or objectClass it does not list, so the names and the
 * Microsoft OIDs must be there: ldap3 formats objectSid, pwdLastSet and lastLogonTimestamp by OID.
 *
 * - OpenLDAP's own msuser.schema (Microsoft's AD definitions, shipped with slapd) supplies user,
 *   computer, sAMAccountName, objectSid, servicePrincipalName, userAccountControl, pwdLastSet,
 *   lastLogonTimestamp and objectCategory, with AD's OIDs. It needs nis.schema (homeDirectory).
 * - One change to it: AD's objectCategory is a DN that AD also matches by the class's short name
 *   (`objectCategory=person`, the connector's filter). slapd has no such rule, and msuser.schema gives
 *   objectCategory no equality rule at all, so the copy makes it a case-insensitive string holding the
 *   short name.
 * - msuser.schema lacks AD's securityPrincipal auxiliary class (where sAMAccountName and objectSid live in
 *   AD), so nmia-ad.schema adds it under AD's OID.
 */
export class AdSchema {
  static readonly MSUSER = 'msuser.schema';
  /** Stock schemas included before the AD ones, in order. */
  static readonly STOCK = ['core', 'cosine', 'inetorgperson', 'nis'] as const;

  private static readonly OBJECT_CATEGORY =
    /attributetype \( MSADat4:782\s+NAME 'objectCategory'\s+SYNTAX '1\.3\.6\.1\.4\.1\.1466\.115\.121\.1\.12'\s+SINGLE-VALUE \)/;
  private static readonly OBJECT_CATEGORY_AS_STRING = [
    'attributetype ( MSADat4:782',
    "\tNAME 'objectCategory'",
    "\tDESC 'nmia-drill: the short class name (person, computer) that AD matches objectCategory by'",
    '\tEQUALITY caseIgnoreMatch',
    "\tSYNTAX '1.3.6.1.4.1.1466.115.121.1.15'",
    '\tSINGLE-VALUE )',
  ].join('\n');
  private static readonly SECURITY_PRINCIPAL = [
    '# nmia-drill: AD keeps sAMAccountName and objectSid on this auxiliary class; msuser.schema has no class for them.',
    "objectclass ( 1.2.840.113556.1.5.6 NAME 'securityPrincipal' SUP top AUXILIARY",
    '\tMUST ( objectSid $ sAMAccountName ) )',
    '',
  ].join('\n');

  constructor(private readonly schemaDir: string) {}

  /** Writes the two AD schema files into `dir`; returns every schema file slapd includes, in order. */
  async write(dir: string): Promise<string[]> {
    const stock = AdSchema.STOCK.map((name) => join(this.schemaDir, `${name}.schema`));
    const msuserPath = join(this.schemaDir, AdSchema.MSUSER);
    for (const path of [...stock, msuserPath]) {
      if (!existsSync(path)) {
        throw new EnvironmentError(`OpenLDAP schema ${path} not found (the AD-compatible directory needs it)`, {
          fix: 'DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends slapd (it ships /etc/ldap/schema/msuser.schema)',
        });
      }
    }
    const msuser = AdSchema.patchMsuser(await readFile(msuserPath, 'utf8'), msuserPath);
    const msuserCopy = join(dir, 'msuser-ad.schema');
    const ownPath = join(dir, 'nmia-ad.schema');
    await writeFile(msuserCopy, msuser);
    await writeFile(ownPath, AdSchema.SECURITY_PRINCIPAL);
    return [...stock, msuserCopy, ownPath];
  }

  static patchMsuser(text: string, path = AdSchema.MSUSER): string {
    if (!AdSchema.OBJECT_CATEGORY.test(text)) {
      throw new EnvironmentError(`${path}: the objectCategory definition is not the one nmia-drill knows (OpenLDAP 2.5/2.6)`, {
        fix: "check the slapd version; nmia/directory/ad-schema.ts rewrites objectCategory and must match the file's text",
      });
    }
    return text.replace(AdSchema.OBJECT_CATEGORY, AdSchema.OBJECT_CATEGORY_AS_STRING);
  }
}
