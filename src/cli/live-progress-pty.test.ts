import { existsSync } from 'node:fs';
import { copyFile, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stripAnsi } from './progress-format.ts';
import { screenOf } from '../../test-support/terminal-screen-for-tests.ts';

const REPO = fileURLToPath(new URL('../../', import.meta.url));
const SCRIPT = '/usr/bin/script';
const CORRECTED = join(REPO, 'fixtures/runbooks/backup-restore.corrected.md');

function quote(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

/**
 * The real CLI under a pseudo-terminal (util-linux `script`), as an operator would run it: stderr
 * is a TTY, so the choice of progress style, the redraws and the final screen are the real ones.
 */
async function underPty(
  args: string[],
  env: Record<string, string | undefined>,
): Promise<{ exitCode: number | undefined; output: string }> {
  const command = `stty cols 120 rows 40; exec node ${quote(join(REPO, 'bin/nmia-drill.js'))} ${args.map(quote).join(' ')}`;
  const childEnv: Record<string, string | undefined> = {
    ...process.env,
    CI: undefined,
    NO_COLOR: undefined,
    TERM: 'xterm-256color',
    ...env,
  };
  const result = await execa(SCRIPT, ['-qec', command, '/dev/null'], {
    cwd: REPO,
    env: childEnv,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    timeout: 240_000,
  });
  return { exitCode: result.exitCode, output: String(result.stdout) };
}

/** The one child process of `pid`, from /proc (no procps needed). */
async function childOf(pid: number): Promise<number> {
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const stat = await readFile(`/proc/${entry}/stat`, 'utf8').catch(() => '');
    // "pid (comm) state ppid …": comm may hold spaces, so read after its closing parenthesis.
    const ppid = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (ppid === pid) return Number(entry);
  }
  throw new Error(`process ${pid} has no child`);
}

describe.skipIf(!existsSync(SCRIPT))('progress on a real terminal (the CLI under a pseudo-TTY)', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'nmia-drill-pty-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('draws a live task list: the command being run, the encrypted dump growing with its size; leaves the final list and the summary', async () => {
    const reports = join(scratch, 'reports-live');
    const { exitCode, output } = await underPty(
      // The corrected runbook: the given one never creates ./backups, so its full backup fails.
      [
        '--runbook',
        CORRECTED,
        '--only',
        'full-backup',
        '--isolation',
        'order',
        '--scale',
        '20000',
        '--stack',
        'emulated',
        '--report-dir',
        reports,
      ],
      {},
    );
    expect(exitCode, output.slice(-3000)).toBe(0);
    const plain = stripAnsi(output);
    // Live: the cursor hidden, frames redrawn in place, the command live, the file being written with its size.
    expect(output).toContain('\u001b[?25l');
    expect(output).toMatch(/\r\u001b\[\d+A\u001b\[0J/);
    // Which command of the pipe a 250 ms poll catches depends on the machine; one of them it does.
    expect(plain).toMatch(
      /order full-backup +\d+\.\ds {2}\$ (docker compose exec -T db pg_dump -U nmia -d nmia -Fc|gpg --batch --symmetric --cipher-algo AES256)/,
    );
    // The corrected runbook encrypts as it writes, under a .partial name renamed once complete: a poll sees either.
    expect(plain).toMatch(/↧ \.\/backups\/nmia_backup_\d{8}_\d{6}\.dump\.gpg(?:\.partial)? {2}[\d.]+ [KM]iB/);
    // What stays on screen: the final task list, then the same summary as in plain mode; the cursor back.
    const screen = screenOf(output).map(stripAnsi);
    const first = screen.findIndex((line) => /^nmia-drill [0-9a-f]{8} · backup-restore\.corrected\.md/.test(line));
    expect(first, screen.join('\n')).toBeGreaterThanOrEqual(0);
    expect(screen[first + 1]).toMatch(/^ {2}✔ order full-backup +\d+\.\ds$/);
    expect(screen.join('\n')).toMatch(/^PASS +order +full-backup/m);
    expect(screen.join('\n')).toMatch(/^report: {2}.*\/report\.html$/m);
    expect(output.trimEnd().endsWith('\u001b[?25h')).toBe(true);
    // Only one copy of the task list remains: every live frame was erased.
    expect(screen.filter((line) => /order full-backup/.test(line) && !/^PASS/.test(line))).toHaveLength(1);
  });

  it("on Ctrl-C stops drawing first: the task list stays with the running procedure marked, then the signal's messages, exit 130", async () => {
    const reports = join(scratch, 'reports-interrupted');
    const command = `stty cols 120 rows 40; exec node ${quote(join(REPO, 'bin/nmia-drill.js'))} --only full-backup,sql-backup --isolation order --scale 10 --stack emulated --report-dir ${quote(reports)}`;
    const child = execa(SCRIPT, ['-qec', command, '/dev/null'], {
      cwd: REPO,
      env: { ...process.env, CI: undefined, NO_COLOR: undefined, TERM: 'xterm-256color' },
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
      timeout: 240_000,
    });
    let output = '';
    child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString('utf8')));
    // Interrupt once a procedure is running: the node process is script's only child (`exec`).
    const deadline = Date.now() + 180_000;
    while (!/order full-backup +\d+\.\ds {2}\S/.test(stripAnsi(output)) && Date.now() < deadline)
      await new Promise((resolve) => setTimeout(resolve, 100));
    process.kill(await childOf(child.pid!), 'SIGINT');
    const result = await child;
    expect(result.exitCode, output.slice(-2000)).toBe(130);
    const screen = screenOf(output).map(stripAnsi);
    const text = screen.join('\n');
    const marked = screen.findIndex((line) => /^ {2}■ order full-backup +\d+\.\ds/.test(line));
    const message = screen.findIndex((line) => line.startsWith('SIGINT: stopping the drill, cleaning up and writing the journal'));
    expect(marked, text).toBeGreaterThan(0);
    expect(message).toBeGreaterThan(marked);
    expect(text).toMatch(/^journal: .*journal\.json$/m);
    // The cleanup still ran: no workspace of this drill is left.
    const drillId = /nmia-drill ([0-9a-f]{8}) ·/.exec(text)![1]!;
    expect((await readdir(tmpdir())).filter((name) => name.startsWith(`nmia-drill-${drillId}-`))).toEqual([]);
    // Nothing was drawn after the messages, and the cursor came back.
    expect(output.lastIndexOf('\u001b[?2026l')).toBeLessThan(output.indexOf('SIGINT: stopping'));
    expect(output.lastIndexOf('\u001b[?25h')).toBeGreaterThan(output.lastIndexOf('\u001b[?25l'));
  });

  it('keeps plain timestamped lines on a terminal when CI is set', async () => {
    const copy = join(scratch, 'drifted.md');
    await copyFile(join(REPO, 'runbook/backup-restore.md'), copy);
    await writeFile(copy, (await readFile(copy, 'utf8')).replace('--file=/tmp/nmia_backup.dump', '--file=/tmp/nmia_backup.dmp'));
    // A drifted runbook stops before any environment starts: cheap, and it still reports and summarises.
    const { exitCode, output } = await underPty(['--runbook', copy, '--report-dir', join(scratch, 'reports-ci')], { CI: 'true' });
    expect(exitCode).toBe(1);
    expect(output).toMatch(/^\[\d\d:\d\d:\d\d \+ *\d+\.\ds\] drill [0-9a-f]{8}: /m);
    expect(output).toMatch(/^OUTCOME +MODE +PROCEDURE/m);
    expect(output).not.toContain('\u001b[');
  });
});
