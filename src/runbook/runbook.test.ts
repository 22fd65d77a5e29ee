import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../errors/drill-error.ts';
import { findBlock, isShellBlock, loadRunbook, parseRunbook, sha256Hex } from './runbook.ts';
import type { Runbook } from './runbook.ts';

const RUNBOOK = 'runbook/backup-restore.md';
const RECOVERY = 'Disaster Recovery Checklist › Recovery Steps';

describe('the real runbook', () => {
  let runbook: Runbook;
  let bytes: Buffer;
  beforeAll(async () => {
    runbook = await loadRunbook(RUNBOOK);
    bytes = await readFile(RUNBOOK);
  });

  it('hashes the file bytes', () => {
    expect(runbook.path).toBe(RUNBOOK);
    expect(runbook.sha256).toBe(sha256Hex(bytes));
  });

  it('finds every fenced block with its section path, index, lang and fence line', () => {
    expect(runbook.blocks.map((b) => [b.sectionTitle, b.index, b.lang, b.line])).toEqual([
      ['Database Backup › Full Backup (Recommended)', 0, 'bash', 33],
      ['Database Backup › SQL Text Backup', 0, 'bash', 49],
      ['Database Backup › Schema-Only Backup', 0, 'bash', 63],
      ['Database Backup › Automated Backup Script', 0, 'bash', 77],
      ['Database Backup › Automated Backup Script', 1, null, 103],
      ['Database Restore › Restore from Custom Format Dump', 0, 'bash', 113],
      ['Database Restore › Restore from SQL Text Dump', 0, 'bash', 139],
      ['Database Restore › Restore to a Different Database (for Testing)', 0, 'bash', 160],
      ['Docker Volume Backup', 0, 'bash', 185],
      ['Docker Volume Backup › Restore Docker Volume', 0, 'bash', 201],
      ['Configuration Backup', 0, 'bash', 229],
      [RECOVERY, 0, 'bash', 257],
      [RECOVERY, 1, 'bash', 264],
      [RECOVERY, 2, 'bash', 279],
      [RECOVERY, 3, 'bash', 287],
      [RECOVERY, 4, 'bash', 298],
    ]);
    // The fence line is the line of the ``` itself, matching what `cat -n` shows.
    expect(bytes.toString('utf8').split('\n')[33 - 1]).toBe('```bash');
  });

  it('keeps the exact block text and its hash', () => {
    const full = findBlock(runbook, 'Database Backup › Full Backup (Recommended)', 0)!;
    expect(full.text.split('\n')[0]).toBe('# From the host, using the running db container');
    expect(full.text.split('\n')[1]).toBe('docker compose exec db pg_dump \\');
    expect(full.text.endsWith('.dump')).toBe(true);
    expect(full.sha256).toBe(sha256Hex(full.text));
    expect(full.listItem).toBeUndefined();

    const cron = findBlock(runbook, 'Database Backup › Automated Backup Script', 1)!;
    expect(cron.lang).toBeNull();
    expect(cron.text).toBe('0 2 * * * /opt/nmia/backup.sh >> /var/log/nmia-backup.log 2>&1');
    expect(isShellBlock(cron)).toBe(true);
  });

  it('strips the list-item indentation from nested blocks, as the operator would paste them', () => {
    const env = findBlock(runbook, RECOVERY, 1)!;
    expect(env.text).toBe(
      '# Create .env with production values\ncat > .env <<EOF\nDATABASE_URL=postgresql://nmia:nmia@db:5432/nmia\nSECRET_KEY=<original-secret-key>\nEOF',
    );
  });

  it('names the enclosing list item of the DR recovery blocks', () => {
    expect(runbook.blocks.filter((b) => b.sectionTitle === RECOVERY).map((b) => b.listItem)).toEqual([
      'Clone the repository',
      'Restore environment configuration',
      'Start the database',
      'Restore the database backup',
      'Start remaining services',
    ]);
  });

  it('lists sections in order, including those without blocks', () => {
    expect(runbook.sections.map((s) => s.title)).toContain('What to Back Up');
    const docker = runbook.sections.find((s) => s.title === 'Docker Volume Backup')!;
    expect(docker).toMatchObject({ path: ['Docker Volume Backup'], line: 181 });
    expect(docker.blocks).toHaveLength(1);
    expect(runbook.sections.find((s) => s.title === 'Docker Volume Backup › Restore Docker Volume')!.path).toEqual([
      'Docker Volume Backup',
      'Restore Docker Volume',
    ]);
    expect(runbook.sections.some((s) => s.title.includes('Backup and Restore Runbook'))).toBe(false);
  });

  it('collects the GFM task lists as checklist items', () => {
    const prereq = runbook.sections.find((s) => s.title === 'Disaster Recovery Checklist › Prerequisites')!;
    expect(prereq.checklist).toHaveLength(5);
    expect(prereq.checklist[3]).toEqual({
      sectionTitle: 'Disaster Recovery Checklist › Prerequisites',
      text: 'Knowledge of the SECRET_KEY used in the original environment',
      line: 250,
      checked: false,
    });

    const steps = runbook.sections.find((s) => s.title === RECOVERY)!;
    expect(steps.checklist).toHaveLength(12);
    expect(steps.checklist[0]).toEqual({
      sectionTitle: RECOVERY,
      text: 'API responds at http://host:8000/docs',
      line: 304,
      checked: false,
      parentItem: 'Verify recovery',
    });
    expect(steps.checklist.filter((c) => c.parentItem === 'Verify recovery').map((c) => c.text)).toEqual([
      'API responds at http://host:8000/docs',
      'UI loads at http://host:5173',
      'Admin can log in with existing credentials',
      'Enclaves and connectors are visible',
      'Identity counts match pre-disaster numbers',
      'Worker is running (check docker compose logs worker)',
      'Run a test connector scan to verify connectivity',
    ]);
    expect(steps.checklist.filter((c) => c.parentItem === 'Post-recovery actions')).toHaveLength(5);
  });

  it('findBlock misses unknown sections and indices', () => {
    expect(findBlock(runbook, 'Database Backup', 0)).toBeUndefined();
    expect(findBlock(runbook, 'Database Backup › Automated Backup Script', 2)).toBeUndefined();
  });
});

describe('parseRunbook on small documents', () => {
  it('builds heading paths from H2 down and skips the H1', () => {
    const md = [
      '# Title',
      '',
      '## A',
      '',
      '```sh',
      'echo a',
      '```',
      '',
      '### B',
      '',
      '#### C',
      '',
      '~~~zsh',
      'echo c',
      '~~~',
      '',
      '## D',
      '',
      '```',
      'echo d0',
      '```',
      '',
      '```python',
      'print(1)',
      '```',
      '',
    ].join('\n');
    const rb = parseRunbook(md, 'x.md');
    expect(rb.blocks.map((b) => [b.sectionTitle, b.index, b.lang, b.line, b.text])).toEqual([
      ['A', 0, 'sh', 5, 'echo a'],
      ['A › B › C', 0, 'zsh', 13, 'echo c'],
      ['D', 0, null, 19, 'echo d0'],
      ['D', 1, 'python', 23, 'print(1)'],
    ]);
    expect(rb.blocks.map(isShellBlock)).toEqual([true, true, true, false]);
    expect(rb.sections.map((s) => s.path)).toEqual([['A'], ['A', 'B'], ['A', 'B', 'C'], ['D']]);
  });

  it('goes back up the path when a shallower heading follows', () => {
    const md = '## A\n### B\n```bash\nb\n```\n## C\n```bash\nc\n```\n';
    expect(parseRunbook(md, 'x.md').blocks.map((b) => b.sectionTitle)).toEqual(['A › B', 'C']);
  });

  it('keeps (section, index) unique when a section title repeats', () => {
    const md = '## A\n### Example\n```bash\n1\n```\n## A\n### Example\n```bash\n2\n```\n';
    const rb = parseRunbook(md, 'x.md');
    expect(rb.blocks.map((b) => [b.sectionTitle, b.index, b.text])).toEqual([
      ['A › Example', 0, '1'],
      ['A › Example', 1, '2'],
    ]);
  });

  it('puts blocks before the first H2 in a section with an empty path', () => {
    const rb = parseRunbook('# T\n\n```bash\ntop\n```\n', 'x.md');
    expect(rb.blocks[0]).toMatchObject({ sectionTitle: '', sectionPath: [], index: 0, line: 3 });
  });

  it('reads task items with their checked state and plain text', () => {
    const md = '## S\n\n- [x] done with `code` and **bold**\n- [ ] open\n- plain item\n';
    const rb = parseRunbook(md, 'x.md');
    expect(rb.sections[0]!.checklist).toEqual([
      { sectionTitle: 'S', text: 'done with code and bold', line: 3, checked: true },
      { sectionTitle: 'S', text: 'open', line: 4, checked: false },
    ]);
  });

  it('takes the list item text of a nested block from its first paragraph', () => {
    const md = '## S\n\n- Run *this*\n  on two lines\n\n  ```bash\n  echo hi\n  ```\n';
    const block = parseRunbook(md, 'x.md').blocks[0]!;
    expect(block.listItem).toBe('Run this on two lines');
    expect(block.text).toBe('echo hi');
  });

  it('does not treat a fence inside a table cell or inline code as a block', () => {
    const md = '## S\n\n| a | b |\n|---|---|\n| `x` | ```not a fence``` |\n\nUse ```inline``` here.\n';
    expect(parseRunbook(md, 'x.md').blocks).toHaveLength(0);
  });
});

describe('loadRunbook errors', () => {
  let dir: string;
  beforeAll(async () => {
    dir = await mkdtemp(join(tmpdir(), 'nmia-runbook-'));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  it('names a missing file and how to fix it, on one line', async () => {
    const missing = join(dir, 'nope.md');
    const error = await loadRunbook(missing).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toBe(`runbook not found: ${missing} (no such file)`);
    expect((error as UsageError).fix).toMatch(/runbook\/backup-restore\.md/);
    expect((error as UsageError).message).not.toContain('\n');
  });

  it('refuses a runbook without fenced blocks', async () => {
    const path = join(dir, 'prose.md');
    await writeFile(path, '# Runbook\n\n## Backup\n\nJust do it.\n\n    indented code is not a fence\n');
    await expect(loadRunbook(path)).rejects.toThrow(/has no fenced code blocks/);
  });

  it('hashes the raw bytes, BOM included', async () => {
    const path = join(dir, 'bom.md');
    const raw = Buffer.concat([Buffer.from([0xef, 0xbb, 0xbf]), Buffer.from('## S\n```bash\nx\n```\n')]);
    await writeFile(path, raw);
    const rb = await loadRunbook(path);
    expect(rb.sha256).toBe(sha256Hex(raw));
    expect(rb.blocks[0]).toMatchObject({ sectionTitle: 'S', line: 2 });
  });
});
