import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { Redactor } from '../evidence/redactor.ts';
import type { Block } from '../runbook/runbook.ts';
import { BlockActivityWatcher, copySourceOf } from './block-activity-watcher.ts';
import { BlockRunner, blockTraceFile } from './block-runner.ts';

function block(text: string): Block {
  return { sectionTitle: 'Test › Block', sectionPath: ['Test', 'Block'], index: 0, lang: 'bash', line: 7, text, sha256: 'x' };
}

interface Seen {
  commands: string[];
  bytes: Array<{ label: string; bytes: number; totalBytes?: number; atMs: number }>;
}

describe('BlockActivityWatcher (a real bash block, real files growing)', () => {
  let dir: string;
  let project: string;
  let backups: string;
  let dbTmp: string;
  let evidence: string;
  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'block-watcher-'));
    project = join(dir, 'nmia');
    backups = join(project, 'backups');
    dbTmp = join(dir, 'db-rootfs', 'tmp');
    evidence = join(dir, 'evidence');
    for (const path of [backups, dbTmp, evidence]) await mkdir(path, { recursive: true });
  });
  afterEach(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Runs a block the way ProcedureContext does: watcher started before, stopped after. */
  async function runWatched(
    text: string,
  ): Promise<{ seen: Seen; exitCode: number | null; stoppedAtMs: number; seenAfterStop: () => number }> {
    const seen: Seen = { commands: [], bytes: [] };
    const watcher = new BlockActivityWatcher({
      traceFile: blockTraceFile(evidence, 'b0'),
      dirs: () => [
        { dir: backups, shownAs: './backups' },
        { dir: dbTmp, shownAs: 'db:/tmp' },
      ],
      listener: {
        onCommand: (command) => seen.commands.push(command),
        onBytes: (label, bytes, totalBytes) =>
          seen.bytes.push({ label, bytes, ...(totalBytes !== undefined ? { totalBytes } : {}), atMs: Date.now() }),
      },
    });
    await watcher.start();
    let run;
    try {
      run = await new BlockRunner().run({
        block: block(text),
        cwd: project,
        evidenceDir: evidence,
        label: 'b0',
        env: { PATH: process.env.PATH ?? '', DB_TMP: dbTmp },
        redactor: new Redactor(),
      });
    } finally {
      await watcher.stop();
    }
    const stoppedAtMs = Date.now();
    const count = seen.bytes.length + seen.commands.length;
    return { seen, exitCode: run.exitCode, stoppedAtMs, seenAfterStop: () => seen.bytes.length + seen.commands.length - count };
  }

  it('reports the command bash is on and a dump growing in ./backups, then stops with the block', async () => {
    await writeFile(join(backups, 'yesterday.dump'), 'x'.repeat(1000));
    // A function's body is not traced: to bash (and an operator) this is one long command, like a pg_dump.
    const { seen, exitCode, seenAfterStop } = await runWatched(
      [
        'echo start',
        'slow_dump() { for i in 1 2 3 4 5 6; do head -c 100000 /dev/zero >> "$1"; sleep 0.2; done; }',
        'slow_dump backups/nmia_backup.dump',
        'echo done',
      ].join('\n'),
    );
    expect(exitCode).toBe(0);
    expect(seen.commands).toContain('slow_dump backups/nmia_backup.dump');
    expect(seen.commands).not.toContain('sleep 0.2');
    const growth = seen.bytes.filter((entry) => entry.label === './backups/nmia_backup.dump');
    // Seen while it grew (several sizes, increasing), and at its final size after the block.
    expect(growth.length).toBeGreaterThanOrEqual(3);
    expect(growth.map((entry) => entry.bytes)).toEqual([...growth.map((entry) => entry.bytes)].sort((a, b) => a - b));
    expect(growth.at(-1)!.bytes).toBe(600_000);
    expect(growth.every((entry) => entry.totalBytes === undefined)).toBe(true);
    // A file that was there before the block and did not change is not progress.
    expect(seen.bytes.some((entry) => entry.label.includes('yesterday'))).toBe(false);
    await new Promise((resolve) => setTimeout(resolve, 700));
    expect(seenAfterStop()).toBe(0);
  });

  it("gives a copy out of a service its total: the source's size, found through the service's directory", async () => {
    await writeFile(join(dbTmp, 'nmia_backup.dump'), Buffer.alloc(500_000, 7));
    // A stand-in `docker` that copies slowly, so the copy is watched while it runs.
    const text = [
      'docker() { local from="$DB_TMP/${3#db:/tmp/}"; for i in 1 2 3 4 5; do head -c $((i * 100000)) "$from" > "$4"; sleep 0.25; done; }',
      'docker compose cp db:/tmp/nmia_backup.dump ./backups/nmia_backup_20260110.dump',
    ].join('\n');
    const { seen, exitCode } = await runWatched(text);
    expect(exitCode).toBe(0);
    expect(seen.commands).toContain('docker compose cp db:/tmp/nmia_backup.dump ./backups/nmia_backup_20260110.dump');
    const copy = seen.bytes.filter((entry) => entry.label === './backups/nmia_backup_20260110.dump');
    expect(copy.length).toBeGreaterThanOrEqual(3);
    expect(copy.every((entry) => entry.totalBytes === 500_000)).toBe(true);
    expect(copy.at(-1)!.bytes).toBe(500_000);
  });

  it('keeps the total of a quick copy made under a temporary name and renamed at once, which no poll caught running', async () => {
    await writeFile(join(dbTmp, 'nmia_backup.dump'), Buffer.alloc(300_000, 7));
    const text = [
      'docker() { cp "$DB_TMP/${3#db:/tmp/}" "$4"; }',
      'BACKUP=./backups/nmia_backup_20260111.dump',
      'docker compose cp db:/tmp/nmia_backup.dump "$BACKUP.partial" || { rm -f "$BACKUP.partial"; false; }',
      'mv "$BACKUP.partial" "$BACKUP"',
      'sleep 0.6',
    ].join('\n');
    const { seen, exitCode } = await runWatched(text);
    expect(exitCode).toBe(0);
    expect(seen.bytes.find((entry) => entry.label === './backups/nmia_backup_20260111.dump')).toMatchObject({
      bytes: 300_000,
      totalBytes: 300_000,
    });
    // Seeded: a file of another size, made the same way without a copy, gets no total.
    const other = await runWatched(
      ['head -c 1234 /dev/zero > ./backups/a.tmp', 'mv ./backups/a.tmp ./backups/b.dump', 'sleep 0.6'].join('\n'),
    );
    expect(other.seen.bytes.find((entry) => entry.label === './backups/b.dump')).toMatchObject({ bytes: 1234 });
    expect(other.seen.bytes.find((entry) => entry.label === './backups/b.dump')?.totalBytes).toBeUndefined();
  });

  it("names files in a service's filesystem as the runbook does (db:/tmp/…)", async () => {
    const { seen } = await runWatched('for i in 1 2 3; do head -c 50000 /dev/zero >> "$DB_TMP/nmia_backup.sql"; sleep 0.3; done');
    expect(seen.bytes.map((entry) => entry.label)).toContain('db:/tmp/nmia_backup.sql');
  });
});

describe('copySourceOf', () => {
  it('finds the source of docker compose cp, docker cp and cp; nothing it would have to guess', () => {
    expect(copySourceOf('docker compose cp db:/tmp/nmia_backup.dump ./backups/x.dump')).toBe('db:/tmp/nmia_backup.dump');
    expect(copySourceOf('docker compose -f /opt/nmia/docker-compose.yml cp ./backups/a.dump db:/tmp/nmia_restore.dump')).toBe(
      './backups/a.dump',
    );
    expect(copySourceOf('docker cp nmia-db-1:/tmp/a ./b')).toBe('nmia-db-1:/tmp/a');
    expect(copySourceOf('cp -a .env backups/.env')).toBe('.env');
    expect(copySourceOf('docker compose exec db cp /tmp/a /tmp/b')).toBeUndefined();
    expect(copySourceOf('docker compose cp "$SRC" ./b')).toBeUndefined();
    expect(copySourceOf('docker compose exec db pg_dump -Fc --file=/tmp/x')).toBeUndefined();
    expect(copySourceOf('cp onlyone')).toBeUndefined();
  });
});
