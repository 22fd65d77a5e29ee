import { readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';

/** Names of the files in a directory now, to tell later which ones a block created. */
export function listFiles(dir: string): Set<string> {
  try {
    return new Set(readdirSync(dir).filter((name) => statSync(join(dir, name)).isFile()));
  } catch {
    return new Set();
  }
}

/** Files that appeared in `dir` since `before` and match `pattern`, newest name last. */
export function newFiles(dir: string, before: Set<string>, pattern: RegExp): string[] {
  return [...listFiles(dir)]
    .filter((name) => !before.has(name) && pattern.test(name))
    .sort()
    .map((name) => join(dir, name));
}
