import { spawnSync } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { canariesFor } from '../../nmia/seed/canaries.ts';
import { DEFAULT_RPO_TARGET_MS, DEFAULT_RTO_TARGET_MS, DEFAULT_SEED } from '../drill/drill-options.ts';
import { DrillRunner, type DrillResult } from '../drill/drill-runner.ts';
import { PROCEDURES } from '../../runbook/registry.ts';
import { status } from './drill-history.ts';
import { bundleFiles, verifyEvidence } from './evidence-bundle.ts';
import { externalReferences } from './html-report.ts';
import { journalValidator } from './journal-json-schema.ts';
import { type OscalAssessmentResults, oscalSchemaErrors } from './oscal-export.ts';
import { formatDuration, timingMeasures } from './timing-measures.ts';

const RUNBOOK = fileURLToPath(new URL('../../runbook/backup-restore.md', import.meta.url));

/*
 * One real drill, in-process: full-backup (an artifact, a manifest) and dr-recovery (binds SECRET_KEY,
 * so the bundle is where a secret would leak). Every assertion below reads the bundle it wrote.
 */
describe('writeEvidence on a real drill', () => {
  let reportRoot: string;
  let result: DrillResult;

  beforeAll(async () => {
    reportRoot = await mkdtemp(join(tmpdir(), 'nmia-drill-evidence-'));
    result = await new DrillRunner({
      runbookPath: RUNBOOK,
      allowDrift: false,
      seed: DEFAULT_SEED,
      scale: 200,
      isolation: 'order',
      only: ['full-backup', 'dr-recovery'],
      procedures: PROCEDURES,
      skip: [],
      reportRoot,
      stack: 'emulated',
      rtoTargetMs: DEFAULT_RTO_TARGET_MS,
      rpoTargetMs: DEFAULT_RPO_TARGET_MS,
      attestations: [],
    }).run();
  }, 180_000);

  afterAll(async () => {
    if (reportRoot) await rm(reportRoot, { recursive: true, force: true });
  });

  it('writes journal, summary, report.html, junit.xml, the OSCAL export and SHA256SUMS into the report dir, and the index beside it', () => {
    const { files } = result;
    expect(files.reportDir.startsWith(reportRoot)).toBe(true);
    expect([files.journal, files.summary, files.html, files.junit, files.oscal!, files.sha256sums].map((path) => basename(path))).toEqual([
      'journal.json',
      'summary.md',
      'report.html',
      'junit.xml',
      'oscal-assessment-results.json',
      'SHA256SUMS',
    ]);
    expect(files.index).toBe(join(reportRoot, 'index.json'));
    expect(dirname(files.html)).toBe(files.reportDir);
  });

  it('the journal validates against the committed JSON Schema', async () => {
    const validate = await journalValidator();
    const journal = JSON.parse(await readFile(result.files.journal, 'utf8'));
    expect(validate(journal), JSON.stringify(validate.errors?.slice(0, 5))).toBe(true);
    expect(journal.procedures.map((procedure: { id: string }) => procedure.id)).toEqual(
      expect.arrayContaining(['full-backup', 'dr-recovery']),
    );
  });

  it("the OSCAL export validates against NIST's schema, and its observations of this drill link to the bundle's own files", async () => {
    const document = JSON.parse(await readFile(result.files.oscal!, 'utf8')) as OscalAssessmentResults;
    expect(oscalSchemaErrors(document)).toEqual([]);
    const observations = document['assessment-results'].results[0]!.observations!;
    expect(observations.map((observation) => observation.title)).toEqual(
      expect.arrayContaining([expect.stringMatching(/^order\/full-backup: /), expect.stringMatching(/^order\/dr-recovery: /)]),
    );
    const present = new Set(await bundleFiles(result.files.reportDir));
    const hrefs = observations.flatMap((observation) => (observation['relevant-evidence'] ?? []).map((evidence) => evidence.href));
    expect(hrefs).toEqual(expect.arrayContaining([expect.stringMatching(/^procedures\/order-full-backup\//)]));
    for (const href of hrefs) expect(present.has(decodeURIComponent(href.split('#')[0]!)), href).toBe(true);
  });

  it('SHA256SUMS covers every file of the bundle, sha256sum -c accepts it, and verifyEvidence names a changed byte', async () => {
    const dir = result.files.reportDir;
    const listed = (await readFile(result.files.sha256sums, 'utf8'))
      .trimEnd()
      .split('\n')
      .map((line) => line.slice(66));
    expect(listed).toEqual(await bundleFiles(dir));
    expect(listed).toEqual(expect.arrayContaining(['journal.json', 'report.html', 'junit.xml', 'summary.md']));
    expect(listed.some((path) => path.startsWith('procedures/order-full-backup/'))).toBe(true);
    const check = spawnSync('sha256sum', ['-c', '--strict', 'SHA256SUMS'], { cwd: dir, encoding: 'utf8' });
    expect(check.status, check.stdout + check.stderr).toBe(0);
    expect(await verifyEvidence(dir, { env: {} })).toMatchObject({ ok: true, changed: [], missing: [], added: [] });
    const original = await readFile(result.files.junit);
    const tampered = Buffer.from(original);
    tampered.writeUInt8(tampered.readUInt8(100) ^ 0x20, 100);
    await writeFile(result.files.junit, tampered);
    try {
      expect(await verifyEvidence(dir, { env: {} })).toMatchObject({ ok: false, changed: ['junit.xml'] });
    } finally {
      await writeFile(result.files.junit, original);
    }
  });

  it('leaves no secret anywhere in the bundle (canaries), whoever wrote the file', async () => {
    const canaries = canariesFor(DEFAULT_SEED);
    const secrets = [canaries.secretKey, canaries.adminPassword, canaries.dbPassword, canaries.backupPassphrase, ...canaries.bindPasswords];
    for (const path of await bundleFiles(result.files.reportDir)) {
      const text = await readFile(join(result.files.reportDir, path), 'latin1');
      for (const secret of secrets) expect(text.includes(secret), `${path} holds a secret`).toBe(false);
    }
  });

  it('report.html is self-contained and shows the drill; junit.xml parses with a testcase per procedure', async () => {
    const page = await readFile(result.files.html, 'utf8');
    expect(externalReferences(page)).toEqual([]);
    expect(page).toContain(result.journal.drillId);
    expect(page).toContain('id="proc-order-full-backup"');
    const xml = await readFile(result.files.junit, 'utf8');
    expect(XMLValidator.validate(xml)).toBe(true);
    const parsed = new XMLParser({ ignoreAttributes: false, isArray: (name) => ['testsuite', 'testcase'].includes(name) }).parse(xml) as {
      testsuites: { testsuite: { '@_name': string; testcase: { '@_name': string; '@_classname': string }[] }[] };
    };
    const order = parsed.testsuites.testsuite.find((suite) => suite['@_name'] === 'order')!;
    expect(order.testcase.find((testcase) => testcase['@_name'] === 'full-backup')?.['@_classname']).toBe(
      'Database Backup › Full Backup (Recommended)',
    );
  });

  it('renders the RTO/RPO and checklist the drill recorded (dr-recovery measures and probes them)', async () => {
    const page = await readFile(result.files.html, 'utf8');
    const timing = page.slice(page.indexOf('id="timing"'), page.indexOf('id="checklist"'));
    const { rto, rpo } = timingMeasures(result.journal);
    for (const measure of [rto, rpo]) {
      if (measure?.measuredMs !== undefined && measure.targetMs !== undefined)
        expect(timing).toContain(
          `<strong>${formatDuration(measure.measuredMs)}</strong> against a target of ${formatDuration(measure.targetMs)}`,
        );
    }
    expect(timing.match(/<svg /g)?.length ?? 0).toBe(
      [rto, rpo].filter((measure) => measure?.measuredMs !== undefined && measure.targetMs !== undefined).length,
    );
    const checklist = page.slice(page.indexOf('id="checklist"'));
    const items = result.journal.checklist ?? [];
    if (items.length > 0) {
      expect(checklist).not.toContain('None recorded');
      for (const item of items.slice(0, 3))
        expect(checklist).toContain(
          item.item.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;'),
        );
      expect(await readFile(result.files.junit, 'utf8')).toMatch(
        new RegExp(`<testsuite id="\\d+" name="checklist" tests="${items.length}"`),
      );
    } else {
      expect(checklist).toContain('None recorded');
    }
  });

  it('records the drill in the index, so status reports it', () => {
    const current = status(reportRoot, { maxAgeDays: 1 });
    expect(current.lastDrill?.drillId).toBe(result.journal.drillId);
    expect(current.lastDrill?.reportDir).toBe(basename(result.files.reportDir));
    expect(current.lastDrill?.runbook.sha256).toBe(result.journal.runbook.sha256);
    expect(current.stale).toBe(result.journal.outcome !== 'passed');
  });
});
