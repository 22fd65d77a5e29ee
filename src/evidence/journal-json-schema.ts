import { readFile, writeFile } from 'node:fs/promises';
import { resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import { z } from 'zod';
import { JOURNAL_VERSION, JournalSchema } from './journal.ts';

/** The committed JSON Schema of journal.json, for auditors and tools that do not read TypeScript. */
export const JOURNAL_SCHEMA_PATH = fileURLToPath(new URL('./journal.schema.json', import.meta.url));

export const REGENERATE_COMMAND = 'npx tsx src/evidence/journal-json-schema.ts --write';

/** The JSON Schema (draft 2020-12) generated from the zod schema; `io: 'output'` describes journal.json as written. */
export function journalJsonSchema(): Record<string, unknown> {
  const generated = z.toJSONSchema(JournalSchema, { target: 'draft-2020-12', io: 'output', unrepresentable: 'throw' }) as Record<
    string,
    unknown
  >;
  const { $schema, ...rest } = generated;
  return {
    $schema,
    $id: `urn:nmia-drill:journal:v${JOURNAL_VERSION}`,
    title: `nmia-drill journal, version ${JOURNAL_VERSION}`,
    description: `The evidence of one nmia-drill run (journal.json). Generated from src/evidence/journal.ts by: ${REGENERATE_COMMAND}`,
    ...rest,
  };
}

/** The exact text of the committed file: stable key order from the zod schema, two-space indent, final newline. */
export function renderJournalJsonSchema(): string {
  return `${JSON.stringify(journalJsonSchema(), null, 2)}\n`;
}

export async function writeJournalJsonSchema(path: string = JOURNAL_SCHEMA_PATH): Promise<void> {
  await writeFile(path, renderJournalJsonSchema());
}

/** True when the committed file equals what the zod schema generates now. */
export async function journalJsonSchemaIsCurrent(path: string = JOURNAL_SCHEMA_PATH): Promise<boolean> {
  const committed = await readFile(path, 'utf8').catch(() => undefined);
  return committed === renderJournalJsonSchema();
}

/**
 * A JSON-Schema validator (ajv, draft 2020-12, strict) compiled from the committed file, as a tool outside
 * this project would use it: `validate(JSON.parse(journalText))`, errors in `validate.errors`.
 */
export async function journalValidator(path: string = JOURNAL_SCHEMA_PATH): Promise<ValidateFunction> {
  const schema = JSON.parse(await readFile(path, 'utf8')) as Record<string, unknown>;
  return new Ajv2020({ strict: true, allErrors: true }).compile(schema);
}

// `tsx src/evidence/journal-json-schema.ts --write` regenerates the committed file; without --write it checks it.
if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  if (process.argv.includes('--write')) {
    await writeJournalJsonSchema();
    process.stdout.write(`wrote ${JOURNAL_SCHEMA_PATH}\n`);
  } else if (!(await journalJsonSchemaIsCurrent())) {
    process.stderr.write(`error: ${JOURNAL_SCHEMA_PATH} is stale\nfix: ${REGENERATE_COMMAND}\n`);
    process.exitCode = 1;
  }
}
