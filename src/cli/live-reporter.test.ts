import { afterEach, describe, expect, it, vi } from 'vitest';
import type { EvidenceFiles } from '../evidence/evidence-writer.ts';
import type { ProcedureRecord } from '../evidence/journal.ts';
import { syntheticJournal } from '../../test-support/synthetic-journal.ts';
import { LiveReporter } from './live-reporter.ts';
import { fitLine, formatBytes, formatElapsed, progressBar, stripAnsi } from './progress-format.ts';
import { chooseProgressMode } from './progress-mode.ts';
import type { TerminalRenderer } from './terminal-renderer.ts';
import { screenOf } from '../../test-support/terminal-screen-for-tests.ts';

/** A TTY-shaped stream that keeps every write. */
class FakeTty {
  isTTY = true;
  chunks: string[] = [];
  constructor(
    public columns = 100,
    public rows = 30,
  ) {}
  write(chunk: string | Uint8Array): boolean {
    this.chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk).toString('utf8'));
    return true;
  }
  get output(): string {
    return this.chunks.join('');
  }
}

function record(overrides: Partial<ProcedureRecord> & Pick<ProcedureRecord, 'id' | 'outcome' | 'mode'>): ProcedureRecord {
  return {
    title: overrides.id,
    section: `Section › ${overrides.id}`,
    blocks: [],
    harnessActions: [],
    artifacts: [],
    rungs: [],
    findings: [],
    ...overrides,
  };
}

const files: EvidenceFiles = {
  reportDir: '/r/20260110-020000-synth001',
  journal: '/r/20260110-020000-synth001/journal.json',
  summary: '/r/20260110-020000-synth001/summary.md',
  html: '/r/20260110-020000-synth001/report.html',
  junit: '/r/20260110-020000-synth001/junit.xml',
  sha256sums: '/r/20260110-020000-synth001/SHA256SUMS',
  index: '/r/index.json',
  redactedFiles: [],
};

const PLAN = [
  { id: 'full-backup', title: 'Full Backup', mode: 'order' as const },
  { id: 'restore-custom', title: 'Restore from Custom Format Dump', mode: 'order' as const },
  { id: 'full-backup', title: 'Full Backup', mode: 'alone' as const },
  { id: 'restore-custom', title: 'Restore from Custom Format Dump', mode: 'alone' as const },
];

function startedReporter(tty: FakeTty, clock: { now: number }): LiveReporter {
  const reporter = new LiveReporter(tty, { now: () => clock.now, intervalMs: 60_000 });
  reporter.onDrillStart({ drillId: 'ab12cd34', runbook: '/repo/runbook/backup-restore.md', reportDir: '/r/x', procedures: PLAN });
  return reporter;
}

afterEach(() => {
  vi.useRealTimers();
});

describe('choosing the progress style', () => {
  const tty = { quiet: false, isTTY: true };
  it('is live only on a terminal outside CI, with colour allowed and a real TERM', () => {
    expect(chooseProgressMode({ ...tty, env: { TERM: 'xterm-256color' } })).toBe('live');
    expect(chooseProgressMode({ ...tty, env: { TERM: 'xterm', CI: 'false' } })).toBe('live');
  });
  it('is plain lines when stderr is not a TTY, in CI, with NO_COLOR, or on a dumb terminal', () => {
    expect(chooseProgressMode({ quiet: false, isTTY: false, env: { TERM: 'xterm' } })).toBe('plain');
    expect(chooseProgressMode({ quiet: false, isTTY: undefined, env: { TERM: 'xterm' } })).toBe('plain');
    expect(chooseProgressMode({ ...tty, env: { TERM: 'xterm', CI: 'true' } })).toBe('plain');
    expect(chooseProgressMode({ ...tty, env: { TERM: 'xterm', CI: '1' } })).toBe('plain');
    expect(chooseProgressMode({ ...tty, env: { TERM: 'xterm', NO_COLOR: '1' } })).toBe('plain');
    expect(chooseProgressMode({ ...tty, env: { TERM: 'dumb' } })).toBe('plain');
    expect(chooseProgressMode({ ...tty, env: {} })).toBe('plain');
  });
  it('is nothing with --quiet, whatever the terminal', () => {
    expect(chooseProgressMode({ quiet: true, isTTY: true, env: { TERM: 'xterm' } })).toBe('none');
    expect(chooseProgressMode({ quiet: true, isTTY: false, env: { CI: 'true' } })).toBe('none');
  });
});

describe('progress text pieces', () => {
  it('formats bars, sizes and times', () => {
    expect(progressBar(0.5, 10)).toBe('▕█████░░░░░▏  50%');
    expect(progressBar(2, 4)).toBe('▕████▏ 100%');
    expect(progressBar(Number.NaN, 4)).toBe('▕░░░░▏   0%');
    expect(formatBytes(512)).toBe('512 B');
    expect(formatBytes(5 * 1024 * 1024)).toBe('5.0 MiB');
    expect(formatBytes(300 * 1024 * 1024)).toBe('300 MiB');
    expect(formatElapsed(12_345)).toBe('12.3s');
    expect(formatElapsed(125_000)).toBe('2m 05s');
  });
  it('cuts a coloured line to a visible width without cutting an escape sequence', () => {
    const line = `\u001b[32m✔\u001b[39m ${'x'.repeat(50)}`;
    const cut = fitLine(line, 10);
    expect(stripAnsi(cut)).toBe(`✔ ${'x'.repeat(7)}…`);
    expect(cut.startsWith('\u001b[32m✔\u001b[39m')).toBe(true);
    expect(fitLine('short', 10)).toBe('short');
  });
});

describe('the live task list', () => {
  it('lists every planned procedure per isolation mode, with the environment step and a seeding bar', () => {
    const tty = new FakeTty();
    const clock = { now: 1_000_000 };
    const reporter = startedReporter(tty, clock);
    reporter.onStep('seeding 2000 identities (seed 42)');
    reporter.onSeedProgress({ table: 'enclaves', rows: 20, totalRows: 20 });
    reporter.onSeedProgress({ table: 'identities', rows: 500, totalRows: 2000 });
    clock.now += 4200;
    const frame = reporter.frame({ columns: 100, rows: 30 }).map(stripAnsi);
    expect(frame[0]).toBe('nmia-drill ab12cd34 · backup-restore.md · 4.2s · 0/4 done');
    expect(frame.slice(1, 5)).toEqual([
      '  · order full-backup',
      '  · order restore-custom',
      '  · alone full-backup',
      '  · alone restore-custom',
    ]);
    expect(frame[5]).toBe('  ▸ seeding 2000 identities (seed 42)  4.2s');
    expect(frame[6]).toBe(`    ${progressBar(0.25)}  identities: 500/2,000 rows  (1 table done)`);
    reporter.stop();
  });

  it('shows the running procedure with its current command, elapsed time and a byte bar for a growing copy', () => {
    const tty = new FakeTty();
    const clock = { now: 1_000_000 };
    const reporter = startedReporter(tty, clock);
    reporter.onProcedureStart({ id: 'full-backup', title: 'Full Backup', mode: 'order' });
    reporter.onProcedureStep(
      'full-backup',
      '$ docker compose cp db:/tmp/nmia_backup.dump ./backups/nmia_backup_$(date +%Y%m%d_%H%M%S).dump',
    );
    reporter.onBytesProgress('./backups/nmia_backup_20260110_020000.dump', 2 * 1024 * 1024, 8 * 1024 * 1024);
    clock.now += 1000;
    reporter.onBytesProgress('./backups/nmia_backup_20260110_020000.dump', 4 * 1024 * 1024, 8 * 1024 * 1024);
    reporter.onBytesProgress('db:/tmp/other.dump', 3000);
    clock.now += 500;
    const frame = reporter.frame({ columns: 200, rows: 30 }).map(stripAnsi);
    expect(frame[1]).toMatch(
      /^ {2}[⠋⠙⠹⠸⠼⠴⠦⠧⠇⠏] order full-backup {7}1.5s {2}\$ docker compose cp db:\/tmp\/nmia_backup\.dump \.\/backups\/nmia_backup_\$\(date/,
    );
    expect(frame[2]).toBe(`      ${progressBar(0.5)}  ./backups/nmia_backup_20260110_020000.dump  4.0 MiB / 8.0 MiB  2.0 MiB/s`);
    // Size known, total unknown (a dump being written): bytes, no bar.
    expect(frame[3]).toBe('      ↧ db:/tmp/other.dump  2.9 KiB');
    expect(frame[4]).toBe('  · order restore-custom');

    // A transfer that stopped growing makes room after a few seconds.
    clock.now += 5000;
    expect(reporter.frame({ columns: 200, rows: 30 }).map(stripAnsi)[2]).toBe('  · order restore-custom');

    reporter.onProcedureEnd(record({ id: 'full-backup', mode: 'order', outcome: 'passed', durationMs: 6500 }));
    reporter.onProcedureStart({ id: 'restore-custom', title: 'Restore', mode: 'order' });
    reporter.onProcedureStep('restore-custom', 'content: row counts, content hashes and sequences match the backup → failed');
    reporter.onProcedureEnd(
      record({
        id: 'restore-custom',
        mode: 'order',
        outcome: 'failed',
        durationMs: 3000,
        findings: ['F01'],
        rungs: [{ rung: 'content', check: 'row counts match', outcome: 'failed', summary: 'identities: 0 rows, expected 2000' }],
      }),
    );
    const after = reporter.frame({ columns: 200, rows: 30 }).map(stripAnsi);
    expect(after[0]).toMatch(/ · 2\/4 done · 1 not passed$/);
    expect(after[1]).toBe('  ✔ order full-backup       6.5s');
    expect(after[2]).toBe('  ✖ order restore-custom    3.0s  F01  content: row counts match');
    expect(after[3]).toBe('  · alone full-backup');
    reporter.stop();
  });

  it('fits a small terminal: lines cut to the width, the list shortened to the height around the running procedure', () => {
    const tty = new FakeTty(60, 9);
    const clock = { now: 0 };
    const reporter = new LiveReporter(tty, { now: () => clock.now, intervalMs: 60_000 });
    const plan = Array.from({ length: 24 }, (_, index) => ({
      id: `procedure-${String(index).padStart(2, '0')}`,
      title: 't',
      mode: index < 12 ? ('order' as const) : ('alone' as const),
    }));
    reporter.onDrillStart({ drillId: 'ab12cd34', runbook: 'runbook.md', reportDir: '/r', procedures: plan });
    for (const { id, mode } of plan.slice(0, 10)) {
      reporter.onProcedureStart({ id, title: 't', mode });
      reporter.onProcedureEnd(record({ id, mode, outcome: id === 'procedure-03' ? 'failed' : 'passed', durationMs: 1000 }));
    }
    reporter.onProcedureStart({ id: 'procedure-10', title: 't', mode: 'order' });
    reporter.onProcedureStep('procedure-10', `$ ${'pg_restore --verbose '.repeat(10)}`);
    (reporter as unknown as { renderer: TerminalRenderer }).renderer.render();
    const screen = screenOf(tty.output);
    expect(screen.length).toBeLessThanOrEqual(8);
    for (const line of screen) expect([...line].length).toBeLessThan(60);
    expect(screen.join('\n')).toMatch(/… \d+ more finished, 1 not passed/);
    expect(screen.join('\n')).toMatch(/order procedure-10 .*\$ pg_restore --verbose .*…$/m);
    expect(screen.join('\n')).toMatch(/… \d+ more to run/);
    reporter.stop();
  });

  it('redraws in place: the screen holds one frame, however often it is drawn', () => {
    const tty = new FakeTty();
    const clock = { now: 0 };
    const reporter = startedReporter(tty, clock);
    const renderer = (reporter as unknown as { renderer: TerminalRenderer }).renderer;
    reporter.onProcedureStart({ id: 'full-backup', title: 'Full Backup', mode: 'order' });
    for (let step = 0; step < 5; step += 1) {
      reporter.onProcedureStep('full-backup', `$ command ${step}`);
      clock.now += 100;
      renderer.render();
    }
    const screen = screenOf(tty.output);
    expect(screen).toHaveLength(5);
    expect(screen[1]).toMatch(/order full-backup .*\$ command 4$/);
    expect(tty.output).toContain('\u001b[?25l');
    reporter.stop();
  });

  it('redraws at most ten times a second', () => {
    vi.useFakeTimers();
    const tty = new FakeTty();
    const reporter = new LiveReporter(tty);
    reporter.onDrillStart({ drillId: 'ab12cd34', runbook: 'runbook.md', reportDir: '/r', procedures: PLAN });
    const framesBefore = tty.chunks.length;
    vi.advanceTimersByTime(2000);
    expect(tty.chunks.length - framesBefore).toBeLessThanOrEqual(20);
    expect(tty.chunks.length - framesBefore).toBeGreaterThanOrEqual(19);
    reporter.stop();
    const afterStop = tty.chunks.length;
    vi.advanceTimersByTime(2000);
    expect(tty.chunks.length).toBe(afterStop);
  });

  it("keeps anyone else's writes above the frame instead of tearing it", () => {
    const tty = new FakeTty();
    const reporter = startedReporter(tty, { now: 0 });
    tty.write('warning: something a library printed\n');
    const screen = screenOf(tty.output);
    expect(screen[0]).toBe('warning: something a library printed');
    expect(screen[1]).toMatch(/^nmia-drill ab12cd34/);
    expect(screen).toHaveLength(6);
    reporter.stop();
    // Released: writes go straight to the stream again.
    expect(Object.hasOwn(tty, 'write')).toBe(false);
  });

  it('on finish leaves the final task list from the journal, then the summary table, findings and report path', () => {
    const tty = new FakeTty(160, 40);
    const reporter = startedReporter(tty, { now: 0 });
    reporter.onProcedureStart({ id: 'full-backup', title: 'Full Backup', mode: 'order' });
    const journal = syntheticJournal();
    reporter.onDrillEnd(journal, files);
    const screen = screenOf(tty.output);
    const text = screen.join('\n');
    expect(screen[0]).toMatch(/^nmia-drill ab12cd34 · backup-restore\.md/);
    expect(screen[1]).toMatch(/^ {2}✔ order full-backup +1\.8s {2}F03$/);
    expect(text).toMatch(/^ {2}↷ order config-export +skipped by --skip/m);
    expect(text).toMatch(/^ {2}○ order pending:Section › Something +pending in the lock/m);
    expect(text).toMatch(/^OUTCOME +MODE +PROCEDURE +TIME +FINDINGS$/m);
    expect(text).toMatch(/^Runbook defects:$/m);
    expect(text).toMatch(/^Application defects \(seen before the disaster too; not counted against the runbook\):\n {2}F03 /m);
    expect(text).toContain(`report:  ${files.html}`);
    // Hostile text from the journal never reaches the terminal as control characters in the task list.
    const taskList = screen.slice(0, journal.procedures.length + 1).join('\n');
    expect(taskList).not.toContain('\u001b');
    expect(tty.output.endsWith('\u001b[?25h')).toBe(true);
  });

  it('stops on interrupt: the running procedure marked, the cursor back, later writes below and nothing redrawn', () => {
    vi.useFakeTimers();
    const tty = new FakeTty();
    const reporter = new LiveReporter(tty);
    reporter.onDrillStart({ drillId: 'ab12cd34', runbook: 'runbook.md', reportDir: '/r', procedures: PLAN });
    reporter.onProcedureStart({ id: 'full-backup', title: 'Full Backup', mode: 'order' });
    vi.advanceTimersByTime(1500);
    reporter.stop();
    tty.write('\nSIGINT: stopping the drill, cleaning up and writing the journal…\n');
    reporter.onProcedureEnd(record({ id: 'full-backup', mode: 'order', outcome: 'error', durationMs: 1500 }));
    vi.advanceTimersByTime(1000);
    const screen = screenOf(tty.output);
    // Where it was when interrupted stays readable.
    expect(screen[1]).toMatch(/^ {2}■ order full-backup +1\.5s {2}preparing$/);
    expect(screen.at(-1)).toBe('SIGINT: stopping the drill, cleaning up and writing the journal…');
    expect(tty.output.lastIndexOf('\u001b[?25h')).toBeGreaterThan(tty.output.lastIndexOf('\u001b[?25l'));
    expect(tty.output.indexOf('SIGINT')).toBeGreaterThan(tty.output.lastIndexOf('\u001b[?2026l'));
  });

  it('writes steps that come before the drill starts as ordinary lines', () => {
    const tty = new FakeTty();
    const reporter = new LiveReporter(tty);
    reporter.onStep('checklist probes: api at http://nmia.example');
    expect(tty.output).toBe('checklist probes: api at http://nmia.example\n');
  });
});
