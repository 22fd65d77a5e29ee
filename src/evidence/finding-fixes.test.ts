import { readdirSync, readFileSync } from 'node:fs';
import { join, relative } from 'node:path';
import { describe, expect, it } from 'vitest';
import { commandFailureFix, everyRungFix } from '../drill/failure-fixes.ts';
import { REPO_ROOT } from '../repo-root.ts';

/** Why a fix text tells the operator nothing to do, or undefined when it is concrete. */
function genericFixReason(fix: string): string | undefined {
  if (fix.trim() === '') return 'it is empty';
  if (/\bthe evidence\b/i.test(fix)) return 'it points at "the evidence"';
  if (/corrected runbook|fixtures\/runbooks/i.test(fix)) return 'it points at the corrected runbook';
  if (/\bsee\b/i.test(fix)) return 'it says "see …" instead of what to change';
  if (/stderr tail|review the command/i.test(fix)) return 'it asks the operator to work the fix out';
  return undefined;
}

/** Every non-test TypeScript file of the rooms that produce findings. */
function sources(): string[] {
  const files: string[] = [];
  const walk = (dir: string) => {
    for (const entry of readdirSync(dir, { withFileTypes: true })) {
      const path = join(dir, entry.name);
      if (entry.isDirectory() && entry.name !== 'node_modules') walk(path);
      else if (entry.isFile() && entry.name.endsWith('.ts') && !entry.name.endsWith('.test.ts')) files.push(path);
    }
  };
  for (const room of ['src', 'runbook', 'nmia']) walk(join(REPO_ROOT, room));
  return files;
}

/** Each `suggestedFix:` given as a literal (string or template; `${…}` parts stand in as "X"), with where it is. */
function literalFixes(): { where: string; fix: string }[] {
  const found: { where: string; fix: string }[] = [];
  for (const file of sources()) {
    const text = readFileSync(file, 'utf8');
    for (const match of text.matchAll(/suggestedFix:\s*(?:'((?:[^'\\]|\\.)*)'|"((?:[^"\\]|\\.)*)"|`((?:[^`\\]|\\.)*)`)/g)) {
      const line = text.slice(0, match.index).split('\n').length;
      const fix = (match[1] ?? match[2] ?? match[3] ?? '').replace(/\$\{[^}]*\}/g, 'X');
      found.push({ where: `${relative(REPO_ROOT, file)}:${line}`, fix });
    }
  }
  return found;
}

describe('every suggested fix is concrete', () => {
  it('the checker itself flags the generic fixes it is meant to catch', () => {
    for (const generic of [
      '',
      'See the evidence; the corrected runbook in fixtures/runbooks/ shows a working version of this section.',
      'Review the command against the environment the runbook assumes; see the stderr tail.',
      'See the summary: could not connect',
    ])
      expect(genericFixReason(generic), generic).toBeDefined();
    expect(genericFixReason('Use nmia_pgdata (Compose names volumes <project>_<volume>).')).toBeUndefined();
  });

  it('finds the fixes written as literals in the code (every procedure, kit module and the harness)', () => {
    const fixes = literalFixes();
    // The scan sees the known producers, or it proves nothing.
    expect(fixes.length).toBeGreaterThan(15);
    expect(fixes.map((fix) => fix.where)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^runbook\/kit\/volume-checks\.ts:/), expect.stringMatching(/^src\/verify-backup\//)]),
    );
    const generic = fixes.flatMap(({ where, fix }) => {
      const reason = genericFixReason(fix);
      return reason ? [`${where}: ${reason}: ${fix}`] : [];
    });
    expect(generic).toEqual([]);
  });

  it('builds the fallback fixes (a failed command, a failed check of each rung) in the runbook’s own terms', () => {
    const section = 'Database Restore › Restore from Custom Format Dump';
    const fixes = [
      ...everyRungFix(section),
      commandFailureFix({ command: 'pg_restore -d nmia x.dump', section, line: 120, exitCode: 1, errorLine: 'pg_restore: error: x' }),
      commandFailureFix({ command: 'docker compose exec db true', section, line: 120, exitCode: 1, errorLine: '' }),
    ];
    for (const fix of fixes) {
      expect(genericFixReason(fix), fix).toBeUndefined();
      expect(fix).toContain(section);
    }
  });

  it('lets findings enter a run only through appendFinding, so no producer is missed by the checks above', () => {
    const pushes = sources()
      .filter((file) => !file.endsWith('procedure-recorder.ts'))
      .filter((file) => /findings\.push\(\s*\{/.test(readFileSync(file, 'utf8')))
      .map((file) => relative(REPO_ROOT, file));
    expect(pushes).toEqual([]);
  });
});
