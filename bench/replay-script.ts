import type { Journal, ProcedureRecord } from '../src/evidence/journal.ts';
import { shellQuote } from './timed-bash-script.ts';

/** Step names shared by the drill's breakdown and the replay, so the two line up side by side. */
export const STEP = {
  manifestBefore: (id: string) => `${id} › manifest just before the blocks`,
  manifestAfter: (id: string) => `${id} › manifest just after the blocks`,
  // Dated dump names differ from round to round; the step is the same.
  command: (id: string, text: string) => `${id} › $ ${text.replace(/\d{8}_\d{6}/g, '<date>_<time>')}`,
  harness: (id: string, purpose: string) => `${id} › harness: ${purpose}`,
  artifactCheck: (id: string) => `${id} › verify: artifact check (sha256, pg_restore --list, pg_restore -f /dev/null)`,
  restoredManifest: (id: string) => `${id} › verify: manifest of the restored database`,
  damageCheck: 'between procedures › damage check (core tables against the seeded baseline)',
  blockRunner: 'block runner: bash start, tracer, output files (outside the commands)',
  unattributed: 'unattributed: harness orchestration / bash start and step markers',
} as const;

export interface ReplayInputs {
  journal: Journal;
  /** The statements takeManifest sends, captured from a recording client (bench/recording-client.ts). */
  manifestSqlFile: string;
  /** Directory for the replay's own outputs (manifest rows, TOC listing). */
  outDir: string;
  /**
   * Whether the drill's damage check before restore-custom took a fresh full manifest. It reuses
   * full-backup's "just after the blocks" manifest when it can (EnvironmentState.stateAfterLastProcedure);
   * the replay then sends no SQL for it either, so both sides do the same work.
   */
  damageCheckTookManifest: boolean;
  /**
   * Per procedure id: the index of its first harness action recorded by its verify hook (after the
   * blocks, e.g. waiting for the restarted application). Those are replayed after its verification;
   * the ones before it (prepare, disaster) before the blocks. Absent: all of them come before.
   */
  verifyActionsFrom?: Partial<Record<string, number>>;
}

/** The most recent order-mode record of a procedure (the bench runs the same procedures in rounds). */
export function latestRecord(journal: Journal, id: string): ProcedureRecord {
  const found = journal.procedures.findLast((candidate) => candidate.id === id && candidate.mode === 'order');
  if (!found)
    throw new Error(
      `the journal has no order-mode record of ${id}: run the drill with --only full-backup,restore-custom --isolation order`,
    );
  if (found.outcome !== 'passed')
    throw new Error(
      `${id} did not pass in the drill (${found.outcome}: ${found.reason ?? 'see its rungs'}); a baseline of a failed drill means nothing`,
    );
  return found;
}

function assertReplayable(text: string): string {
  if (text.includes('[REDACTED:')) throw new Error(`cannot replay a redacted command from the journal: ${text.slice(0, 80)}`);
  return text;
}

function manifestStep(name: string, index: number): string {
  return `step ${shellQuote(name)}\n"$PSQL" -X -q -A -t -v ON_ERROR_STOP=1 -d nmia -f "$MANIFEST_SQL" > "$OUT/manifest-${index}.txt"\n`;
}

/**
 * The harness's own actions, as a shell would run them: SQL through psql, docker commands verbatim,
 * a bounded HTTP wait as a curl loop polling at waitForHttp's pace. `part` picks the actions before the
 * blocks or those of the verify hook (see ReplayInputs.verifyActionsFrom).
 */
function harnessActionLines(procedure: ProcedureRecord, part: 'before the blocks' | 'verify', inputs: ReplayInputs): string {
  const from = inputs.verifyActionsFrom?.[procedure.id] ?? procedure.harnessActions.length;
  const actions = part === 'verify' ? procedure.harnessActions.slice(from) : procedure.harnessActions.slice(0, from);
  return actions
    .map((action) => {
      const command = assertReplayable(action.command);
      const sql = /^SQL on ([A-Za-z0-9_]+): ([\s\S]*)$/.exec(command);
      const name = shellQuote(STEP.harness(procedure.id, action.purpose));
      if (sql) return `step ${name}\n"$PSQL" -X -q -v ON_ERROR_STOP=1 -d ${sql[1]} -c ${shellQuote(sql[2]!)} > /dev/null\n`;
      if (command.startsWith('docker ')) return `step ${name}\n${command}\n`;
      const wait = /^GET (\S+) until 200(?:, (docker compose ps -a [\w -]+))?$/.exec(command);
      if (wait)
        return `step ${name}\nuntil curl -fs -o /dev/null --max-time 2 ${shellQuote(wait[1]!)}; do sleep 0.15; done\n${wait[2] ? `${wait[2]} > /dev/null\n` : ''}`;
      throw new Error(`cannot replay harness action "${action.purpose}": ${command.slice(0, 80)}`);
    })
    .join('');
}

function blockLines(procedure: ProcedureRecord): string {
  return procedure.blocks
    .flatMap((block) => block.commands)
    .map((command) => `step ${shellQuote(STEP.command(procedure.id, command.text))}\n${assertReplayable(command.text)}\n`)
    .join('');
}

/**
 * A bash script doing what the drill did for full-backup then restore-custom, in the same order:
 * the block commands and harness actions copied from the journal's command log, and the verification
 * the drill runs but does not log as commands (manifest SQL, the artifact check of artifact-check.ts).
 * It runs in the drill's own workspace with the same `docker` on PATH.
 */
export function replayScript(inputs: ReplayInputs): string {
  const { journal } = inputs;
  const backup = latestRecord(journal, 'full-backup');
  const restore = latestRecord(journal, 'restore-custom');
  let manifests = 0;
  return [
    `MANIFEST_SQL=${shellQuote(inputs.manifestSqlFile)}`,
    `OUT=${shellQuote(inputs.outDir)}`,
    '# full-backup: the window manifests bracket the block (captureWindow)',
    harnessActionLines(backup, 'before the blocks', inputs),
    manifestStep(STEP.manifestBefore(backup.id), manifests++),
    blockLines(backup),
    manifestStep(STEP.manifestAfter(backup.id), manifests++),
    '# verify: rung 1 as src/verify/artifact-check.ts does it (sha256 streamed alongside the pg_restore reads)',
    `step ${shellQuote(STEP.artifactCheck(backup.id))}`,
    'dump=$(ls -t ./backups/nmia_backup_*.dump | head -1)',
    'sha256sum "$dump" > /dev/null & sha_pid=$!',
    '"$PG_RESTORE" --list "$dump" > "$OUT/toc.txt"',
    '"$PG_RESTORE" -f /dev/null "$dump"',
    'wait "$sha_pid"',
    harnessActionLines(backup, 'verify', inputs),
    '# the runner checks the environment before the next procedure (DrillEnvironment.damage): SQL only when it took a fresh manifest',
    inputs.damageCheckTookManifest ? manifestStep(STEP.damageCheck, manifests++) : '',
    '# restore-custom: prepare/disaster harness actions, then the block, then the restored manifest, then what its verify did after',
    harnessActionLines(restore, 'before the blocks', inputs),
    blockLines(restore),
    manifestStep(STEP.restoredManifest(restore.id), manifests++),
    harnessActionLines(restore, 'verify', inputs),
  ].join('\n');
}

/** Only the raw commands an operator without a harness would type: no manifests, no checks. */
export function rawScript(outDir: string): string {
  return [
    `OUT=${shellQuote(outDir)}`,
    `step 'pg_dump -Fc'`,
    '"$PG_DUMP" -Fc -d nmia -f "$OUT/raw.dump"',
    `step 'dropdb'`,
    '"$DROPDB" nmia',
    `step 'createdb'`,
    '"$CREATEDB" nmia',
    `step 'pg_restore'`,
    // The runbook's own restore options, so both restores do the same work.
    '"$PG_RESTORE" -d nmia --no-owner --no-privileges "$OUT/raw.dump"',
  ].join('\n');
}

/** Where the operator's raw dump lives inside the db container (not the runbook's file, so nothing of the drill's is touched). */
export const COMPOSE_RAW_DUMP = '/tmp/bench_raw.dump';

/**
 * The raw commands an operator would type on a compose stack, as the runbook types them: the db
 * container's own pg_dump, dropdb, createdb and pg_restore through `docker compose exec`, run from the
 * project directory. No copies, no manifests, no checks; the app services are stopped beforehand.
 */
export function composeRawScript(options: { user?: string; database?: string } = {}): string {
  const user = shellQuote(options.user ?? 'nmia');
  const database = shellQuote(options.database ?? 'nmia');
  const exec = 'docker compose exec -T db';
  return [
    `step 'pg_dump -Fc'`,
    `${exec} pg_dump -U ${user} -d ${database} -Fc --file=${COMPOSE_RAW_DUMP}`,
    `step 'dropdb'`,
    `${exec} dropdb -U ${user} ${database}`,
    `step 'createdb'`,
    `${exec} createdb -U ${user} ${database}`,
    `step 'pg_restore'`,
    `${exec} pg_restore -U ${user} -d ${database} --no-owner --no-privileges ${COMPOSE_RAW_DUMP}`,
  ].join('\n');
}
