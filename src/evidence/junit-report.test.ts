import { XMLParser, XMLValidator } from 'fast-xml-parser';
import { describe, expect, it } from 'vitest';
import { renderJunit } from './junit-report.ts';
import { HOSTILE, syntheticJournal } from '../../test-support/synthetic-journal.ts';

interface Testcase {
  '@_classname': string;
  '@_name': string;
  '@_time': string;
  failure?: { '@_message': string; '#text'?: string };
  error?: { '@_message': string; '#text'?: string };
  skipped?: { '@_message': string };
  'system-out'?: string;
}
interface Testsuite {
  '@_name': string;
  '@_tests': string;
  '@_failures': string;
  '@_errors': string;
  '@_skipped': string;
  properties: { property: { '@_name': string; '@_value': string }[] };
  testcase: Testcase[];
}

function parse(xml: string): {
  testsuites: { '@_tests': string; '@_failures': string; '@_errors': string; '@_skipped': string; testsuite: Testsuite[] };
} {
  const valid = XMLValidator.validate(xml);
  if (valid !== true) throw new Error(`not well-formed XML: ${JSON.stringify(valid.err)}`);
  const parser = new XMLParser({
    ignoreAttributes: false,
    parseAttributeValue: false,
    parseTagValue: false,
    trimValues: false,
    isArray: (name) => ['testsuite', 'testcase', 'property'].includes(name),
  });
  return parser.parse(xml);
}

describe('renderJunit', () => {
  const journal = syntheticJournal();
  const xml = renderJunit(journal);
  const doc = parse(xml);
  const suites = Object.fromEntries(doc.testsuites.testsuite.map((suite) => [suite['@_name'], suite]));
  const testcase = (suite: string, name: string) => suites[suite]!.testcase.find((candidate) => candidate['@_name'] === name)!;

  it('is well-formed XML even with markup, "]]>", entities and control characters in the journal', () => {
    expect(XMLValidator.validate(xml)).toBe(true);
    // XML 1.0 forbids these characters outright, escaped or not.
    expect(xml).not.toMatch(/[\u0000-\u0008\u000B\u000C\u000E-\u001F]/);
    // Seeded defect: the same text unescaped is rejected by the parser, so the check above can fail.
    expect(XMLValidator.validate(`<testsuites><testcase name="x">${HOSTILE}</testcase></testsuites>`)).not.toBe(true);
  });

  it('has one testsuite per mode, one for the checklist and one for the drill itself', () => {
    expect(Object.keys(suites)).toEqual(['order', 'alone', 'checklist', 'drill']);
    expect(suites.order!.testcase.map((candidate) => candidate['@_name'])).toEqual([
      'full-backup',
      'volume-backup',
      'config-export',
      'pending:Section › Something',
    ]);
    expect(suites.alone!.testcase.map((candidate) => candidate['@_name'])).toEqual(['restore-test-db']);
    expect(suites.checklist!.testcase).toHaveLength(4);
  });

  it('uses the section as classname and the procedure id as name, with the time in seconds', () => {
    const passed = testcase('order', 'full-backup');
    expect(passed['@_classname']).toBe('Database Backup › Full Backup (Recommended)');
    expect(passed['@_time']).toBe('1.800');
    expect(passed.failure).toBeUndefined();
    expect(passed['system-out']).toContain('PASSED artifact: custom-dump is a readable custom file');
  });

  it('maps outcomes to failure, error and skipped, carrying the rung summaries, the failed command and the findings', () => {
    const failed = testcase('order', 'volume-backup');
    expect(failed.failure?.['@_message']).toContain(
      'intent: the archive holds a complete PostgreSQL data directory — missing ./PG_VERSION',
    );
    expect(failed.failure?.['@_message']).toContain('<script>');
    expect(failed.failure?.['#text']).toContain('failed command (line 185), exit 2');
    expect(failed.failure?.['#text']).toContain('F01 [critical]');
    expect(failed.failure?.['#text']).toContain('fix: Use nmia_pgdata');
    const errored = testcase('alone', 'restore-test-db');
    expect(errored.error?.['@_message']).toContain('the stack did not start');
    expect(testcase('order', 'config-export').skipped?.['@_message']).toContain('skipped by --skip');
    expect(testcase('order', 'pending:Section › Something').skipped?.['@_message']).toMatch(/^not run: pending in the lock/);
  });

  it('counts tests, failures, errors and skipped consistently per suite and overall', () => {
    expect([suites.order!['@_tests'], suites.order!['@_failures'], suites.order!['@_errors'], suites.order!['@_skipped']]).toEqual([
      '4',
      '1',
      '0',
      '2',
    ]);
    expect([suites.alone!['@_tests'], suites.alone!['@_errors']]).toEqual(['1', '1']);
    expect([suites.checklist!['@_failures'], suites.checklist!['@_skipped']]).toEqual(['1', '1']);
    const all = doc.testsuites.testsuite.flatMap((suite) => suite.testcase);
    expect(doc.testsuites['@_tests']).toBe(String(all.length));
    expect(doc.testsuites['@_failures']).toBe(String(all.filter((candidate) => candidate.failure).length));
    expect(doc.testsuites['@_errors']).toBe(String(all.filter((candidate) => candidate.error).length));
  });

  it('gives each checklist item its section, outcome and attestation', () => {
    const item = suites.checklist!.testcase.find((candidate) => candidate['@_name'].startsWith('Knowledge of the SECRET_KEY'))!;
    expect(item['@_classname']).toBe('Disaster Recovery Checklist › Prerequisites');
    expect(item['system-out']).toContain('attested by ops@example');
    expect(
      suites.checklist!.testcase.find((candidate) => candidate['@_name'].startsWith('Run a test connector scan'))!.failure?.['@_message'],
    ).toBe('scan did not complete within 30 s');
  });

  it('records the drill identity as suite properties', () => {
    const properties = Object.fromEntries(suites.order!.properties.property.map((property) => [property['@_name'], property['@_value']]));
    expect(properties).toMatchObject({ drillId: 'synth001', runbookSha256: 'e'.repeat(64), lockState: 'clean', stack: 'emulated' });
  });

  it('fails the drill suite on runbook drift and errors it on a crash, so a drill that ran nothing is not green', () => {
    const drifted = syntheticJournal({
      procedures: [],
      checklist: [],
      error: 'postgres would not start',
      runbook: {
        ...journal.runbook,
        lockState: 'drift',
        drift: [{ kind: 'hash-mismatch', section: 'Database Backup', index: 0, line: 33, message: 'block changed' }],
      },
    });
    const drill = parse(renderJunit(drifted)).testsuites.testsuite;
    expect(drill.map((suite) => suite['@_name'])).toEqual(['drill']);
    const [lock, completes] = drill[0]!.testcase;
    expect(lock!.failure?.['@_message']).toContain('runbook drift');
    expect(lock!.failure?.['#text']).toContain('hash-mismatch: Database Backup:33 block 0: block changed');
    expect(completes!.error?.['@_message']).toBe('postgres would not start');
    const clean = parse(renderJunit(syntheticJournal({ error: undefined }))).testsuites.testsuite.find(
      (suite) => suite['@_name'] === 'drill',
    )!;
    expect(clean['@_failures']).toBe('0');
    expect(clean['@_errors']).toBe('0');
  });
});
