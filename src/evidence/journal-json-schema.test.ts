import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  JOURNAL_SCHEMA_PATH,
  journalJsonSchema,
  journalJsonSchemaIsCurrent,
  journalValidator,
  REGENERATE_COMMAND,
  renderJournalJsonSchema,
} from './journal-json-schema.ts';
import { JOURNAL_VERSION } from './journal.ts';
import { syntheticJournal } from '../../test-support/synthetic-journal.ts';

describe('journal.schema.json', () => {
  it(`is exactly what z.toJSONSchema generates from the zod schema now (if not: ${REGENERATE_COMMAND})`, async () => {
    const committed = await readFile(JOURNAL_SCHEMA_PATH, 'utf8');
    expect(committed, `src/evidence/journal.schema.json is stale; regenerate it with: ${REGENERATE_COMMAND}`).toBe(
      renderJournalJsonSchema(),
    );
    expect(await journalJsonSchemaIsCurrent()).toBe(true);
  });

  it('notices a stale copy: a file that differs from the generated schema by one property is not current', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nmia-drill-schema-'));
    try {
      const stale = journalJsonSchema();
      (stale.properties as Record<string, unknown>).addedLater = { type: 'string' };
      await writeFile(join(dir, 'journal.schema.json'), `${JSON.stringify(stale, null, 2)}\n`);
      expect(await journalJsonSchemaIsCurrent(join(dir, 'journal.schema.json'))).toBe(false);
      expect(await journalJsonSchemaIsCurrent(join(dir, 'absent.json'))).toBe(false);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });

  it('is a draft 2020-12 schema with an id naming the journal version', () => {
    const schema = journalJsonSchema();
    expect(schema.$schema).toBe('https://json-schema.org/draft/2020-12/schema');
    expect(schema.$id).toBe(`urn:nmia-drill:journal:v${JOURNAL_VERSION}`);
    expect(schema.required).toEqual(expect.arrayContaining(['journalVersion', 'drillId', 'procedures', 'findings', 'totals']));
  });

  it('accepts a journal that satisfies the zod schema (ajv, strict mode)', async () => {
    const validate = await journalValidator();
    const journal = JSON.parse(JSON.stringify(syntheticJournal()));
    expect(validate(journal), JSON.stringify(validate.errors)).toBe(true);
  });

  it('rejects journals with a seeded defect: an unknown outcome, a missing field, a wrong version, an unknown key', async () => {
    const validate = await journalValidator();
    const base = () =>
      JSON.parse(JSON.stringify(syntheticJournal())) as Record<string, unknown> & { procedures: Record<string, unknown>[] };
    const badOutcome = base();
    badOutcome.procedures[0]!.outcome = 'green';
    const noId = base();
    delete noId.drillId;
    const wrongVersion = { ...base(), journalVersion: JOURNAL_VERSION + 1 };
    const unknownKey = { ...base(), surprise: true };
    for (const [label, journal] of Object.entries({ badOutcome, noId, wrongVersion, unknownKey })) {
      expect(validate(journal), label).toBe(false);
    }
  });
});
