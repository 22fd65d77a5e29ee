import type pg from 'pg';
import type { BlockRun } from '../exec/block-runner.ts';
import type { Binding } from '../exec/binding.ts';
import type { Finding, Rung } from '../evidence/journal.ts';
import type { NewFinding, ProcedureRecorder } from '../evidence/procedure-recorder.ts';
import type { Block } from '../runbook/runbook.ts';
import type { StartedStack } from '../stacks/stack.ts';
import type { ArtifactEvidence } from '../verify/artifact-check.ts';
import type { Manifest } from '../verify/manifest.ts';
import type { PlainReplayResult } from '../postgres/plain-dump-replay.ts';
import { ArtifactShelf } from './context/artifact-shelf.ts';
import { BlockSession, type BlockCheckpoint } from './context/block-session.ts';
import { DatabaseAccess } from './context/database-access.ts';
import { HarnessActions } from './context/harness-actions.ts';
import { RestoredDatabaseCheck } from './context/restored-database-check.ts';
import { ScratchDatabases } from './context/scratch-databases.ts';
import type { DrillReporter } from './drill-reporter.ts';
import type { DrillState, EnvironmentState, ProducedArtifact } from './drill-state.ts';
import type { Procedure } from './procedure.ts';

/**
 * Everything a procedure module may use while it runs. A facade: each job lives in its own part
 * (src/drill/context/: blocks, harness actions, database access, scratch databases, artifacts, the
 * restored-database check; the record in src/evidence/procedure-recorder.ts), and the procedure sees one
 * short list of verbs.
 */
export class ProcedureContext {
  /** Values a procedure keeps between its own hooks. */
  readonly scratch: Record<string, unknown> = {};
  private readonly blocks: BlockSession;
  private readonly database: DatabaseAccess;
  private readonly harness: HarnessActions;
  private readonly scratchDatabases: ScratchDatabases;
  private readonly artifacts: ArtifactShelf;
  private readonly restoredCheck: RestoredDatabaseCheck;

  constructor(
    readonly procedure: Procedure,
    /** The procedure's record: rungs, findings, harness actions, artifacts and blocks go through it. */
    readonly evidence: ProcedureRecorder,
    readonly stack: StartedStack,
    readonly drill: DrillState,
    readonly environment: EnvironmentState,
    readonly evidenceDir: string,
    private readonly reporter?: DrillReporter,
  ) {
    const step = (text: string) => this.step(text);
    this.blocks = new BlockSession(procedure, drill, stack, evidence, evidenceDir, reporter);
    this.database = new DatabaseAccess(stack, (label, manifest) => this.keepManifest(label, manifest), step);
    this.harness = new HarnessActions(stack, this.database, evidence, step, () => this.blocks.workingDirectory);
    this.scratchDatabases = new ScratchDatabases(this.harness, drill.drillId);
    this.artifacts = new ArtifactShelf(procedure.id, environment, evidence, stack.binaries, stack.workspace.projectDir, {
      key: drill.backupKey,
      harnessDir: stack.workspace.harnessDir,
    });
    this.restoredCheck = new RestoredDatabaseCheck(this.database, evidence);
  }

  /** Tells a live view what this procedure is doing now (redacted); nothing when no reporter asks. */
  private step(text: string): void {
    this.reporter?.onProcedureStep?.(this.procedure.id, this.drill.redactor.redact(text));
  }

  private keepManifest(label: string, manifest: Manifest): void {
    this.drill.journal.manifests[`${this.mode}/${this.procedure.id}: ${label}`] = manifest;
  }

  /** `order` (after the sections before it) or `alone` (in a fresh environment). */
  get mode(): 'order' | 'alone' {
    return this.evidence.mode;
  }

  get projectDir(): string {
    return this.stack.workspace.projectDir;
  }

  get backupsDir(): string {
    return this.stack.workspace.backupsDir;
  }

  // ── the runbook's blocks ────────────────────────────────────────────────

  block(index: number): Block {
    return this.blocks.block(index);
  }

  /** Runs one block as written (plus declared bindings); the result is kept as evidence. */
  runBlock(index: number, bindings: Binding[], options: { checkpoints?: BlockCheckpoint[]; label?: string } = {}): Promise<BlockRun> {
    return this.blocks.run(index, bindings, options);
  }

  /** Where the next block starts (e.g. the recovery host's home before `git clone`). */
  setWorkingDirectory(dir: string): void {
    this.blocks.setWorkingDirectory(dir);
  }

  // ── the harness's own actions, recorded apart from the runbook's ─────────

  harnessDocker(purpose: string, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    return this.harness.docker(purpose, args);
  }

  harnessSql(purpose: string, sql: string, database = 'nmia'): Promise<pg.QueryResult> {
    return this.harness.sql(purpose, sql, database);
  }

  harnessAction<T>(purpose: string, command: string, action: () => Promise<T>): Promise<T> {
    return this.harness.action(purpose, command, action);
  }

  createScratchDatabase(purpose: string): Promise<string> {
    return this.scratchDatabases.create(purpose);
  }

  dropScratchDatabase(name: string): Promise<void> {
    return this.scratchDatabases.drop(name);
  }

  // ── the database, as the harness sees it ─────────────────────────────────

  withDb<T>(use: (client: pg.Client) => Promise<T>, database = 'nmia'): Promise<T> {
    return this.database.withDb(use, database);
  }

  manifest(label: string, database = 'nmia'): Promise<Manifest> {
    return this.database.manifest(label, database);
  }

  closeWindow(before: Manifest): void {
    this.database.closeWindow(before);
  }

  backupWindow(): Promise<{ before: Manifest; after: Manifest } | undefined> {
    return this.database.backupWindow();
  }

  pgClient(binary: string, args: string[], database = 'nmia'): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    return this.database.pgClient(binary, args, database);
  }

  replayPlainDump(path: string, database: string, options: { oneSession?: boolean } = {}): Promise<PlainReplayResult> {
    return this.database.replayPlainDump(path, database, options);
  }

  // ── evidence ─────────────────────────────────────────────────────────────

  rung(rung: Rung): Rung {
    return this.evidence.rung(rung);
  }

  pass(rung: Rung['rung'], check: string, summary: string, evidence?: Record<string, unknown>): void {
    this.evidence.pass(rung, check, summary, evidence);
  }

  fail(rung: Rung['rung'], check: string, summary: string, evidence?: Record<string, unknown>): void {
    this.evidence.fail(rung, check, summary, evidence);
  }

  finding(finding: NewFinding): Finding {
    return this.evidence.finding(finding);
  }

  verifyRestoredDatabase(
    database: string,
    expected: { before: Manifest; after?: Manifest },
    options: { privilegesDroppedByDesign?: boolean; restored?: Manifest; physical?: boolean } = {},
  ): Promise<boolean> {
    return this.restoredCheck.verify(database, expected, options);
  }

  /** pg_amcheck --heapallindexed on a restored database, as a content rung with its cost (for one the section drops itself). */
  checkRestoredPages(database: string): Promise<boolean> {
    return this.restoredCheck.checkPhysical(database);
  }

  // ── artifacts ────────────────────────────────────────────────────────────

  /** Rung 1 for a file: exists, size, sha256, readable in its format. */
  checkArtifact(name: string, path: string, expectedFormat?: ArtifactEvidence['format']): Promise<ArtifactEvidence> {
    return this.artifacts.check(name, path, expectedFormat);
  }

  /** The file, or the plaintext of an OpenPGP-encrypted one (decrypted with the drill's backup key), for the harness's own reads. */
  readablePath(path: string): Promise<string> {
    return this.artifacts.readablePath(path);
  }

  /** Puts a file on the shelf for later procedures of this environment. */
  produce(artifact: Omit<ProducedArtifact, 'producedBy'>): void {
    this.artifacts.produce(artifact);
  }

  artifact(name: string): ProducedArtifact | undefined {
    return this.artifacts.find(name);
  }

  /** Path of a file as an operator in the project directory would type it. */
  relativeToProject(path: string): string {
    return this.artifacts.relativeToProject(path);
  }
}
