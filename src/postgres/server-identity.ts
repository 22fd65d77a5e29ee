import { readFileSync } from 'node:fs';
import { EnvironmentError } from '../errors/drill-error.ts';

export interface ServerIdentity {
  uid: number;
  gid: number;
  user: string;
}

/**
 * initdb and postgres refuse to run as root. When we are root, the server runs as the
 * `postgres` system user; otherwise as ourselves (undefined = no switch needed).
 */
export function serverIdentity(user = 'postgres'): ServerIdentity | undefined {
  if (typeof process.getuid !== 'function' || process.getuid() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith(`${user}:`));
  const fields = line?.split(':');
  if (!fields || fields.length < 4) {
    throw new EnvironmentError(`running as root but there is no '${user}' system user to run PostgreSQL as`, {
      fix: `create it (useradd --system ${user}) or run the drill as a non-root user`,
    });
  }
  return { user, uid: Number(fields[2]), gid: Number(fields[3]) };
}
