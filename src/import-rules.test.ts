import { execFileSync, spawnSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { REPO_ROOT } from './repo-root.ts';

const BIOME = join(REPO_ROOT, 'node_modules', '.bin', 'biome');

/*
 * `npm test` runs the linter, so CI (which runs npm test) fails on a lint error or a forbidden import.
 * The import rules (biome.json, noRestrictedImports per depth of src/): src/ never imports runbook/,
 * scenarios/ or test-support/, and only src/stacks/reference-app.ts may name nmia/reference-app/.
 */
describe('npm run lint', () => {
  it('passes on the tree as committed (formatting, lint rules and the import rules)', () => {
    const lint = spawnSync(BIOME, ['check', '.'], { cwd: REPO_ROOT, encoding: 'utf8' });
    expect(lint.status, `${lint.stdout}\n${lint.stderr}`).toBe(0);
  });
});

describe('the import rules fail on a planted bad import', () => {
  const scratch = mkdtempSync(join(tmpdir(), 'nmia-import-rules-'));
  copyFileSync(join(REPO_ROOT, 'biome.json'), join(scratch, 'biome.json'));
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  /** The import-rule diagnostics biome gives one file at `path` (a copy of the project's biome.json beside it). */
  function restrictedImports(path: string, source: string): string[] {
    const file = join(scratch, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, source);
    try {
      const report = JSON.parse(
        execFileSync(BIOME, ['lint', '--vcs-enabled=false', '--reporter=json', path], {
          cwd: scratch,
          encoding: 'utf8',
          stdio: ['ignore', 'pipe', 'pipe'],
        }).toString(),
      );
      return diagnostics(report);
    } catch (error) {
      // biome exits 1 when it reports an error; the JSON report is still on stdout.
      return diagnostics(JSON.parse(String((error as { stdout: string }).stdout)));
    } finally {
      rmSync(file);
    }
  }

  function diagnostics(report: { diagnostics: Array<{ category: string; message: string }> }): string[] {
    return report.diagnostics.filter((found) => found.category === 'lint/style/noRestrictedImports').map((found) => found.message);
  }

  const bad: Array<[string, string, RegExp]> = [
    ['src/drill/planted.ts', "import { PROCEDURES } from '../../runbook/registry.ts';", /never imports runbook/],
    ['src/planted.ts', "import { PROCEDURES } from '../runbook/registry.ts';", /never imports runbook/],
    ['src/stacks/compose/planted.ts', "import { PROCEDURES } from '../../../runbook/registry.ts';", /never imports runbook/],
    ['src/cli/planted.ts', "import { drill } from '../../scenarios/support/drill-harness.ts';", /scenarios/],
    ['src/verify/planted.ts', "import { makeDumps } from '../../test-support/test-dumps.ts';", /test-support/],
    ['src/drill/planted.ts', "import { NmiaApi } from '../../nmia/reference-app/api/nmia-api.ts';", /reference-app\.ts/],
    ['src/stacks/emulated/planted.ts', "import { main } from '../../../nmia/reference-app/api/main.ts';", /reference-app\.ts/],
  ];
  for (const [path, line, message] of bad) {
    it(`refuses ${line.replace(/^import .* from /, '')} in ${path}`, () => {
      const found = restrictedImports(path, `${line}\nexport const used = [];\n`);
      expect(found).toHaveLength(1);
      expect(found[0]).toMatch(message);
    });
  }

  const allowed: Array<[string, string]> = [
    // src/runbook/ is the engine's runbook parser, not the runbook room.
    ['src/drill/planted.ts', "import { detectDrift } from '../runbook/drift.ts';"],
    ['src/stacks/compose/planted.ts', "import { detectDrift } from '../../runbook/drift.ts';"],
    ['src/drill/planted.ts', "import { applySchema } from '../../nmia/schema/nmia-schema.ts';"],
    ['src/stacks/reference-app.ts', "import { main } from '../../nmia/reference-app/api/main.ts';"],
    ['src/verify/planted.test.ts', "import { makeDumps } from '../../test-support/test-dumps.ts';"],
  ];
  for (const [path, line] of allowed) {
    it(`allows ${line.replace(/^import .* from /, '')} in ${path}`, () => {
      expect(restrictedImports(path, `${line}\nexport const used = [];\n`)).toEqual([]);
    });
  }
});
