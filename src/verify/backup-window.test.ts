import { describe, expect, it } from 'vitest';
import { compareWithBackupWindow } from './backup-window.ts';
import type { Manifest } from './manifest.ts';

function manifest(tables: Record<string, [number, string]>, sequences: Record<string, [string, string?]> = {}): Manifest {
  return {
    manifestVersion: 1,
    takenAt: '2026-01-01T00:00:00Z',
    database: 'nmia',
    serverVersion: '15',
    tables: Object.fromEntries(Object.entries(tables).map(([name, [rows, hash]]) => [name, { rows, hash }])),
    sequences: Object.fromEntries(
      Object.entries(sequences).map(([name, [lastValue, ownedBy]]) => [
        name,
        { lastValue, isCalled: true, ...(ownedBy ? { ownedBy } : {}) },
      ]),
    ),
    schema: { fingerprint: 'f', objects: {} },
    durationMs: 1,
  };
}

describe('compareWithBackupWindow', () => {
  const before = manifest(
    { 'public.identities': [10, 'a'], 'public.audit_logs': [5, 's5'], 'public.enclaves': [3, 'h3'] },
    { 'public.audit_logs_id_seq': ['5', 'public.audit_logs.id'] },
  );
  const after = manifest(
    { 'public.identities': [10, 'a'], 'public.audit_logs': [7, 's7'], 'public.enclaves': [3, 'h3'] },
    { 'public.audit_logs_id_seq': ['7', 'public.audit_logs.id'] },
  );

  it('holds unchanged tables to exact equality and tables written meanwhile to the window', () => {
    const restored = manifest(
      { 'public.identities': [10, 'a'], 'public.audit_logs': [6, 's6'], 'public.enclaves': [3, 'h3'] },
      { 'public.audit_logs_id_seq': ['6', 'public.audit_logs.id'] },
    );
    expect(compareWithBackupWindow(before, after, restored)).toEqual({
      exactTables: ['public.identities', 'public.enclaves'],
      liveTables: ['public.audit_logs'],
      problems: [],
    });
  });

  it('names the table whose content changed, and a live table outside the window', () => {
    const restored = manifest(
      { 'public.identities': [10, 'changed'], 'public.audit_logs': [9, 's9'], 'public.enclaves': [3, 'h3'] },
      { 'public.audit_logs_id_seq': ['9', 'public.audit_logs.id'] },
    );
    const messages = compareWithBackupWindow(before, after, restored).problems.map((problem) => problem.message);
    expect(messages).toEqual([
      'public.identities: content hash differs (10 rows, same count)',
      'public.audit_logs: 9 rows after restore, outside the 5..7 rows seen while the backup ran',
      'sequence public.audit_logs_id_seq: last value 9 after restore, backed up 5..7',
    ]);
  });
});
