/**
 * Roles are cluster-wide, so a pg_dump of one database does not carry them: a restore into a fresh
 * cluster fails on the first GRANT (or, for plain dumps, ALTER … OWNER TO) naming a role that does not
 * exist there. verify-backup creates those roles (NOLOGIN) in its throwaway cluster first and says so.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { execa } from 'execa';

const BUILTIN = new Set(['public', 'current_user', 'session_user', 'current_role']);

/** `a, "B c", d` up to the end of the role list → ['a', 'B c', 'd']. */
function roleList(text: string): string[] {
  const roles: string[] = [];
  const pattern = /\s*("(?:[^"]|"")+"|[A-Za-z_][A-Za-z0-9_$]*)\s*(,|;|$|\s)/y;
  let match: RegExpExecArray | null;
  let at = 0;
  while (((pattern.lastIndex = at), (match = pattern.exec(text)))) {
    const raw = match[1]!;
    roles.push(raw.startsWith('"') ? raw.slice(1, -1).replace(/""/g, '"') : raw.toLowerCase());
    if (match[2] !== ',') break;
    at = pattern.lastIndex;
  }
  return roles;
}

/** Role names one SQL line of a pg_dump script refers to (owner, grantee, grantor of default privileges). */
export function rolesInLine(line: string): string[] {
  const roles: string[] = [];
  const owner = /\bOWNER TO (.*)$/.exec(line);
  if (owner && /^ALTER /.test(line)) roles.push(...roleList(owner[1]!));
  if (/^GRANT /.test(line)) {
    const to = /\bTO (.*)$/.exec(line);
    if (to) roles.push(...roleList(to[1]!));
  }
  if (/^REVOKE /.test(line)) {
    const from = /\bFROM (.*)$/.exec(line);
    if (from) roles.push(...roleList(from[1]!));
  }
  if (line.startsWith('ALTER DEFAULT PRIVILEGES ')) {
    const forRole = /\bFOR ROLE (.*)$/.exec(line);
    if (forRole) roles.push(...roleList(forRole[1]!));
    const grantee = / GRANT .*?\bTO (.*)$/.exec(line) ?? / REVOKE .*?\bFROM (.*)$/.exec(line);
    if (grantee) roles.push(...roleList(grantee[1]!));
  }
  const authorization = /^SET SESSION AUTHORIZATION '((?:[^']|'')+)'/.exec(line);
  if (authorization) roles.push(authorization[1]!.replace(/''/g, "'"));
  return roles.filter((role) => !BUILTIN.has(role.toLowerCase()) && !role.startsWith('pg_'));
}

/** Scans a plain SQL dump streamed, skipping COPY data (a row could start with "GRANT "). */
export async function rolesInPlainDump(path: string): Promise<string[]> {
  const roles = new Set<string>();
  let inCopy = false;
  const lines = createInterface({ input: createReadStream(path, { encoding: 'utf8' }), crlfDelay: Infinity });
  for await (const line of lines) {
    if (inCopy) {
      if (line === '\\.') inCopy = false;
      continue;
    }
    if (line.startsWith('COPY ') && line.endsWith(' FROM stdin;')) {
      inCopy = true;
      continue;
    }
    for (const role of rolesInLine(line)) roles.add(role);
  }
  return [...roles].sort();
}

/** The schema part of a custom-format dump as SQL (no data blocks are read), scanned the same way. */
export async function rolesInCustomDump(path: string, pgRestorePath: string): Promise<string[]> {
  const roles = new Set<string>();
  const child = execa(pgRestorePath, ['--schema-only', '-f', '-', path], {
    reject: false,
    stdin: 'ignore',
    buffer: { stdout: false },
    env: { LC_ALL: 'C' },
  });
  const lines = createInterface({ input: child.stdout!, crlfDelay: Infinity });
  for await (const line of lines) for (const role of rolesInLine(line)) roles.add(role);
  // An unreadable archive is the restore's to report, with its own error; here it only means fewer roles.
  await child;
  return [...roles].sort();
}
