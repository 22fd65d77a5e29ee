import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Procedure } from '../drill/procedure.ts';
import { findBlock, type Block, type Runbook } from '../runbook/runbook.ts';
import type { PlanContext, PlannedArtifact } from './procedure-plan.ts';

/**
 * One drill environment as `plan` imagines it: which files earlier procedures would leave, and where
 * the workspace would be. It answers only static questions; nothing is created.
 */
export class PlanEnvironment {
  /** Mirrors Workspace.create(): mkdtemp(<tmpdir>/nmia-drill-<drill id>-XXXXXX). */
  readonly workspace = join(tmpdir(), 'nmia-drill-{drill-id}-{random}');
  private readonly artifacts = new Map<string, PlannedArtifact>();

  constructor(
    private readonly runbook: Runbook,
    readonly mode: 'order' | 'alone',
  ) {}

  /** A PlanContext for one procedure; its harness inputs are collected in `inputs`. */
  contextFor(procedure: Procedure): { context: PlanContext; inputs: Array<{ artifact: PlannedArtifact; purpose: string }> } {
    const inputs: Array<{ artifact: PlannedArtifact; purpose: string }> = [];
    const projectDir = join(this.workspace, 'nmia');
    const context: PlanContext = {
      mode: this.mode,
      workspace: this.workspace,
      projectDir,
      harnessDir: join(this.workspace, '.harness'),
      block: (index: number): Block => {
        const block = findBlock(this.runbook, procedure.section, index);
        if (!block) throw new Error(`${procedure.id}: the runbook has no block ${index} in "${procedure.section}"`);
        return block;
      },
      artifact: (name) => this.artifacts.get(name),
      harnessInput: (artifact, purpose) => {
        if (!inputs.some((input) => input.artifact.name === artifact.name)) inputs.push({ artifact, purpose });
        this.artifacts.set(artifact.name, artifact);
      },
    };
    return { context, inputs };
  }

  /** After a procedure: what it leaves, or what its disaster takes away. */
  after(procedure: Procedure): void {
    if (procedure.plan?.destroysWorkspaceFiles) this.artifacts.clear();
    for (const artifact of procedure.plan?.produces ?? []) this.artifacts.set(artifact.name, artifact);
  }
}
