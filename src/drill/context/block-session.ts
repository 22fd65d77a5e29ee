import { BACKUP_KEY_PLACEHOLDER } from '../../custody/backup-key.ts';
import { BlockActivityWatcher } from '../../exec/block-activity-watcher.ts';
import { BlockRunner, blockTraceFile, type BlockRun } from '../../exec/block-runner.ts';
import type { Binding } from '../../exec/binding.ts';
import type { ProcedureRecorder } from '../../evidence/procedure-recorder.ts';
import { findBlock, type Block } from '../../runbook/runbook.ts';
import type { StartedStack } from '../../stacks/stack.ts';
import type { DrillReporter } from '../drill-reporter.ts';
import type { DrillState } from '../drill-state.ts';

export type BlockCheckpoint = { beforeCommand: string; run: () => Promise<void> };

/**
 * The operator's shell session over one procedure's section: runs its blocks as written (plus declared
 * bindings), in the directory the last block left, and records each run.
 */
export class BlockSession {
  private cwd: string;

  constructor(
    /** The procedure whose section this session runs (its id names it to a live view). */
    private readonly procedure: { id: string; section: string },
    private readonly drill: DrillState,
    private readonly stack: StartedStack,
    private readonly recorder: ProcedureRecorder,
    private readonly evidenceDir: string,
    private readonly reporter: DrillReporter | undefined,
  ) {
    this.cwd = stack.workspace.projectDir;
  }

  /** The operator's current directory: blocks of one procedure share a shell session. */
  get workingDirectory(): string {
    return this.cwd;
  }

  /** Where the next block starts (e.g. the recovery host's home before `git clone`). */
  setWorkingDirectory(dir: string): void {
    this.cwd = dir;
  }

  block(index: number): Block {
    const block = findBlock(this.drill.runbook, this.procedure.section, index);
    if (!block) throw new Error(`${this.procedure.id}: the runbook has no block ${index} in "${this.procedure.section}"`);
    return block;
  }

  /** Runs one block as written (plus declared bindings); the result is kept as evidence. */
  async run(index: number, bindings: Binding[], options: { checkpoints?: BlockCheckpoint[]; label?: string } = {}): Promise<BlockRun> {
    const label = options.label ?? `block-${index}`;
    const block = this.block(index);
    this.reporter?.onProcedureStep?.(this.procedure.id, this.drill.redactor.redact(`block ${index} (runbook line ${block.line})`));
    const watcher = this.watch(label);
    await watcher?.start();
    const custody = await this.custody(block);
    let run: BlockRun;
    try {
      run = await new BlockRunner().run({
        block,
        bindings: [...bindings, ...custody.bindings].filter((binding) => block.text.includes(binding.placeholder)),
        cwd: this.cwd,
        evidenceDir: this.evidenceDir,
        label,
        checkpoints: options.checkpoints ?? [],
        env: { ...this.stack.blockEnv(), ...custody.env },
        redactor: this.drill.redactor,
      });
    } finally {
      await watcher?.stop();
    }
    this.recorder.block(run);
    if (run.finalCwd) this.cwd = run.finalCwd;
    return run;
  }

  /**
   * The backup key, for a block that names the runbook's passphrase file: bound to the drill's copy in this
   * workspace, with gpg's home kept in the workspace too (its agent is stopped with the workspace).
   */
  private async custody(block: Block): Promise<{ bindings: Binding[]; env: Record<string, string> }> {
    if (!block.text.includes(BACKUP_KEY_PLACEHOLDER)) return { bindings: [], env: {} };
    const { keyFile, gnupgHome } = await this.drill.backupKey.install(this.stack.workspace.harnessDir);
    return {
      bindings: [
        { placeholder: BACKUP_KEY_PLACEHOLDER, value: keyFile, reason: 'the backup encryption key, held in custody by the drill' },
      ],
      env: { GNUPGHOME: gnupgHome },
    };
  }

  /**
   * While a block runs, a live view is told the command bash is on and the size of dumps and copies
   * growing in ./backups (and, where the stack can see them, in its services' /tmp). Only when the
   * reporter asks for it: plain and quiet runs poll nothing.
   */
  private watch(label: string): BlockActivityWatcher | undefined {
    const reporter = this.reporter;
    if (!reporter?.onProcedureStep && !reporter?.onBytesProgress) return undefined;
    const redact = (text: string) => this.drill.redactor.redact(text);
    return new BlockActivityWatcher({
      traceFile: blockTraceFile(this.evidenceDir, label),
      dirs: () => [{ dir: this.stack.workspace.backupsDir, shownAs: './backups' }, ...(this.stack.transferDirs?.() ?? [])],
      listener: {
        onCommand: (text) => reporter.onProcedureStep?.(this.procedure.id, `$ ${redact(text)}`),
        onBytes: (fileLabel, bytes, totalBytes) => reporter.onBytesProgress?.(redact(fileLabel), bytes, totalBytes),
      },
    });
  }
}
