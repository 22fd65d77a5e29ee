import { mkdtemp, readdir, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO = fileURLToPath(new URL('../../', import.meta.url));

/**
 * The run command's common flags, through the real CLI: a drill of the runbook as given, which fails
 * (the volume name typo), so exit code 1 and the machine-readable result are both observable.
 */
describe('nmia-drill run: flags, --json and exit code 1 (spawned for real)', () => {
  let reports: string;
  let run: { exitCode?: number; stdout: string; stderr: string };
  beforeAll(async () => {
    reports = await mkdtemp(join(tmpdir(), 'nmia-drill-run-flags-'));
    const result = await execa(
      'node',
      [
        join(REPO, 'bin/nmia-drill.js'),
        'run',
        '--stack',
        'emulated',
        '--only',
        'full-backup,volume-backup',
        '--skip',
        'full-backup',
        '--isolation',
        'order',
        '--scale',
        '200',
        '--seed',
        '7',
        '--rto-target',
        '60',
        '--rpo-target',
        '5',
        '--report-dir',
        reports,
        '--quiet',
        '--json',
      ],
      { cwd: REPO, reject: false, stdin: 'ignore', env: { CI: 'true' } },
    );
    run = { exitCode: result.exitCode, stdout: String(result.stdout), stderr: String(result.stderr) };
  }, 240_000);
  afterAll(async () => {
    await rm(reports, { recursive: true, force: true });
  });

  it('exits 1 when a procedure fails, and --json prints exactly one JSON result on stdout', () => {
    expect(run.exitCode, run.stderr).toBe(1);
    const lines = run.stdout.trim().split('\n');
    expect(lines).toHaveLength(1);
    const result = JSON.parse(lines[0]!) as {
      outcome: string;
      totals: { failed: number; passed: number };
      findings: Array<{ procedure: string; severity: string; title: string }>;
      journal: string;
    };
    expect(result.outcome).toBe('failed');
    expect(result.totals).toMatchObject({ failed: 1, passed: 0 });
    expect(result.findings).toContainEqual(
      expect.objectContaining({ procedure: 'volume-backup', severity: 'critical', title: expect.stringContaining('nmai_pgdata') }),
    );
    expect(result.journal.startsWith(reports)).toBe(true);
  });

  it('--quiet prints no progress, --skip removes a procedure, and --seed/--scale reach the journal', async () => {
    // No progress lines; the end summary (table, findings, report paths) still goes to stderr.
    expect(run.stderr).not.toMatch(/seeding|▶|^\[\d\d:\d\d:\d\d/m);
    expect(run.stderr).toMatch(/^FAIL\s+order\s+volume-backup/m);
    const [bundle] = (await readdir(reports)).filter((name) => /^\d{8}-\d{6}-[0-9a-f]{8}$/.test(name));
    const journal = JSON.parse(await readFile(join(reports, bundle!, 'journal.json'), 'utf8')) as {
      options: Record<string, unknown>;
      procedures: Array<{ id: string }>;
      stack: { kind: string };
    };
    expect(journal.options).toMatchObject({
      seed: 7,
      scale: 200,
      isolation: 'order',
      only: ['full-backup', 'volume-backup'],
      skip: ['full-backup'],
    });
    expect(journal.procedures.map((procedure) => procedure.id).filter((id) => !id.startsWith('pending:'))).toEqual(['volume-backup']);
    expect(journal.stack.kind).toBe('emulated');
  });
});
