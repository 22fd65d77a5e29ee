import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticJournal } from '../../test-support/synthetic-journal.ts';
import { drillEndText } from '../cli/console-reporter.ts';
import { printAttestationPdf } from './attestation-pdf.ts';
import { verifyEvidence } from './evidence-bundle.ts';
import { writeEvidence } from './evidence-writer.ts';
import type { Journal } from './journal.ts';
import { Redactor } from './redactor.ts';

/* attestation.pdf when there is no Chromium to print it, or one that never answers: no file, one honest line. */
describe('attestation.pdf without a working Chromium', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  async function scratch(): Promise<string> {
    const root = await mkdtemp(join(tmpdir(), 'nmia-drill-attestation-pdf-'));
    dirs.push(root);
    return root;
  }

  it('leaves it out of the bundle, says why and the fix in one line (attestation.md, summary.md, console), and changes nothing else', async () => {
    const root = await scratch();
    const dir = join(root, '20260110-020000-synth001');
    await mkdir(dir);
    // From an earlier write of the same bundle: it must not outlive a print that fails now.
    await writeFile(join(dir, 'attestation.pdf'), '%PDF-1.4 stale');
    const missing = join(root, 'no-such-chromium');
    const files = await writeEvidence(syntheticJournal(), dir, new Redactor(), { NMIA_DRILL_SIGNING: 'off', NMIA_DRILL_CHROMIUM: missing });

    const line = `attestation.pdf not written: Chromium is unavailable: no executable at ${missing} (fix: apt-get install -y --no-install-recommends chromium, or set NMIA_DRILL_CHROMIUM to a Chromium binary)`;
    expect(files.attestationPdfNotWritten).toBe(line);
    expect(files.attestationPdf).toBeUndefined();
    expect(existsSync(join(dir, 'attestation.pdf'))).toBe(false);
    expect((await readFile(files.attestation!, 'utf8')).split('\n')).toContain(line);
    expect((await readFile(files.summary, 'utf8')).split('\n')).toContain(`- ${line}`);
    const written = JSON.parse(await readFile(files.journal, 'utf8')) as Journal;
    expect(drillEndText(written, files)).toContain(line);
    expect(written.outcome).toBe(syntheticJournal().outcome);
    expect(written.totals).toEqual(syntheticJournal().totals);
    expect(await readFile(files.sha256sums, 'utf8')).not.toContain('attestation.pdf');
    expect(await verifyEvidence(dir, { env: {} })).toMatchObject({ ok: true });
  });

  it('is not printed, and says so, when turned off (NMIA_DRILL_ATTESTATION_PDF=off): no browser is started', async () => {
    const root = await scratch();
    const dir = join(root, '20260110-020000-synth002');
    await mkdir(dir);
    // A Chromium that would fail loudly if it were started.
    const files = await writeEvidence(syntheticJournal(), dir, new Redactor(), {
      NMIA_DRILL_SIGNING: 'off',
      NMIA_DRILL_ATTESTATION_PDF: 'off',
      NMIA_DRILL_CHROMIUM: join(root, 'no-such-chromium'),
    });
    expect(files.attestationPdfNotWritten).toBe(
      'attestation.pdf not written: turned off (NMIA_DRILL_ATTESTATION_PDF=off) (fix: unset NMIA_DRILL_ATTESTATION_PDF to print it)',
    );
    expect(existsSync(join(dir, 'attestation.pdf'))).toBe(false);
    expect((await readFile(files.attestation!, 'utf8')).split('\n')).toContain(files.attestationPdfNotWritten);
  });

  it('gives up on a browser that never starts once its time is up, and says so', async () => {
    const root = await scratch();
    // Runs, but never speaks the DevTools protocol: a hung Chromium.
    const hung = join(root, 'hung-chromium');
    await writeFile(hung, '#!/bin/sh\nexec sleep 60\n');
    await chmod(hung, 0o755);
    const path = join(root, 'attestation.pdf');
    const started = performance.now();
    const result = await printAttestationPdf('<!doctype html><p>attestation</p>', path, {
      env: { NMIA_DRILL_CHROMIUM: hung },
      timeoutMs: 1500,
    });
    expect(performance.now() - started).toBeLessThan(10_000);
    expect(result.written).toBe(false);
    expect(result.written ? '' : result.notWritten).toMatch(/^attestation\.pdf not written: .+ \(fix: .+\)$/);
    expect(existsSync(path)).toBe(false);
  });
});
