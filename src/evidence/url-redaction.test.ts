import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticJournal } from '../../test-support/synthetic-journal.ts';
import { ConsoleReporter } from '../cli/console-reporter.ts';
import { bundleFiles } from './evidence-bundle.ts';
import { writeEvidence } from './evidence-writer.ts';
import type { Journal } from './journal.ts';
import { redactingReporter } from './redacting-reporter.ts';
import { Redactor } from './redactor.ts';

/** A password registered nowhere: only its place in a URL says it is one. */
const CANARY = 'CANARY-url-pw-91c4';
const URL = `postgresql://nmia:${CANARY}@db:5432/nmia`;

/** The canary URL in every free-text place a journal has: block text, bindings, output tails, rungs, findings, errors. */
function leakyJournal(): Journal {
  const journal = syntheticJournal();
  const block = journal.procedures[0]!.blocks[0]!;
  block.executedText = `cat > .env <<EOF\nDATABASE_URL=${URL}\nEOF`;
  block.bindings[0]!.value = URL;
  block.stderrTail = `psql: error: connection to "${URL}" failed`;
  block.commands[0]!.text = `psql "${URL}" -c 'select 1'`;
  journal.procedures[0]!.rungs[0]!.summary = `restored via ${URL}`;
  journal.findings[0]!.title = `cannot connect with ${URL}`;
  journal.findings[0]!.evidence = { url: URL, libpq: `host=db password=${CANARY} dbname=nmia` };
  journal.error = `stack failed: ${URL}`;
  return journal;
}

describe('a canary password inside a URL', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('is absent from every file of the bundle, including files other components wrote, and from the console', async () => {
    const root = await mkdtemp(join(tmpdir(), 'nmia-drill-url-redaction-'));
    dirs.push(root);
    const reportDir = join(root, '20260110-020000-deadbeef');
    await mkdir(join(reportDir, 'procedures', 'order-full-backup'), { recursive: true });
    // What a block runner or probe wrote into the bundle itself: the last line of defence must catch it.
    await writeFile(join(reportDir, 'procedures', 'order-full-backup', 'block-0.trace'), `+ psql ${URL}\n`);
    const journal = leakyJournal();
    const files = await writeEvidence(journal, reportDir, new Redactor(), { NMIA_DRILL_SIGNING: 'off' });
    expect(files.redactedFiles).toEqual(['procedures/order-full-backup/block-0.trace']);
    const paths = await bundleFiles(reportDir);
    expect(paths).toEqual(expect.arrayContaining(['journal.json', 'report.html', 'summary.md', 'junit.xml']));
    for (const path of [...paths.map((path) => join(reportDir, path)), join(reportDir, 'SHA256SUMS'), files.index]) {
      const text = await readFile(path, 'latin1');
      expect(text.includes(CANARY), `${path} holds the URL's password`).toBe(false);
    }
    // Masked, not deleted: the reader still sees which user and host were used.
    expect(await readFile(files.journal, 'utf8')).toContain('postgresql://nmia:***@db:5432/nmia');

    const lines: string[] = [];
    const reporter = redactingReporter(new ConsoleReporter((line) => lines.push(line)), new Redactor());
    reporter.onStep?.(`environment: ${URL}`);
    reporter.onCommand?.('full-backup', { text: `psql ${URL}`, exitCode: 2, durationMs: 5 });
    reporter.onDrillEnd?.(journal, files);
    const console = lines.join('\n');
    expect(console).toContain('cannot connect with postgresql://nmia:***@db:5432/nmia');
    expect(console.includes(CANARY)).toBe(false);
  });
});
