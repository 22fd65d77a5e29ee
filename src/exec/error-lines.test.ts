import { describe, expect, it } from 'vitest';
import { errorLines, failureLine, stderrExcerpt } from './error-lines.ts';

// As pg_dump prints it when its session is terminated part-way.
const PG_DUMP_KILLED =
  'pg_dump: error: query failed: FATAL:  terminating connection due to administrator command\npg_dump: detail: Query was: LOCK TABLE public.identities IN ACCESS SHARE MODE';

// As pg_restore prints it into a database that is not empty: one block per object, then a count.
const PG_RESTORE_NOT_EMPTY = [
  'pg_restore: while PROCESSING TOC:',
  'pg_restore: from TOC entry 215; 1259 16390 TABLE audit_log nmia',
  'pg_restore: error: could not execute query: ERROR:  relation "audit_log" already exists',
  'Command was: CREATE TABLE public.audit_log (',
  ...Array.from({ length: 10 }, (_, i) => [
    `pg_restore: from TOC entry ${300 + i}; 2606 1 CONSTRAINT c${i} nmia`,
    `pg_restore: error: could not execute query: ERROR:  constraint "c${i}" already exists`,
  ]).flat(),
  'pg_restore: warning: errors ignored on restore: 11',
].join('\n');

describe('error lines', () => {
  it('the failure line is the first error line, not the last line of stderr', () => {
    expect(failureLine(PG_DUMP_KILLED)).toBe('pg_dump: error: query failed: FATAL:  terminating connection due to administrator command');
    expect(failureLine('service "db" is not running\n')).toBe('service "db" is not running');
    expect(failureLine('')).toBe('');
  });

  it('the excerpt keeps the first error line in front of a tail that scrolled past it', () => {
    const excerpt = stderrExcerpt(PG_RESTORE_NOT_EMPTY, 6);
    expect(excerpt.split('\n')).toHaveLength(6);
    expect(excerpt.split('\n').slice(0, 2)).toEqual([
      'pg_restore: error: could not execute query: ERROR:  relation "audit_log" already exists',
      '…',
    ]);
    expect(excerpt.split('\n').at(-1)).toBe('pg_restore: warning: errors ignored on restore: 11');
    expect(failureLine(excerpt)).toMatch(/relation "audit_log" already exists$/);
    // Short stderr, or an error already in the tail: the plain tail.
    expect(stderrExcerpt(PG_DUMP_KILLED, 6)).toBe(PG_DUMP_KILLED);
    expect(errorLines(PG_DUMP_KILLED)).toHaveLength(1);
  });
});
