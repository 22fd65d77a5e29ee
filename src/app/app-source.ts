import { existsSync, statSync } from 'node:fs';
import { isAbsolute, resolve } from 'node:path';
import { UsageError } from '../errors/drill-error.ts';

/**
 * Where the NMIA under drill comes from: the built-in reference app, or a repository given with
 * `--app <path | git URL>[#ref]` (a checkout, a bare repository, a git bundle, or a URL git can clone).
 */
export type AppSource =
  | { kind: 'reference' }
  | {
      kind: 'repository';
      /** What the operator gave, without the #ref (a resolved absolute path for local ones). */
      location: string;
      /** Branch, tag or commit after `#`; the default branch when absent. */
      ref?: string;
      local: boolean;
    };

const REMOTE = /^(?:[a-z][a-z0-9+.-]*:\/\/|[\w.-]+@[\w.-]+:)/i;

/** Parses `--app` (undefined: the reference app). Local paths must exist; a URL is checked when it is cloned. */
export function parseAppSource(value: string | undefined, cwd = process.cwd()): AppSource {
  if (value === undefined || value === '') return { kind: 'reference' };
  const hash = value.lastIndexOf('#');
  const location = hash > 0 ? value.slice(0, hash) : value;
  const ref = hash > 0 ? value.slice(hash + 1) : undefined;
  if (ref !== undefined && !/^[\w./-]+$/.test(ref)) {
    throw new UsageError(`--app ${value}: "${ref}" is not a branch, tag or commit`, {
      fix: 'write --app <path or git URL>#<branch|tag|commit>, e.g. --app ../nmia#main',
    });
  }
  if (REMOTE.test(location) && !location.startsWith('file://')) {
    return { kind: 'repository', location, ...(ref ? { ref } : {}), local: false };
  }
  const path = location.startsWith('file://') ? new URL(location).pathname : isAbsolute(location) ? location : resolve(cwd, location);
  if (!existsSync(path)) {
    throw new UsageError(`--app ${location}: no such file or directory`, {
      fix: 'give the path of an NMIA checkout or git bundle (e.g. ../shared/nmia/nmia.bundle), or a git URL',
    });
  }
  if (!statSync(path).isDirectory() && !statSync(path).isFile()) {
    throw new UsageError(`--app ${location}: not a directory or a git bundle`, {
      fix: 'give the path of an NMIA checkout or git bundle, or a git URL',
    });
  }
  return { kind: 'repository', location: path, ...(ref ? { ref } : {}), local: true };
}

/** How the journal and the console name it. */
export function describeAppSource(source: AppSource): string {
  return source.kind === 'reference' ? 'the built-in reference app' : `${source.location}${source.ref ? `#${source.ref}` : ''}`;
}
