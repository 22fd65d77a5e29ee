import { mkdir, rm, writeFile } from 'node:fs/promises';
import { join, relative } from 'node:path';
import { execa } from 'execa';
import pg from 'pg';
import { BlockActivityWatcher } from '../exec/block-activity-watcher.ts';
import { BlockRunner, blockTraceFile, type BlockRun } from '../exec/block-runner.ts';
import { connectPg } from '../postgres/pg-connect.ts';
import { APP_WRITTEN_TABLES, waitForDatabase } from './drill-environment.ts';
import type { Binding } from '../exec/binding.ts';
import type { Finding, ProcedureRecord, Rung } from '../evidence/journal.ts';
import { findBlock, type Block } from '../runbook/runbook.ts';
import type { StartedStack } from '../stacks/stack.ts';
import { checkArtifact, type ArtifactEvidence } from '../verify/artifact-check.ts';
import { compareWithBackupWindow } from '../verify/backup-window.ts';
import { diffManifests } from '../verify/manifest-diff.ts';
import { takeManifest, type Manifest } from '../verify/manifest.ts';
import type { DrillReporter } from './drill-reporter.ts';
import type { DrillState, EnvironmentState, ProducedArtifact } from './drill-state.ts';
import type { Procedure } from './procedure.ts';

/** Everything a procedure module may use while it runs: the stack, evidence recording and verification. */
export class ProcedureContext {
  private cwd: string;
  /** Values a procedure keeps between its own hooks. */
  readonly scratch: Record<string, unknown> = {};
  private windowClosing: Promise<{ before: Manifest; after: Manifest }> | undefined;

  /**
   * Closes a backup window: the "after" manifest is taken from now on while the procedure's checks read
   * the artifact (file work beside database work, on different cores). `backupWindow()` waits for it.
   */
  closeWindow(before: Manifest): void {
    const closing = this.manifest('just after the blocks').then((after) => ({ before, after }));
    // Awaited through backupWindow(); the runner awaits it too, so a failure is never unhandled.
    closing.catch(() => undefined);
    this.windowClosing = closing;
  }

  /** Manifests right before and after the blocks, for procedures that capture a backup window (undefined otherwise). */
  async backupWindow(): Promise<{ before: Manifest; after: Manifest } | undefined> {
    return this.windowClosing;
  }

  constructor(
    readonly procedure: Procedure,
    readonly record: ProcedureRecord,
    readonly stack: StartedStack,
    readonly drill: DrillState,
    readonly environment: EnvironmentState,
    readonly evidenceDir: string,
    private readonly reporter?: DrillReporter,
  ) {
    this.cwd = stack.workspace.projectDir;
  }

  /** Tells a live view what this procedure is doing now (redacted); nothing when no reporter asks. */
  private step(text: string): void {
    this.reporter?.onProcedureStep?.(this.procedure.id, this.drill.redactor.redact(text));
  }

  get projectDir(): string {
    return this.stack.workspace.projectDir;
  }

  get backupsDir(): string {
    return this.stack.workspace.backupsDir;
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
  async runBlock(
    index: number,
    bindings: Binding[],
    options: { checkpoints?: Array<{ beforeCommand: string; run: () => Promise<void> }>; label?: string } = {},
  ): Promise<BlockRun> {
    const label = options.label ?? `block-${index}`;
    this.step(`block ${index} (runbook line ${this.block(index).line})`);
    const watcher = this.watchBlock(label);
    await watcher?.start();
    let run: BlockRun;
    try {
      run = await new BlockRunner().run({
        block: this.block(index),
        bindings: bindings.filter((binding) => this.block(index).text.includes(binding.placeholder)),
        cwd: this.cwd,
        evidenceDir: this.evidenceDir,
        label,
        checkpoints: options.checkpoints ?? [],
        env: this.stack.blockEnv(),
        redactor: this.drill.redactor,
      });
    } finally {
      await watcher?.stop();
    }
    this.record.blocks.push(run);
    if (run.finalCwd) this.cwd = run.finalCwd;
    return run;
  }

  /**
   * While a block runs, a live view is told the command bash is on and the size of dumps and copies
   * growing in ./backups (and, where the stack can see them, in its services' /tmp). Only when the
   * reporter asks for it: plain and quiet runs poll nothing.
   */
  private watchBlock(label: string): BlockActivityWatcher | undefined {
    const reporter = this.reporter;
    if (!reporter?.onProcedureStep && !reporter?.onBytesProgress) return undefined;
    const redact = (text: string) => this.drill.redactor.redact(text);
    return new BlockActivityWatcher({
      traceFile: blockTraceFile(this.evidenceDir, label),
      dirs: () => [{ dir: this.backupsDir, shownAs: './backups' }, ...(this.stack.transferDirs?.() ?? [])],
      listener: {
        onCommand: (text) => reporter.onProcedureStep?.(this.procedure.id, `$ ${redact(text)}`),
        onBytes: (fileLabel, bytes, totalBytes) => reporter.onBytesProgress?.(redact(fileLabel), bytes, totalBytes),
      },
    });
  }

  // ── the harness's own actions, recorded apart from the runbook's ─────────

  async harnessDocker(purpose: string, args: string[]): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    this.step(purpose);
    const result = await this.stack.docker(args, { cwd: this.cwd });
    this.record.harnessActions.push({
      purpose,
      command: this.drill.redactor.redact(result.command),
      exitCode: result.exitCode,
      durationMs: result.durationMs,
      ...(result.exitCode === 0 ? {} : { detail: this.drill.redactor.redact(result.stderr.trim().split('\n').slice(-4).join('\n')) }),
    });
    if (result.exitCode !== 0)
      throw new Error(
        `harness step failed (${purpose}): ${result.command} exited ${result.exitCode}: ${result.stderr.trim().split('\n').at(-1) ?? ''}`,
      );
    return result;
  }

  async harnessSql(purpose: string, sql: string, database = 'nmia'): Promise<pg.QueryResult> {
    this.step(purpose);
    const started = Date.now();
    const result = await this.withDb((client) => client.query(sql), database);
    this.record.harnessActions.push({
      purpose,
      command: `SQL on ${database}: ${this.drill.redactor.redact(sql)}`,
      exitCode: 0,
      durationMs: Date.now() - started,
    });
    return result;
  }

  async harnessAction<T>(purpose: string, command: string, action: () => Promise<T>): Promise<T> {
    this.step(purpose);
    const started = Date.now();
    try {
      const value = await action();
      this.record.harnessActions.push({ purpose, command, exitCode: 0, durationMs: Date.now() - started });
      return value;
    } catch (error) {
      this.record.harnessActions.push({
        purpose,
        command,
        exitCode: 1,
        durationMs: Date.now() - started,
        detail: this.drill.redactor.redact((error as Error).message),
      });
      throw error;
    }
  }

  /** The harness's own connection; a db service still starting (as after `up -d`) is waited for, within bounds. */
  async withDb<T>(use: (client: pg.Client) => Promise<T>, database = 'nmia'): Promise<T> {
    await waitForDatabase(this.stack, database, 60_000);
    const client = await connectPg({ ...this.stack.dbClientConfig(database), connectionTimeoutMillis: 10_000 });
    try {
      return await use(client);
    } finally {
      await client.end();
    }
  }

  async manifest(label: string, database = 'nmia'): Promise<Manifest> {
    this.step(`manifest of ${database}: ${label}`);
    const manifest = await this.withDb((client) => takeManifest(client), database);
    this.drill.journal.manifests[`${this.record.mode}/${this.procedure.id}: ${label}`] = manifest;
    return manifest;
  }

  // ── evidence ─────────────────────────────────────────────────────────────

  rung(rung: Rung): Rung {
    this.record.rungs.push(this.drill.redactor.redactDeep(rung));
    this.step(`${rung.rung}: ${rung.check} → ${rung.outcome}`);
    return rung;
  }

  pass(rung: Rung['rung'], check: string, summary: string, evidence?: Record<string, unknown>): void {
    this.rung({ rung, check, outcome: 'passed', summary, ...(evidence ? { evidence } : {}) });
  }

  fail(rung: Rung['rung'], check: string, summary: string, evidence?: Record<string, unknown>): void {
    this.rung({ rung, check, outcome: 'failed', summary, ...(evidence ? { evidence } : {}) });
  }

  finding(finding: Omit<Finding, 'id' | 'procedure' | 'section'> & { section?: string }): Finding {
    const complete: Finding = this.drill.redactor.redactDeep({
      id: `F${String(this.drill.findings.length + 1).padStart(2, '0')}`,
      procedure: this.procedure.id,
      section: finding.section ?? this.procedure.section,
      ...finding,
    });
    this.drill.findings.push(complete);
    this.record.findings.push(complete.id);
    return complete;
  }

  /** Rung 1 for a file: exists, size, sha256, readable in its format. Registers it for later procedures. */
  async checkArtifact(name: string, path: string, expectedFormat?: ArtifactEvidence['format']): Promise<ArtifactEvidence> {
    const evidence = await checkArtifact(path, {
      pgRestorePath: this.stack.binaries.path('pg_restore'),
      ...(expectedFormat ? { expectedFormat } : {}),
    });
    const shown = relative(this.projectDir, path).startsWith('..') ? path : `./${relative(this.projectDir, path)}`;
    this.record.artifacts.push({
      name,
      path: shown,
      bytes: evidence.bytes,
      sha256: evidence.sha256,
      format: evidence.format,
      readable: evidence.readable,
      detail: evidence.detail,
      producedBy: this.procedure.id,
    });
    const summary = `${shown}: ${evidence.bytes} bytes, ${evidence.format}, ${evidence.detail}`;
    if (evidence.readable)
      this.pass('artifact', `${name} is a readable ${expectedFormat ?? evidence.format} file`, summary, { sha256: evidence.sha256 });
    else this.fail('artifact', `${name} is a readable ${expectedFormat ?? evidence.format} file`, summary, { sha256: evidence.sha256 });
    return evidence;
  }

  produce(artifact: Omit<ProducedArtifact, 'producedBy'>): void {
    this.environment.artifacts.set(artifact.name, { ...artifact, producedBy: this.procedure.id });
  }

  artifact(name: string): ProducedArtifact | undefined {
    return this.environment.artifacts.get(name);
  }

  /** Path of a file as an operator in the project directory would type it. */
  relativeToProject(path: string): string {
    return `./${relative(this.projectDir, path)}`;
  }

  /**
   * Rungs 3 and 4: the restored database against the state the backup captured. With a backup window
   * (manifests before and after the backup) tables written during it are held to bounds, and said so.
   */
  async verifyRestoredDatabase(
    database: string,
    expected: { before: Manifest; after?: Manifest },
    options: { privilegesDroppedByDesign?: boolean; restored?: Manifest } = {},
  ): Promise<boolean> {
    const restored = options.restored ?? (await this.manifest(`restored ${database}`, database));
    const differences = diffManifests(expected.before, restored);
    const structural = differences.filter(
      (difference) => difference.kind.startsWith('schema-object') && 'category' in difference && difference.category === 'structure',
    );
    const privileges = differences.filter(
      (difference) => difference.kind.startsWith('schema-object') && 'category' in difference && difference.category === 'privilege',
    );
    let ok = true;
    if (structural.length === 0) {
      this.pass(
        'structure',
        'schema fingerprint matches the backed-up database',
        `${Object.keys(restored.schema.objects).length} catalog objects compared`,
        { fingerprint: restored.schema.fingerprint },
      );
    } else {
      ok = false;
      this.fail(
        'structure',
        'schema fingerprint matches the backed-up database',
        structural
          .slice(0, 5)
          .map((difference) => difference.message)
          .join('; '),
        { differences: structural },
      );
    }
    if (privileges.length > 0) {
      if (options.privilegesDroppedByDesign) {
        this.rung({
          rung: 'structure',
          check: 'privileges (GRANTs) survive the restore',
          outcome: 'skipped',
          summary: `${privileges.length} privilege entries not restored: the runbook restores with --no-privileges by design`,
          evidence: { differences: privileges },
        });
      } else {
        ok = false;
        this.fail(
          'structure',
          'privileges (GRANTs) survive the restore',
          privileges
            .slice(0, 5)
            .map((difference) => difference.message)
            .join('; '),
          { differences: privileges },
        );
      }
    }
    const window = compareWithBackupWindow(expected.before, expected.after ?? expected.before, restored, { growing: APP_WRITTEN_TABLES });
    const contentDifferences = differences.filter((difference) => !difference.kind.startsWith('schema-object'));
    if (window.problems.length === 0) {
      const live =
        window.liveTables.length > 0 ? `; written by the running application, checked within bounds: ${window.liveTables.join(', ')}` : '';
      this.pass(
        'content',
        'row counts, content hashes and sequences match the backup',
        `${window.exactTables.length} tables exact${live}`,
        { liveTables: window.liveTables },
      );
    } else {
      ok = false;
      this.fail(
        'content',
        'row counts, content hashes and sequences match the backup',
        window.problems
          .slice(0, 6)
          .map((problem) => problem.message)
          .join('; '),
        { problems: window.problems, differences: contentDifferences },
      );
    }
    return ok;
  }

  /**
   * A database the harness creates for its own checks. Its name carries the drill's prefix, and it is
   * the only kind of database the harness ever drops.
   */
  async createScratchDatabase(purpose: string): Promise<string> {
    const name = `nmia_drill_${purpose}_${this.drill.drillId}`;
    await this.harnessSql(`scratch database for ${purpose.replace(/_/g, ' ')}`, `CREATE DATABASE ${pg.escapeIdentifier(name)}`, 'postgres');
    await this.harnessSql(
      'mark the scratch database as owned by this drill',
      `COMMENT ON DATABASE ${pg.escapeIdentifier(name)} IS ${pg.escapeLiteral(`nmia-drill:${this.drill.drillId}`)}`,
      'postgres',
    );
    return name;
  }

  async dropScratchDatabase(name: string): Promise<void> {
    const [row] = (
      await this.harnessSql(
        'check ownership before dropping',
        `SELECT shobj_description(oid, 'pg_database') AS marker FROM pg_database WHERE datname = ${pg.escapeLiteral(name)}`,
        'postgres',
      )
    ).rows as Array<{ marker: string | null }>;
    if (!row) return;
    if (row.marker !== `nmia-drill:${this.drill.drillId}`)
      throw new Error(`refusing to drop database ${name}: it does not carry this drill's ownership marker`);
    await this.harnessSql('drop the scratch database', `DROP DATABASE ${pg.escapeIdentifier(name)} WITH (FORCE)`, 'postgres');
  }

  async writeEvidence(name: string, content: string): Promise<string> {
    await mkdir(this.evidenceDir, { recursive: true });
    const path = join(this.evidenceDir, name);
    await writeFile(path, this.drill.redactor.redact(content));
    return path;
  }

  /** Runs a client binary from the machine's PostgreSQL against the db service (harness-side checks). */
  async pgClient(binary: string, args: string[], database = 'nmia'): Promise<{ exitCode: number; stdout: string; stderr: string }> {
    const config = this.stack.dbClientConfig(database);
    const result = await execa(this.stack.binaries.path(binary), args, {
      env: {
        PGHOST: String(config.host),
        PGPORT: String(config.port),
        PGUSER: String(config.user),
        PGDATABASE: database,
        ...(config.password ? { PGPASSWORD: String(config.password) } : {}),
      },
      reject: false,
      stdin: 'ignore',
    });
    return { exitCode: result.exitCode ?? 1, stdout: String(result.stdout), stderr: String(result.stderr) };
  }

  async removeScratch(path: string): Promise<void> {
    await rm(path, { recursive: true, force: true });
  }
}
