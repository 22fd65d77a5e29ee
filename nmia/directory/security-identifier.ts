import { createHash } from 'node:crypto';

/**
 * A Windows SID as AD stores objectSid: revision 1, sub-authority count, 48-bit big-endian identifier
 * authority, then little-endian 32-bit sub-authorities. Domain SIDs and RIDs derive from names, so a
 * directory rebuilt from the same connectors gives every account the same SID (NMIA's identity
 * fingerprint for an AD account is its objectSid).
 */
export class SecurityIdentifier {
  private constructor(
    readonly authority: number,
    readonly subAuthorities: readonly number[],
  ) {}

  /** S-1-5-21-a-b-c-RID: a, b, c from the domain's name, the RID from the account's DN key (1000 and up, as AD's own). */
  static forAccount(domain: string, accountKey: string): SecurityIdentifier {
    const d = createHash('sha256').update(`domain:${domain.toLowerCase()}`).digest();
    const r = createHash('sha256').update(`account:${accountKey}`).digest();
    return new SecurityIdentifier(5, [
      21,
      d.readUInt32LE(0),
      d.readUInt32LE(4),
      d.readUInt32LE(8),
      1000 + (r.readUInt32LE(0) % 1_000_000_000),
    ]);
  }

  static parse(text: string): SecurityIdentifier {
    const m = /^S-1-(\d+)((?:-\d+)+)$/i.exec(text);
    if (!m) throw new Error(`not a SID: ${text}`);
    const subAuthorities = (m[2] as string).slice(1).split('-').map(Number);
    if (subAuthorities.length > 15 || subAuthorities.some((v) => v > 0xffffffff)) throw new Error(`not a SID: ${text}`);
    return new SecurityIdentifier(Number(m[1]), subAuthorities);
  }

  /** The binary objectSid as AD sends it; toString() then gives what ldap3's format_sid gives NMIA. */
  static fromBuffer(raw: Buffer): SecurityIdentifier {
    const count = raw.readUInt8(1);
    if (raw.readUInt8(0) !== 1 || raw.length !== 8 + 4 * count) throw new Error(`not a binary SID (${raw.length} bytes)`);
    return new SecurityIdentifier(
      raw.readUIntBE(2, 6),
      Array.from({ length: count }, (_, i) => raw.readUInt32LE(8 + 4 * i)),
    );
  }

  toBuffer(): Buffer {
    const out = Buffer.alloc(8 + 4 * this.subAuthorities.length);
    out.writeUInt8(1, 0);
    out.writeUInt8(this.subAuthorities.length, 1);
    out.writeUIntBE(this.authority, 2, 6);
    this.subAuthorities.forEach((value, i) => out.writeUInt32LE(value, 8 + 4 * i));
    return out;
  }

  toString(): string {
    return `S-1-${this.authority}-${this.subAuthorities.join('-')}`;
  }
}
