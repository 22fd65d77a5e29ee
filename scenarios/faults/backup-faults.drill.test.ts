import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { WORKSPACE_MARKER } from '../../src/stacks/workspace.ts';
import { tmpfsSupport } from '../../runbook/kit/full-disk.ts';
import { afterEach, describe, expect, it } from 'vitest';
import type { FailureDiagnosis, Procedure } from '../../src/drill/procedure.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';
import { drill, failedChecks, procedure, withProcedure } from '../support/drill-harness.ts';
import {
  canChattr,
  clearImmutable,
  dockerSync,
  failedCommand,
  failedRung,
  immutables,
  killPgDumpWhenItWaits,
  mounts,
  noteObservation,
  unmount,
} from './fault-helpers.ts';

/** Faults while full-backup runs: pg_dump killed, the db down, ./backups removed, read-only or full. */
const cleanups: Array<() => Promise<void> | void> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
  // Only reached with something still mounted or immutable when a test failed early: the drill could not
  // remove its workspace then, so remove it here (only a directory carrying the drill's marker).
  for (const path of [...mounts, ...immutables]) {
    unmount(path);
    clearImmutable(path);
    const root = dirname(dirname(path));
    if (existsSync(join(root, WORKSPACE_MARKER))) rmSync(root, { recursive: true, force: true });
  }
});

const isRoot = process.getuid?.() === 0;
const tmpfs = tmpfsSupport();
const chattr = canChattr();

/**
 * The faults are about a host whose ./backups exists (a fresh checkout has none: that is the runbook's own
 * finding, in the as-given scenarios), so the premise makes it before the fault, as an operator would have.
 */
function onHostWithBackupsDir(faulty: Procedure): Procedure {
  return {
    ...faulty,
    async beforeBlocks(context) {
      await mkdir(context.backupsDir, { recursive: true });
      await faulty.beforeBlocks?.(context);
    },
  };
}

async function fullBackupWith(replace: (original: Procedure) => Procedure) {
  const procedures = withProcedure('full-backup', (original) => onHostWithBackupsDir(replace(original)));
  const result = await drill({ only: ['full-backup'], procedures });
  cleanups.push(result.cleanup);
  const record = procedure(result.journal, 'full-backup');
  noteObservation(expect.getState().currentTestName, record, result.journal);
  // The whole stderr of the block, as the evidence bundle keeps it (the journal keeps a tail).
  const stderr = readFileSync(join(result.files.reportDir, 'procedures', 'order-full-backup', 'block-0.stderr'), 'utf8');
  return { journal: result.journal, record, stderr };
}

/** What a failed backup leaves in ./backups (names and sizes), read synchronously for `diagnose`. */
function backupsLeft(context: ProcedureContext): string[] {
  try {
    return readdirSync(context.backupsDir).map((name) => `${name} (${statSync(join(context.backupsDir, name)).size} bytes)`);
  } catch (error) {
    return [`./backups unreadable: ${(error as NodeJS.ErrnoException).code}`];
  }
}

describe('faults: full-backup never passes a backup that did not happen', () => {
  it('pg_dump killed part-way: the block stops at pg_dump, nothing reaches ./backups, and the partial file left in the container is reported', async () => {
    let killer: Awaited<ReturnType<typeof killPgDumpWhenItWaits>> | undefined;
    const { record, journal, stderr } = await fullBackupWith((original) => ({
      ...original,
      checkpoints: (context) => [{ beforeCommand: 'pg_dump', run: async () => void (killer = await killPgDumpWhenItWaits(context)) }],
      diagnose(context, failed): FailureDiagnosis {
        killer?.stop();
        // What is left behind: the container's /tmp file (copied out to look at it) and ./backups.
        const probe = join(context.stack.workspace.harnessDir, 'left-in-container.dump');
        const copied = dockerSync(context, ['compose', 'cp', 'db:/tmp/nmia_backup.dump', probe]);
        const inContainer = copied.ok
          ? `/tmp/nmia_backup.dump in the db container: ${statSync(probe).size} bytes`
          : `no /tmp/nmia_backup.dump in the db container (${copied.output})`;
        const backups = backupsLeft(context);
        return {
          severity: 'high',
          title: `pg_dump was terminated part-way (exit ${failed.exitCode}); left behind: ${inContainer}; ./backups: ${backups.length === 0 ? 'nothing' : backups.join(', ')}`,
          whyItMatters: 'A backup that dies part-way must not leave anything that passes for a backup.',
          suggestedFix: 'Rerun the backup; check the db server log for who terminated the session.',
        };
      },
    }));
    await killer?.done;
    expect(record.outcome).toBe('failed');
    // The summary quotes pg_dump's error line, not the `detail: Query was: …` line printed after it.
    expect(failedRung(record, 'intent')).toMatch(
      /^docker compose exec db pg_dump .* exited 1: pg_dump: error: query failed: FATAL: {2}terminating connection due to administrator command$/s,
    );
    expect(stderr).toMatch(/^pg_dump: error: query failed: FATAL: {2}terminating connection due to administrator command$/m);
    expect(record.harnessActions.map((action) => action.purpose)).toContain(
      'fault: terminate pg_dump part-way (connected, output file open, waiting on a lock)',
    );
    const finding = journal.findings.find((candidate) => candidate.procedure === 'full-backup')!;
    expect(finding.title).toMatch(
      /^pg_dump was terminated part-way \(exit 1\); left behind: \/tmp\/nmia_backup\.dump in the db container: \d+ bytes; \.\/backups: nothing$/,
    );
    // The copy to ./backups never ran: errexit stopped the block at pg_dump.
    expect(record.blocks[0]!.commands.map((command) => command.text)).toEqual([expect.stringMatching(/^docker compose exec db pg_dump/)]);
  });

  it('the db service is down when the backup starts: pg_dump cannot exec into it and the block fails with the engine’s error', async () => {
    const { record } = await fullBackupWith((original) => ({
      ...original,
      // A checkpoint, not beforeBlocks: the backup window's manifest is taken just before the blocks and needs the db.
      checkpoints: (context) => [
        {
          beforeCommand: 'pg_dump',
          run: async () => void (await context.harnessDocker('fault: the db service stops', ['compose', 'stop', 'db'])),
        },
      ],
    }));
    expect(record.outcome).toBe('failed');
    expect(failedRung(record, 'intent')).toMatch(/^docker compose exec db pg_dump .* exited 1: service "db" is not running$/s);
  });

  it('./backups is missing: pg_dump succeeds, the copy out of the container fails', async () => {
    const { record } = await fullBackupWith((original) => ({
      ...original,
      async beforeBlocks(context) {
        await original.beforeBlocks?.(context);
        rmSync(context.backupsDir, { recursive: true, force: true });
      },
    }));
    expect(record.outcome).toBe('failed');
    expect(failedCommand(record)?.text).toMatch(/^docker compose cp db:\/tmp\/nmia_backup\.dump \.\/backups\/nmia_backup_\$\(date/);
    expect(failedRung(record, 'intent')).toMatch(/exited 1: invalid output path: directory ".*\/nmia\/backups" does not exist$/s);
    expect(record.findings).toHaveLength(1);
  });

  it.skipIf(isRoot && !chattr.ok)(
    `./backups is not writable (${isRoot ? 'root ignores mode bits: chattr +i' : 'chmod 0555'}): the copy fails with a permission error`,
    async () => {
      const { record, stderr } = await fullBackupWith((original) => ({
        ...original,
        async beforeBlocks(context) {
          await original.beforeBlocks?.(context);
          if (isRoot) {
            execFileSync('chattr', ['+i', context.backupsDir]);
            immutables.add(context.backupsDir);
          } else {
            chmodSync(context.backupsDir, 0o555);
          }
        },
        // The workspace is removed right after the procedure: make it removable again, whatever happened.
        diagnose(context) {
          clearImmutable(context.backupsDir);
          chmodSync(context.backupsDir, 0o755);
          return undefined;
        },
        async verify(context) {
          clearImmutable(context.backupsDir);
          await original.verify(context);
        },
      }));
      expect(record.outcome).toBe('failed');
      expect(failedCommand(record)?.text).toMatch(/^docker compose cp db:\/tmp\/nmia_backup\.dump \.\/backups\//);
      // As Docker does: one line from the daemon and exit 1, so the rung's summary names the cause.
      expect(failedCommand(record)?.exitCode).toBe(1);
      expect(stderr.split('\n')[0]).toMatch(
        /^Error response from daemon: copy to .*\/nmia\/backups\/nmia_backup_\d{8}_\d{6}\.dump: permission denied$/,
      );
      expect(failedChecks(record).join('\n')).toMatch(/permission denied/);
    },
  );

  it.skipIf(!tmpfs.ok)(
    `a full disk: ./backups on a 64 KiB tmpfs${tmpfs.ok ? '' : ` (skipped: ${tmpfs.reason})`}; the copy fails with ENOSPC and, as docker cp does, leaves what fit under the backup's name`,
    async () => {
      let left: string[] = [];
      const { record, stderr } = await fullBackupWith((original) => ({
        ...original,
        async beforeBlocks(context) {
          await original.beforeBlocks?.(context);
          execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=64k,mode=0755', 'tmpfs', context.backupsDir]);
          mounts.add(context.backupsDir);
        },
        diagnose(context) {
          left = backupsLeft(context);
          unmount(context.backupsDir);
          return undefined;
        },
        async verify(context) {
          unmount(context.backupsDir);
          await original.verify(context);
        },
      }));
      expect(record.outcome).toBe('failed');
      expect(failedCommand(record)?.text).toMatch(/^docker compose cp db:\/tmp\/nmia_backup\.dump \.\/backups\//);
      expect(failedCommand(record)?.exitCode).toBe(1);
      expect(stderr.split('\n')[0]).toMatch(/^write .*\/nmia\/backups\/nmia_backup_\d{8}_\d{6}\.dump: no space left on device$/);
      expect(failedChecks(record).join('\n')).toMatch(/no space left on device/);
      // Real docker cp onto a 64 KiB tmpfs: exit 1 and a 65536-byte file under the target name (the shim does the
      // same). A runbook that copies straight to the backup's name leaves a truncated "backup": full-backup's
      // adversarial disk-full run makes that a finding (scenarios/adversarial-runs).
      expect(left).toEqual([expect.stringMatching(/^nmia_backup_\d{8}_\d{6}\.dump \(65536 bytes\)$/)]);
    },
  );
});
