import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canariesFor } from '../nmia/seed/canaries.ts';
import { PROCEDURES } from './registry.ts';
import type { DrillState, EnvironmentState, ProducedArtifact } from '../src/drill/drill-state.ts';
import { ProcedureContext } from '../src/drill/procedure-context.ts';
import { ProcedureRecorder } from '../src/evidence/procedure-recorder.ts';
import { Redactor } from '../src/evidence/redactor.ts';
import { loadRunbook, type Runbook } from '../src/runbook/runbook.ts';
import type { StartedStack } from '../src/stacks/stack.ts';
import { Workspace } from '../src/stacks/workspace.ts';
import { planDrill, type PlannedRun } from '../src/plan/drill-plan.ts';
import { RUNTIME_TOKEN } from '../src/plan/procedure-plan.ts';

const REPO = fileURLToPath(new URL('../', import.meta.url));
const RUNBOOKS = {
  given: join(REPO, 'runbook', 'backup-restore.md'),
  corrected: join(REPO, 'fixtures', 'runbooks', 'backup-restore.corrected.md'),
};

/** A planned value as a pattern: each `{…}` token stands for what the drill fills in. */
function pattern(planned: string): RegExp {
  return new RegExp(
    `^${planned
      .split(/\{[^{}\s]+\}/)
      .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
      .join('[^/]+')}$`,
  );
}

/** A concrete file name for a planned one, as the drill would make it. */
function concrete(file: string): string {
  return file.replace('{YYYYMMDD_HHMMSS}', '20260101_020000').replace('{YYYYMMDDHHMMSS}', '20260101020000');
}

describe('procedure plans describe what the live hooks do', () => {
  it('every procedure with live bindings or a disaster describes them for plan', () => {
    for (const procedure of PROCEDURES) {
      if (procedure.bindings) expect(procedure.plan?.bindings, `${procedure.id}: plan.bindings`).toBeTypeOf('function');
      if (procedure.disaster) expect(procedure.plan?.disaster, `${procedure.id}: plan.disaster`).toBeTruthy();
      if (procedure.prepare) expect(procedure.plan?.prepare, `${procedure.id}: plan.prepare`).toBeTypeOf('function');
    }
  });

  // The live bindings need only the workspace and the artifacts an environment holds; a real Workspace
  // and the artifacts the plan says would be there are enough to compare the two, without a stack.
  let workspace: Workspace;
  const runbooks: Record<string, Runbook> = {};
  beforeAll(async () => {
    workspace = await Workspace.create('plantest', tmpdir());
    for (const [name, path] of Object.entries(RUNBOOKS)) runbooks[name] = await loadRunbook(path);
  });
  afterAll(async () => {
    await workspace?.remove();
  });

  for (const runbookName of Object.keys(RUNBOOKS) as Array<keyof typeof RUNBOOKS>) {
    it(`bindings: same placeholders, values that match, secrets redacted (${runbookName} runbook, both modes)`, async () => {
      const plan = await planDrill({
        runbookPath: RUNBOOKS[runbookName],
        allowDrift: false,
        isolation: 'both',
        procedures: PROCEDURES,
        only: [],
        skip: [],
        stack: 'emulated',
      });
      let held = new Map<string, ProducedArtifact>();
      let previous: PlannedRun | undefined;
      let compared = 0;
      for (const run of plan.runs) {
        const procedure = PROCEDURES.find((candidate) => candidate.id === run.id)!;
        // What the environment holds when this procedure's bindings are computed: earlier procedures' files, then its own inputs.
        if (run.mode === 'alone' || previous?.mode !== run.mode) held = new Map();
        for (const input of run.inputs)
          held.set(input.artifact, {
            name: input.artifact,
            path: join(workspace.backupsDir, concrete(input.file)),
            sha256: 'f'.repeat(64),
            producedBy: 'harness',
          });
        const redactor = new Redactor().add('secret_key', canariesFor(42).secretKey);
        const drill = {
          runbook: runbooks[runbookName]!,
          redactor,
          canaries: canariesFor(42),
          drillId: 'plantest',
        } as unknown as DrillState;
        const environment = { artifacts: held } as unknown as EnvironmentState;
        const recorder = new ProcedureRecorder(
          { id: procedure.id, title: procedure.title, section: procedure.section, mode: run.mode },
          { findings: [], redactor },
        );
        const context = new ProcedureContext(
          procedure,
          recorder,
          { workspace } as unknown as StartedStack,
          drill,
          environment,
          join(workspace.root, 'evidence'),
        );
        const live = (await procedure.bindings?.(context)) ?? [];
        const plannedByPlaceholder = new Map(
          run.blocks.flatMap((block) => block.substitutions).map((substitution) => [substitution.placeholder, substitution]),
        );
        const liveInBlocks = live.filter((binding) =>
          run.blocks.some((block) =>
            runbooks[runbookName]!.blocks.find(
              (candidate) => candidate.sectionTitle === procedure.section && candidate.index === block.index,
            )?.text.includes(binding.placeholder),
          ),
        );
        expect(new Set(liveInBlocks.map((binding) => binding.placeholder)), `${run.mode}/${run.id}: placeholders`).toEqual(
          new Set(plannedByPlaceholder.keys()),
        );
        for (const binding of liveInBlocks) {
          const plannedBinding = plannedByPlaceholder.get(binding.placeholder)!;
          if (plannedBinding.secret) {
            expect(redactor.redact(binding.value), `${run.mode}/${run.id}: ${binding.placeholder} is a registered secret`).not.toBe(
              binding.value,
            );
            expect(plannedBinding.value).toBe('<redacted>');
          } else {
            expect(binding.value, `${run.mode}/${run.id}: ${binding.placeholder}`).toMatch(pattern(plannedBinding.value));
            expect(Boolean(plannedBinding.runtime), `${run.mode}/${run.id}: ${binding.placeholder} runtime marker`).toBe(
              RUNTIME_TOKEN.test(plannedBinding.value),
            );
          }
          compared += 1;
        }
        for (const artifact of run.produces)
          held.set(artifact.name, {
            name: artifact.name,
            path: join(workspace.backupsDir, concrete(artifact.file)),
            sha256: 'e'.repeat(64),
            producedBy: run.id,
          });
        if (procedure.plan?.destroysWorkspaceFiles) held = new Map();
        previous = run;
      }
      // restore-custom, restore-sql, volume-restore, automated-backup and both recoveries, in two modes.
      expect(compared).toBeGreaterThanOrEqual(2 * (1 + 1 + 1 + 1 + 4 + 4));
    });
  }
});
