import { mkdir, mkdtemp, readdir, readFile, rm, stat, utimes, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { ComposeLock } from '../stacks/compose/compose-lock.ts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canariesFor } from '../../nmia/seed/canaries.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(REPO, 'bin/nmia-drill.js');
const OLD = new Date('2001-01-01T00:00:00Z');

/** Lines of `ps` that mention a path: a cluster, container or process the plan would have started there. */
async function processesMentioning(marker: string): Promise<string[]> {
  const { stdout } = await execa('ps', ['-eo', 'pid,args'], { reject: false });
  return String(stdout)
    .split('\n')
    .filter((line) => line.includes(marker) && !line.includes('ps -eo'));
}

/**
 * What a compose plan could create: the project nmia's containers and volumes (and the runbook's volume names).
 * Read while the test holds the compose lock, so no compose drill elsewhere in the suite changes them meanwhile.
 */
async function dockerState(env: NodeJS.ProcessEnv): Promise<string | undefined> {
  if (!env.DOCKER_HOST) return undefined;
  const project = ['--filter', 'label=com.docker.compose.project=nmia'];
  const containers = await execa('docker', ['ps', '-a', ...project, '--format', '{{.ID}} {{.Names}}'], { env, reject: false });
  const volumes = await execa('docker', ['volume', 'ls', '--format', '{{.Name}} {{.Label "com.docker.compose.project"}}'], {
    env,
    reject: false,
  });
  const projectVolumes = String(volumes.stdout)
    .split('\n')
    .filter((line) => / nmia$/.test(line) || /^(nmia|nmai)_pgdata /.test(line));
  return `${String(containers.stdout)}\n--\n${projectVolumes.join('\n')}`;
}

describe('nmia-drill plan (spawned for real)', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'nmia-drill-plan-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('touches nothing: no file in a fresh HOME, TMPDIR or cwd, no report dir, no postgres, no container; prints every block with its bindings', async () => {
    const dirs = { home: join(scratch, 'home'), tmp: join(scratch, 'tmp'), cwd: join(scratch, 'cwd') };
    for (const dir of Object.values(dirs)) {
      await mkdir(dir);
      // Creating and removing an entry changes a directory's mtime: a plan that made and cleaned up a temp dir still shows.
      await utimes(dir, OLD, OLD);
    }
    const reports = join(scratch, 'reports');
    const lock = process.env.DOCKER_HOST ? await ComposeLock.acquire('plan-command-test') : undefined;
    let dockerBefore: string | undefined;
    let dockerAfter: string | undefined;
    let result: { exitCode?: number; stdout: string; stderr: string };
    try {
      dockerBefore = await dockerState(process.env);
      const run = await execa('node', [BIN, 'plan', '--isolation', 'both', '--stack', 'compose', '--report-dir', reports], {
        cwd: dirs.cwd,
        // tsx (the CLI's TypeScript loader, not the plan) keeps a transpile cache in $TMPDIR unless told not to.
        env: { HOME: dirs.home, TMPDIR: dirs.tmp, TSX_DISABLE_CACHE: '1' },
        extendEnv: true,
        reject: false,
        stdin: 'ignore',
      });
      result = { exitCode: run.exitCode, stdout: String(run.stdout), stderr: String(run.stderr) };
      dockerAfter = await dockerState(process.env);
    } finally {
      await lock?.unlock();
    }
    expect(result.exitCode, result.stderr).toBe(0);

    for (const [name, dir] of Object.entries(dirs)) {
      expect(await readdir(dir), `${name} stays empty`).toEqual([]);
      expect((await stat(dir)).mtime.getTime(), `${name} was never written to`).toBe(OLD.getTime());
    }
    await expect(stat(reports)).rejects.toThrow(/ENOENT/);
    expect(await processesMentioning(scratch)).toEqual([]);
    expect(dockerAfter).toEqual(dockerBefore);

    const out = result.stdout;
    // Every procedure, in runbook order and alone.
    expect(out).toMatch(/^── 1\. full-backup \(order\) — Database Backup › Full Backup \(Recommended\) — .*backup-restore\.md:33$/m);
    expect(out).toMatch(/^── 24\. dr-recovery-key-lost \(alone\)/m);
    expect(out).toMatch(/stack: compose/);
    // The block as it would run, with the substitution shown and marked as a run-time value.
    expect(out).toContain('     nmia_backup_20250201_020000.dump → nmia_backup_{YYYYMMDD_HHMMSS}.dump [known at run time:');
    expect(out).toContain('     | docker compose cp ./backups/nmia_backup_{YYYYMMDD_HHMMSS}.dump db:/tmp/nmia_restore.dump');
    // Alone, the dump is one the harness makes first.
    expect(out).toMatch(/input \(made by the harness\): harness_backup_\{YYYYMMDDHHMMSS\}\.dump/);
    expect(out).toContain(`     /opt/nmia → ${join(tmpdir(), 'nmia-drill-{drill-id}-{random}/nmia')}`.replace(tmpdir(), dirs.tmp));
    // Secrets: announced, never shown.
    expect(out).toContain('     <original-secret-key> → <redacted> [secret]');
    expect(out).toContain('     | SECRET_KEY=<redacted>');
    expect(out).not.toContain(canariesFor(42).secretKey);
    // Checked without running, and the disasters.
    expect(out).toMatch(/block 1 at .*backup-restore\.md:103: checked, not run — crontab entry/);
    expect(out).toMatch(/disaster: a bad deploy truncates identities/);
    expect(out).toMatch(/disaster: complete environment loss/);
    expect(out).toMatch(/24 procedure run\(s\) \(12 in runbook order \+ 12 alone\) would execute; plan ran none of them\./);
  });

  it('shows drift and exits 1 (the run would stop), or 0 with --allow-drift; --json gives the plan', async () => {
    const copy = join(scratch, 'drifted.md');
    const text = await readFile(join(REPO, 'runbook/backup-restore.md'), 'utf8');
    await writeFile(copy, text.replace('--file=/tmp/nmia_backup.dump', '--file=/tmp/nmia_backup.dmp'));
    const drifted = await execa('node', [BIN, 'plan', '--runbook', copy, '--only', 'full-backup'], {
      cwd: scratch,
      reject: false,
      stdin: 'ignore',
    });
    expect(drifted.exitCode).toBe(1);
    expect(drifted.stdout).toMatch(/^DRIFT {7}1 block\(s\): the drill would stop here and run nothing \(exit 1\)/m);
    expect(drifted.stdout).toMatch(
      /hash-mismatch: .*drifted\.md:33 "Database Backup › Full Backup \(Recommended\)" block 0 changed since it was pinned/,
    );
    expect(drifted.stderr).toMatch(/^runbook drift: 1 block\(s\) differ from the lock/m);

    const allowed = await execa(
      'node',
      [BIN, 'plan', '--runbook', copy, '--only', 'full-backup', '--allow-drift', '--json', '--isolation', 'alone'],
      { cwd: scratch, reject: false, stdin: 'ignore' },
    );
    expect(allowed.exitCode, allowed.stderr).toBe(0);
    const plan = JSON.parse(allowed.stdout) as {
      wouldRun: boolean;
      drift: unknown[];
      runs: Array<{ id: string; mode: string; blocks: Array<{ text: string; line: number }> }>;
      settings: { isolation: { value: string; from: string } };
    };
    expect(plan.wouldRun).toBe(true);
    expect(plan.drift).toHaveLength(1);
    expect(plan.settings.isolation).toEqual({ value: 'alone', from: '--isolation' });
    expect(plan.runs.map((run) => `${run.mode}/${run.id}`)).toEqual(['alone/full-backup']);
    expect(plan.runs[0]!.blocks[0]).toMatchObject({ line: 33, text: expect.stringContaining('--file=/tmp/nmia_backup.dmp') });
  });

  it('--json lists each substitution with its value and run-time marker', async () => {
    const result = await execa(
      'node',
      [BIN, 'plan', '--json', '--only', 'full-backup,restore-custom,dr-recovery', '--isolation', 'order'],
      { cwd: scratch, reject: false, stdin: 'ignore' },
    );
    expect(result.exitCode, result.stderr).toBe(0);
    const plan = JSON.parse(result.stdout) as {
      runs: Array<{
        id: string;
        inputs: unknown[];
        blocks: Array<{ substitutions: Array<{ placeholder: string; value: string; runtime?: string; secret?: boolean }> }>;
      }>;
    };
    const restore = plan.runs.find((run) => run.id === 'restore-custom')!;
    // In runbook order the dump is full-backup's, so the harness makes none.
    expect(restore.inputs).toEqual([]);
    expect(restore.blocks[0]!.substitutions).toEqual([
      expect.objectContaining({
        placeholder: 'nmia_backup_20250201_020000.dump',
        value: 'nmia_backup_{YYYYMMDD_HHMMSS}.dump',
        runtime: expect.any(String),
        occurrences: 1,
      }),
    ]);
    const recovery = plan.runs.find((run) => run.id === 'dr-recovery')!;
    expect(recovery.blocks[1]!.substitutions).toEqual([
      expect.objectContaining({ placeholder: '<original-secret-key>', value: '<redacted>', secret: true }),
    ]);
  });

  it('keeps --help working', async () => {
    const help = await execa('node', [BIN, 'plan', '--help'], { reject: false, stdin: 'ignore' });
    expect(help.exitCode).toBe(0);
    expect(help.stdout).toMatch(/dry run/);
    expect(help.stdout).toMatch(/--config <path>[\s\S]*env:\s+NMIA_DRILL_CONFIG/);
    expect(help.stdout).toMatch(/--scale <n>[\s\S]*default: 2000,\s+env:\s+NMIA_DRILL_SCALE/);
  });
});
