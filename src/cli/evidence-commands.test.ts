import { appendFile, mkdtemp, readdir, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canariesFor } from '../../nmia/seed/canaries.ts';

/** A password nobody registered as a secret: only its place in a URL says it is one. */
const URL_CANARY = 'CANARY-url-pw-5e1d';
const REPO = fileURLToPath(new URL('../../', import.meta.url));
const cli = (args: string[]) =>
  execa('node', [join(REPO, 'bin/nmia-drill.js'), ...args], {
    cwd: REPO,
    reject: false,
    stdin: 'ignore',
    // The bundle is what is under test, not the app's timing: the reference worker polls every second (the journal says so).
    env: { DOCKER_HOST: 'unix:///nonexistent', NMIA_WORKER_POLL_MS: '1000' },
  });

async function allFiles(dir: string): Promise<string[]> {
  const entries = await readdir(dir, { recursive: true });
  const files: string[] = [];
  for (const entry of entries) if ((await stat(join(dir, entry))).isFile()) files.push(join(dir, entry));
  return files;
}

/** A real drill through the CLI, its evidence bundle, and the commands that read it. */
describe('evidence bundle from a real CLI drill', () => {
  let reports: string;
  let bundle: string;
  let output: string;
  let exitCode: number | undefined;
  let runbook: string;
  beforeAll(async () => {
    reports = await mkdtemp(join(tmpdir(), 'nmia-drill-evidence-cli-'));
    // The runbook's .env block carries a canary password inside its DATABASE_URL (pinned, so it is not drift).
    runbook = join(await mkdtemp(join(tmpdir(), 'nmia-drill-url-canary-')), 'backup-restore.md');
    const text = await readFile(join(REPO, 'fixtures/runbooks/backup-restore.corrected.md'), 'utf8');
    expect(text).toContain('postgresql://nmia:nmia@db:5432/nmia');
    await writeFile(runbook, text.replaceAll('postgresql://nmia:nmia@', `postgresql://nmia:${URL_CANARY}@`));
    const pin = await cli(['pin', '--runbook', runbook]);
    expect(pin.exitCode, pin.stderr).toBe(0);
    const run = await cli([
      '--runbook',
      runbook,
      '--only',
      'full-backup,dr-recovery',
      '--isolation',
      'order',
      '--scale',
      '200',
      '--report-dir',
      reports,
      '--attest',
      'Update DNS=ops@example.com',
      '--operator',
      'Dana Ops',
    ]);
    output = `${run.stdout}\n${run.stderr}`;
    exitCode = run.exitCode;
    bundle = join(reports, (await readdir(reports)).find((name) => /^\d{8}-\d{6}-[0-9a-f]{8}$/.test(name))!);
  }, 240_000);
  afterAll(async () => {
    await rm(reports, { recursive: true, force: true });
    if (runbook) await rm(dirname(runbook), { recursive: true, force: true });
  });

  it('writes journal, summary, HTML, JUnit and SHA256SUMS, and exits 0 when every procedure passed', async () => {
    expect(exitCode, output).toBe(0);
    expect((await readdir(bundle)).sort()).toEqual(
      expect.arrayContaining(['SHA256SUMS', 'journal.json', 'junit.xml', 'report.html', 'summary.md']),
    );
    const journal = JSON.parse(await readFile(join(bundle, 'journal.json'), 'utf8')) as {
      checklist: Array<{ item: string; outcome: string; attestation?: { by: string } }>;
      timing: { rto: { measuredMs: number } };
    };
    expect(journal.timing.rto.measuredMs).toBeGreaterThan(0);
    expect(journal.checklist.find((item) => item.item.startsWith('Update DNS'))).toMatchObject({
      outcome: 'passed',
      attestation: { by: 'ops@example.com' },
    });
    expect(output).toMatch(/summary: .*summary\.md/);
    // The operator is named, the bundle opens with its attestation, and it is signed by default.
    expect((journal as unknown as { runner: { operator?: string } }).runner.operator).toBe('Dana Ops');
    expect(await readFile(join(bundle, 'attestation.md'), 'utf8')).toContain('- **Operator:** Dana Ops, ');
    expect(output).toMatch(/^signed: {2}.*SHA256SUMS\.sig with ed25519 key sha256:[0-9a-f]{64}/m);
  });

  it('never lets a secret reach the bundle or the console: canary values are searched everywhere', async () => {
    const canaries = canariesFor(42);
    const secrets = [
      canaries.secretKey,
      canaries.adminPassword,
      canaries.dbPassword,
      canaries.backupPassphrase,
      ...canaries.bindPasswords,
      URL_CANARY,
    ];
    expect(output.length).toBeGreaterThan(500);
    expect(output).not.toMatch(/secrets were scrubbed/);
    for (const secret of secrets) expect(output.includes(secret), 'console output').toBe(false);
    const files = await allFiles(bundle);
    expect(files.length).toBeGreaterThan(10);
    for (const file of files) {
      const text = (await readFile(file)).toString('latin1');
      for (const secret of secrets) expect(text.includes(secret), `${file} holds a canary`).toBe(false);
    }
    // The key really was used (bound into the recovery's .env), and shows redacted.
    expect(await readFile(join(bundle, 'procedures', 'order-dr-recovery', 'block-1.sh'), 'utf8')).toContain(
      'SECRET_KEY=[REDACTED:secret_key]',
    );
    // The backup passphrase was used too: the full backup was written encrypted and read back with it.
    expect(await readFile(join(bundle, 'journal.json'), 'utf8')).toMatch(/OpenPGP-encrypted; decrypted with the drill's backup key/);
    // So was the URL: its password masked by shape, its user and host kept.
    expect(await readFile(join(bundle, 'procedures', 'order-dr-recovery', 'block-1.sh'), 'utf8')).toContain(
      'DATABASE_URL=postgresql://nmia:***@db:5432/nmia',
    );
  });

  it('verify-evidence passes the untouched bundle and names a file changed by a single byte', async () => {
    const clean = await cli(['verify-evidence', bundle]);
    expect(clean.exitCode).toBe(0);
    expect(clean.stdout).toMatch(/^OK: /m);
    await appendFile(join(bundle, 'report.html'), ' ');
    const tampered = await cli(['verify-evidence', bundle]);
    expect(tampered.exitCode).toBe(1);
    expect(tampered.stdout).toMatch(/changed: report\.html/);
  });

  it('status reports the last passing drill and, with --max-age, fails when it is too old', async () => {
    // The drill above ran a subset (--only): it proves those procedures, not the runbook, so by default it keeps no gate green.
    const strict = await cli(['status', '--report-dir', reports, '--max-age', '1', '--runbook', runbook]);
    expect(strict.exitCode).toBe(1);
    expect(strict.stdout).toMatch(/not counted: 1 partial run/);
    const fresh = await cli(['status', '--report-dir', reports, '--max-age', '1', '--include-partial', '--runbook', runbook]);
    expect(fresh.exitCode).toBe(0);
    expect(fresh.stdout).toMatch(/^OK: last passing partial drill [0-9a-f]{8}/);
    expect(fresh.stdout).toMatch(/^runbook: .+ \(sha256 [0-9a-f]{64}\)$/m);
    expect(fresh.stdout).toContain(`runbook: ${runbook} (sha256 `);
    // About the default runbook, this drill (of another runbook) says nothing, and status says it left it out.
    const other = await cli(['status', '--report-dir', reports, '--include-partial']);
    expect(other.stdout).toMatch(/^STALE: no drill counts for this runbook \(1 recorded, all left out\)/);
    expect(other.stdout).toMatch(/^left out: 1 drill\(s\) of another runbook: [0-9a-f]{8}$/m);
    const index = JSON.parse(await readFile(join(reports, 'index.json'), 'utf8')) as { drills: Array<Record<string, unknown>> };
    expect(index.drills).toHaveLength(1);
    const empty = await mkdtemp(join(tmpdir(), 'nmia-drill-status-empty-'));
    const none = await cli(['status', '--report-dir', empty, '--max-age', '1']);
    await rm(empty, { recursive: true, force: true });
    expect(none.exitCode).toBe(1);
  });
});
