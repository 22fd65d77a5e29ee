import { execFileSync } from 'node:child_process';
import { appendFileSync, existsSync } from 'node:fs';
import { createServer } from 'node:net';
import type pg from 'pg';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';
import type { ProcedureRecord } from '../../src/evidence/journal.ts';
import { connectPg } from '../../src/postgres/pg-connect.ts';

/** The restorability/intent rung that says why the block failed, as the journal records it. */
export function failedRung(record: ProcedureRecord, rung: string): string {
  const found = record.rungs.find((candidate) => candidate.rung === rung && candidate.outcome === 'failed');
  return found
    ? found.summary
    : `(no failed ${rung} rung; rungs: ${record.rungs.map((candidate) => `${candidate.rung} ${candidate.outcome}`).join(', ')})`;
}

/** The text of the command that failed, with its stderr tail. */
export function failedCommand(record: ProcedureRecord): { text: string; exitCode: number | null; stderrTail: string } | undefined {
  const block = record.blocks.find((candidate) => candidate.exitCode !== 0);
  return block?.failedCommand
    ? { text: block.failedCommand.text, exitCode: block.failedCommand.exitCode, stderrTail: block.failedCommand.stderrTail }
    : undefined;
}

/**
 * Holds an ACCESS EXCLUSIVE lock on identities so pg_dump, once it has connected and opened its output
 * file, waits; then terminates its backend (the automated-backup procedure's technique). Returns a
 * promise that settles when it is done, and a stop() for when pg_dump never shows up.
 */
export async function killPgDumpWhenItWaits(
  context: ProcedureContext,
  timeoutMs = 15_000,
): Promise<{ done: Promise<{ killed: boolean }>; stop: () => void }> {
  const locker: pg.Client = await connectPg(context.stack.dbClientConfig('nmia'));
  await locker.query('BEGIN');
  await locker.query('LOCK TABLE identities IN ACCESS EXCLUSIVE MODE');
  let stopped = false;
  const done = (async () => {
    let killed = false;
    const deadline = Date.now() + timeoutMs;
    try {
      while (!killed && !stopped && Date.now() < deadline) {
        // Inside a transaction pg_stat_activity is a snapshot taken at first use: clear it on every poll.
        await locker.query('SELECT pg_stat_clear_snapshot()');
        const waiting = await locker.query<{ pid: number }>(
          "SELECT pid FROM pg_stat_activity WHERE application_name = 'pg_dump' AND wait_event_type = 'Lock'",
        );
        for (const { pid } of waiting.rows) {
          await locker.query('SELECT pg_terminate_backend($1)', [pid]);
          context.evidence.harnessAction({
            purpose: 'fault: terminate pg_dump part-way (connected, output file open, waiting on a lock)',
            command: `SELECT pg_terminate_backend(${pid})`,
            exitCode: 0,
            durationMs: 0,
          });
          killed = true;
        }
        if (!killed) await new Promise((resolve) => setTimeout(resolve, 50));
      }
    } finally {
      await locker.query('ROLLBACK').catch(() => undefined);
      await locker.end().catch(() => undefined);
    }
    return { killed };
  })();
  return { done, stop: () => (stopped = true) };
}

/** Runs the stack's own `docker` (the shim on the emulated stack) synchronously, for use inside `diagnose`. */
export function dockerSync(context: ProcedureContext, args: string[]): { ok: boolean; output: string } {
  try {
    return {
      ok: true,
      output: execFileSync('docker', args, {
        cwd: context.projectDir,
        env: context.stack.blockEnv(),
        encoding: 'utf8',
        stdio: ['ignore', 'pipe', 'pipe'],
      }),
    };
  } catch (error) {
    const failure = error as { stderr?: string; message: string };
    return { ok: false, output: (failure.stderr ?? failure.message).trim() };
  }
}

/**
 * Takes the api's published port while the api is stopped, so its restart fails with EADDRINUSE (another
 * process grabbed the port during the outage). Connections to it are dropped, so nothing answers /health.
 * (Editing the compose file's api command would not do: `docker compose start` reuses the container
 * `up` created, with its original command, on the emulated stack as on Docker.)
 */
export async function occupyApiPort(context: ProcedureContext): Promise<{ release: () => Promise<void> }> {
  const url = new URL(context.stack.serviceUrl('api', 8000));
  const server = createServer((socket) => socket.destroy());
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(Number(url.port), url.hostname, () => resolve());
  });
  context.evidence.harnessAction({
    purpose: 'fault: another process takes the api’s port while the api is stopped',
    command: `listen on ${url.host} (connections dropped)`,
    exitCode: 0,
    durationMs: 0,
  });
  let released = false;
  return {
    release: async () => {
      if (released) return;
      released = true;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

/** Mount points the tests made, so a failed test still unmounts them. */
export const mounts = new Set<string>();

export function unmount(path: string): void {
  if (!mounts.has(path)) return;
  try {
    execFileSync('umount', [path], { stdio: 'ignore' });
  } catch {
    execFileSync('umount', ['-l', path], { stdio: 'ignore' });
  }
  mounts.delete(path);
}

/** Immutable directories the tests made (chattr +i), cleared even when a test fails. */
export const immutables = new Set<string>();

export function clearImmutable(path: string): void {
  if (!immutables.has(path)) return;
  if (existsSync(path)) execFileSync('chattr', ['-i', path], { stdio: 'ignore' });
  immutables.delete(path);
}

export function canChattr(): { ok: true } | { ok: false; reason: string } {
  try {
    const probe = execFileSync('mktemp', ['-d'], { encoding: 'utf8' }).trim();
    try {
      execFileSync('chattr', ['+i', probe], { stdio: 'pipe' });
      execFileSync('chattr', ['-i', probe], { stdio: 'pipe' });
      return { ok: true };
    } finally {
      execFileSync('rmdir', [probe]);
    }
  } catch (error) {
    return { ok: false, reason: `chattr +i does not work on the temp filesystem: ${(error as Error).message.split('\n')[0]}` };
  }
}

/**
 * With NMIA_FAULT_OBSERVATIONS=<file>, appends what a fault drill reported (outcome, failed rungs,
 * findings) as one JSON line: the source of the table in docs/faults.md.
 */
export function noteObservation(
  test: string | undefined,
  record: ProcedureRecord,
  journal: { findings: Array<{ id: string; title: string; evidence: Record<string, unknown> }> },
): void {
  const file = process.env.NMIA_FAULT_OBSERVATIONS;
  if (!file) return;
  // The title, plus what a diagnosis checked (e.g. the dump's own read-back, what is left of the database).
  const findings = journal.findings
    .filter((finding) => record.findings.includes(finding.id))
    .map((finding) =>
      [
        finding.title,
        ...['dumpCheck', 'databaseNow'].filter((key) => key in finding.evidence).map((key) => `${key}: ${String(finding.evidence[key])}`),
      ].join(' | '),
    );
  const rungs = record.rungs.filter((rung) => rung.outcome !== 'passed').map((rung) => `${rung.outcome} ${rung.rung}: ${rung.summary}`);
  appendFileSync(
    file,
    `${JSON.stringify({ test, procedure: record.id, outcome: record.outcome, reason: record.reason, rungs, findings })}\n`,
  );
}
