import { mkdir, mkdtemp, readFile, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { syntheticJournal } from '../../test-support/synthetic-journal.ts';
import { controlMap, parseControlMap } from './control-mapping.ts';
import { bundleFiles, verifyEvidence } from './evidence-bundle.ts';
import { writeEvidence } from './evidence-writer.ts';
import {
  controlToken,
  OSCAL_FILE,
  OSCAL_SCHEMA_PATH,
  OSCAL_VERSION,
  type OscalAssessmentResults,
  oscalAssessmentResults,
  oscalDocumentText,
  oscalSchemaErrors,
  renderOscalAssessmentResults,
} from './oscal-export.ts';
import { Redactor } from './redactor.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
const FILES = ['attestation.md', 'journal.json', 'report.html', 'procedures/order-full-backup/block-0.sh'];

// One control per case: a rung that passed everywhere, one that failed once, one that only errored, a skipped procedure.
const TEST_MAP = parseControlMap(`
version: 1
controls:
  - id: T-1(1)
    framework: Test
    requirements:
      - { id: readable, description: the backup file was readable, rung: artifact }
  - id: T-2
    framework: Test
    requirements:
      - { id: commands-exit-0, description: every command exited 0, rung: intent }
  - id: T-3
    framework: Test
    requirements:
      - { id: restorable, description: the restore completed, rung: restorability }
  - id: T-4
    framework: Test
    requirements:
      - { id: exported, description: the config was exported, procedures: [config-export] }
`);

function exported(files: readonly string[] = FILES): OscalAssessmentResults {
  return oscalAssessmentResults(syntheticJournal(), files);
}

describe('the OSCAL assessment-results export', () => {
  const dirs: string[] = [];
  afterAll(async () => {
    for (const dir of dirs) await rm(dir, { recursive: true, force: true });
  });

  it('validates against the vendored NIST schema and declares its OSCAL version', async () => {
    const document = exported();
    expect(oscalSchemaErrors(document)).toEqual([]);
    const schema = JSON.parse(await readFile(OSCAL_SCHEMA_PATH, 'utf8'));
    expect(schema.$id).toBe(`http://csrc.nist.gov/ns/oscal/${OSCAL_VERSION}/oscal-ar-schema.json`);
    expect(document['assessment-results'].metadata['oscal-version']).toBe(OSCAL_VERSION);
  });

  it('validates for a verify-backup drill, which executed no runbook', () => {
    const journal = syntheticJournal();
    journal.runbook = {
      ...journal.runbook,
      path: '(none: verify-backup of /srv/x #1.dump)',
      sha256: '',
      lockPath: '',
      lockState: 'missing',
    };
    const document = oscalAssessmentResults(journal, FILES);
    expect(oscalSchemaErrors(document)).toEqual([]);
    const [plan] = document['assessment-results']['back-matter'].resources;
    expect(document['assessment-results']['import-ap'].href).toBe(`#${plan!.uuid}`);
    expect(plan).toMatchObject({ title: 'No runbook drilled: (none: verify-backup of /srv/x #1.dump)' });
    expect(plan!.rlinks).toBeUndefined();
  });

  it('is the same document for the same journal, with valid, distinct UUIDs', () => {
    const text = JSON.stringify(exported());
    expect(JSON.stringify(exported())).toBe(text);
    const uuids = [...text.matchAll(/"uuid":"([^"]+)"/g)].map((match) => match[1]!);
    expect(uuids.length).toBeGreaterThan(10);
    for (const uuid of uuids) expect(uuid).toMatch(UUID);
    expect(new Set(uuids).size).toBe(uuids.length);
  });

  it('makes observations by TEST that link to the bundle files holding their evidence', () => {
    const [result] = exported()['assessment-results'].results;
    const observations = result!.observations!;
    const backup = observations.find((observation) => observation.title.startsWith('order/full-backup: title'))!;
    expect(backup.methods).toEqual(['TEST']);
    expect(backup['relevant-evidence']!.map((evidence) => evidence.href)).toEqual([
      'journal.json',
      'report.html#proc-order-full-backup',
      'procedures/order-full-backup/block-0.sh',
    ]);
    const rung = observations.find(
      (observation) => observation.title === 'order/full-backup: artifact: custom-dump is a readable custom file',
    )!;
    expect(rung.methods).toEqual(['TEST']);
    expect(rung['relevant-evidence']![0]!.description).toBe('journal.json, procedures[0].rungs[0] (order/full-backup, artifact)');
    // Skipped and not-run procedures were not observed; a person's sign-off is no test.
    expect(observations.some((observation) => observation.title.includes('config-export'))).toBe(false);
    const signOff = observations.find((observation) => observation.title.startsWith('checklist: Knowledge of the SECRET_KEY'))!;
    expect(signOff.methods).toEqual(['INTERVIEW']);
    expect(observations.filter((observation) => observation.methods[0] !== 'TEST')).toEqual([signOff]);
    // Only files the bundle has are linked.
    const bare = oscalAssessmentResults(syntheticJournal(), ['journal.json'])['assessment-results'].results[0]!.observations!;
    expect(new Set(bare.flatMap((observation) => (observation['relevant-evidence'] ?? []).map((evidence) => evidence.href)))).toEqual(
      new Set(['journal.json']),
    );
    const none = oscalAssessmentResults(syntheticJournal(), []);
    expect(oscalSchemaErrors(none)).toEqual([]);
    expect(none['assessment-results'].results[0]!.observations!.some((observation) => 'relevant-evidence' in observation)).toBe(false);
  });

  it('finds a control satisfied only when its checks passed: failed, errored-only and skipped ones are not satisfied', () => {
    const result = oscalAssessmentResults(syntheticJournal(), FILES, TEST_MAP)['assessment-results'].results[0]!;
    const byControl = Object.fromEntries(
      result.findings!.map((finding) => [
        finding.target['target-id'],
        { ...finding.target.status, related: finding['related-observations'] ?? [] },
      ]),
    );
    expect(byControl['t-1.1_obj']).toMatchObject({ state: 'satisfied', reason: 'pass' });
    expect(byControl['t-2_obj']).toMatchObject({ state: 'not-satisfied', reason: 'fail' });
    expect(byControl['t-3_obj']).toMatchObject({ state: 'not-satisfied', reason: 'fail' });
    expect(byControl['t-4_obj']).toMatchObject({ state: 'not-satisfied', reason: 'other', related: [] });
    // The errored check is the observation the T-3 finding rests on.
    const errored = result.observations!.find(
      (observation) => observation.title === 'alone/restore-test-db: restorability: every command exits 0',
    )!;
    expect(errored.description).toContain('ERROR');
    expect(byControl['t-3_obj']!.related).toEqual([{ 'observation-uuid': errored.uuid }]);
    expect(result['reviewed-controls']['control-selections'][0]!['include-controls']).toEqual(
      ['t-1.1', 't-2', 't-3', 't-4'].map((id) => ({ 'control-id': id })),
    );
  });

  it('reviews every control of the project map under a distinct OSCAL token', () => {
    const ids = controlMap().controls.map((control) => control.id);
    const tokens = ids.map(controlToken);
    expect(new Set(tokens).size).toBe(ids.length);
    expect(tokens).toEqual(expect.arrayContaining(['a1.2', 'a.8.13', 'cp-4.4', 'cp-9.1', 'cp-10', 'art-11']));
    const result = exported()['assessment-results'].results[0]!;
    expect(result.findings!.map((finding) => finding.target['target-id'])).toEqual(tokens.map((token) => `${token}_obj`));
  });

  it('fails validation when tampered with or incomplete, naming the path', () => {
    const tampered = exported();
    tampered['assessment-results'].results[0]!.observations![0]!.uuid = 'not-a-uuid';
    expect(oscalSchemaErrors(tampered)).toContainEqual({
      path: '/assessment-results/results/0/observations/0/uuid',
      message: expect.stringContaining('must match pattern'),
    });

    // Written into a bundle, such a document is a bug: the writer refuses it, naming the first error.
    expect(() => oscalDocumentText(tampered)).toThrow(
      /does not match NIST's schema at \/assessment-results\/results\/0\/observations\/0\/uuid: must match pattern/,
    );

    const incomplete = exported() as unknown as { 'assessment-results': Record<string, unknown> };
    delete incomplete['assessment-results'].results;
    expect(oscalSchemaErrors(incomplete)).toEqual([{ path: '/assessment-results', message: "must have required property 'results'" }]);

    const unsatisfiable = exported() as unknown as {
      'assessment-results': { results: { findings: { target: { status: { state: string } } }[] }[] };
    };
    unsatisfiable['assessment-results'].results[0]!.findings[0]!.target.status.state = 'partially-satisfied';
    expect(oscalSchemaErrors(unsatisfiable).map((error) => error.path)).toContain(
      '/assessment-results/results/0/findings/0/target/status/state',
    );
  });

  it('is written into every bundle, covered by SHA256SUMS, and links only to files the bundle has', async () => {
    const root = await mkdtemp(join(tmpdir(), 'nmia-drill-oscal-'));
    dirs.push(root);
    const dir = join(root, '20260110-020000-synth001');
    await mkdir(dir);
    const files = await writeEvidence(syntheticJournal(), dir, new Redactor(), { NMIA_DRILL_SIGNING: 'off' });
    expect(files.oscal).toBe(join(dir, OSCAL_FILE));
    const text = await readFile(files.oscal!, 'utf8');
    expect(text).toBe(
      renderOscalAssessmentResults(
        syntheticJournal(),
        (await bundleFiles(dir)).filter((path) => path !== OSCAL_FILE),
      ),
    );
    const document = JSON.parse(text) as OscalAssessmentResults;
    expect(oscalSchemaErrors(document)).toEqual([]);
    expect(await readFile(files.sha256sums, 'utf8')).toMatch(new RegExp(`^[0-9a-f]{64}  ${OSCAL_FILE}$`, 'm'));
    expect(await verifyEvidence(dir, { env: {} })).toMatchObject({ ok: true });
    const present = new Set(await bundleFiles(dir));
    const hrefs = document['assessment-results'].results[0]!.observations!.flatMap((observation) =>
      (observation['relevant-evidence'] ?? []).map((evidence) => decodeURIComponent(evidence.href.split('#')[0]!)),
    );
    expect(hrefs).toContain('journal.json');
    for (const href of hrefs) expect(present.has(href), href).toBe(true);
  });
});
