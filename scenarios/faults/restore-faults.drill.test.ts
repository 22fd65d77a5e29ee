import { copyFile, open, stat, truncate } from 'node:fs/promises';
import { afterEach, describe, expect, it } from 'vitest';
import { harnessDump } from '../../runbook/kit/disasters.ts';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';
import type { Journal, ProcedureRecord } from '../../src/evidence/journal.ts';
import { CORRECTED_RUNBOOK, drill, GIVEN_RUNBOOK, procedure, withProcedure } from '../support/drill-harness.ts';
import { failedCommand, failedRung, noteObservation } from './fault-helpers.ts';

/** Faults on the restore side: the dump restore-custom is given is damaged. */
const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** restore-custom alone (in a fresh environment), its input dump damaged by `damage` after the harness made it. */
async function restoreDamagedDump(damage: (path: string, context: ProcedureContext) => Promise<void>, runbookPath = GIVEN_RUNBOOK) {
  const procedures = withProcedure('restore-custom', (original) => ({
    ...original,
    async prepare(context) {
      await harnessDump(context, 'custom');
      await damage(context.artifact('custom-dump')!.path, context);
    },
  }));
  const result = await drill({ runbookPath, only: ['restore-custom'], procedures });
  cleanups.push(result.cleanup);
  const record = procedure(result.journal, 'restore-custom');
  noteObservation(expect.getState().currentTestName, record, result.journal);
  return { journal: result.journal, record };
}

/**
 * Every damaged dump fails at pg_restore, after the block's own dropdb: the runbook's order is the defect
 * (open issue 4 in docs/faults.md), and the drill says so with what it checked.
 */
function expectDroppedBeforeCheck(journal: Journal, record: ProcedureRecord, dumpCheck: RegExp): void {
  const findings = journal.findings.filter((finding) => record.findings.includes(finding.id));
  expect(findings).toEqual([
    expect.objectContaining({
      severity: 'high',
      title:
        'the restore drops the database before checking that the dump reads back: an unreadable dump leaves the operator with no usable database',
      suggestedFix: expect.stringMatching(/^Before dropdb, .*pg_restore --list .*pg_restore -f \/dev\/null/),
      evidence: expect.objectContaining({
        droppedBy: 'docker compose exec db dropdb -U nmia nmia',
        dumpCheck: expect.stringMatching(dumpCheck),
        databaseNow: expect.stringMatching(/^nmia now holds \d+ of its \d+ tables and \d+ of the \d+ rows seeded into it$/),
      }),
    }),
  ]);
  expect(record.harnessActions.map((action) => action.purpose)).toContain('check: what is left of nmia after the failed restore');
  // Whatever pg_restore managed before it failed, the data is not all there.
  const [, rows, seeded] = /and (\d+) of the (\d+) rows/.exec(String(findings[0]!.evidence.databaseNow))!;
  expect(Number(rows)).toBeLessThan(Number(seeded));
}

describe('faults: restore-custom never passes a damaged dump', () => {
  it('a truncated dump: pg_restore fails reading past the end', async () => {
    const { journal, record } = await restoreDamagedDump(async (path) => truncate(path, Math.floor((await stat(path)).size / 2)));
    expect(record.outcome).toBe('failed');
    expect(journal.outcome).toBe('failed');
    expect(failedRung(record, 'restorability')).toMatch(
      /pg_restore .* exited 1: pg_restore: error: could not read from input file: end of file/s,
    );
    expect(failedCommand(record)?.text).toMatch(/^docker compose exec db pg_restore/);
    expectDroppedBeforeCheck(journal, record, /end of file|could not read/);
  });

  it('bytes flipped in the middle: the compressed data block fails its check', async () => {
    const { journal, record } = await restoreDamagedDump(async (path) => {
      const { size } = await stat(path);
      const handle = await open(path, 'r+');
      try {
        const bytes = Buffer.alloc(64);
        await handle.read(bytes, 0, 64, Math.floor(size / 2));
        for (let i = 0; i < bytes.length; i++) bytes[i] = bytes[i]! ^ 0xff;
        await handle.write(bytes, 0, 64, Math.floor(size / 2));
      } finally {
        await handle.close();
      }
    });
    expect(record.outcome).toBe('failed');
    expect(failedRung(record, 'restorability')).toMatch(/pg_restore .* exited 1: pg_restore: error: could not uncompress data: .*/s);
    expectDroppedBeforeCheck(journal, record, /reading the data blocks failed .*could not uncompress data/);
  });

  it('an empty file: pg_restore says it is too short', async () => {
    const { journal, record } = await restoreDamagedDump(async (path) => truncate(path, 0));
    expect(record.outcome).toBe('failed');
    expect(failedRung(record, 'restorability')).toMatch(
      /pg_restore .* exited 1: pg_restore: error: input file is too short \(read 0, expected 5\)/s,
    );
    expectDroppedBeforeCheck(journal, record, /^empty file \(0 bytes\)/);
  });

  it('a plain SQL file given as the custom dump: pg_restore refuses it and says to use psql', async () => {
    const { journal, record } = await restoreDamagedDump(async (path, context) => {
      await harnessDump(context, 'plain');
      await copyFile(context.artifact('plain-dump')!.path, path);
    });
    expect(record.outcome).toBe('failed');
    expect(failedRung(record, 'restorability')).toMatch(
      /pg_restore .* exited 1: pg_restore: error: input file appears to be a text format dump\. Please use psql\./s,
    );
    expectDroppedBeforeCheck(journal, record, /^expected a custom-format dump \(PGDMP magic\) but the file is a plain SQL dump/);
  });

  it('the corrected runbook restores aside: a truncated dump fails pg_restore into nmia_restoring, and nmia was never dropped', async () => {
    const { journal, record } = await restoreDamagedDump(
      async (path) => truncate(path, Math.floor((await stat(path)).size / 2)),
      CORRECTED_RUNBOOK,
    );
    expect(record.outcome).toBe('failed');
    expect(failedCommand(record)?.text).toMatch(/pg_restore -U nmia -d nmia_restoring /);
    // Its dropdb of nmia_restoring is not the application's database: no drop-before-check finding, no count of what is left.
    expect(record.harnessActions.map((action) => action.purpose)).not.toContain('check: what is left of nmia after the failed restore');
    expect(journal.findings.filter((finding) => record.findings.includes(finding.id)).map((finding) => finding.title)).not.toContainEqual(
      expect.stringMatching(/drops the database before checking/),
    );
  });
});
