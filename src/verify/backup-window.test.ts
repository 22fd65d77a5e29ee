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
    { 'public.identities': [10, 'a'], 'nmia_drill.sentinels': [5, 's5'], 'nmia_drill.worker_heartbeats': [3, 'h3'] },
    { 'nmia_drill.sentinels_id_seq': ['5', 'nmia_drill.sentinels.id'] },
  );
  const after = manifest(
    { 'public.identities': [10, 'a'], 'nmia_drill.sentinels': [7, 's7'], 'nmia_drill.worker_heartbeats': [3, 'h3'] },
    { 'nmia_drill.sentinels_id_seq': ['7', 'nmia_drill.sentinels.id'] },
  );

  it('holds unchanged tables to exact equality and tables written meanwhile to the window', () => {
    const restored = manifest(
      { 'public.identities': [10, 'a'], 'nmia_drill.sentinels': [6, 's6'], 'nmia_drill.worker_heartbeats': [3, 'h3'] },
      { 'nmia_drill.sentinels_id_seq': ['6', 'nmia_drill.sentinels.id'] },
    );
    expect(compareWithBackupWindow(before, after, restored)).toEqual({
      exactTables: ['public.identities', 'nmia_drill.worker_heartbeats'],
      liveTables: ['nmia_drill.sentinels'],
      problems: [],
    });
  });

  it('names the table whose content changed, and a live table outside the window', () => {
    const restored = manifest(
      { 'public.identities': [10, 'changed'], 'nmia_drill.sentinels': [9, 's9'], 'nmia_drill.worker_heartbeats': [3, 'h3'] },
      { 'nmia_drill.sentinels_id_seq': ['9', 'nmia_drill.sentinels.id'] },
    );
    const messages = compareWithBackupWindow(before, after, restored).problems.map((problem) => problem.message);
    expect(messages).toEqual([
      'public.identities: content hash differs (10 rows, same count)',
      'nmia_drill.sentinels: 9 rows after restore, outside the 5..7 rows seen while the backup ran',
      'sequence nmia_drill.sentinels_id_seq: last value 9 after restore, backed up 5..7',
    ]);
  });

  it('lets tables the running application writes grow after the restore, but never lose backed-up rows', () => {
    const grown = manifest(
      { 'public.identities': [10, 'a'], 'nmia_drill.sentinels': [6, 's6'], 'nmia_drill.worker_heartbeats': [8, 'h8'] },
      { 'nmia_drill.sentinels_id_seq': ['6', 'nmia_drill.sentinels.id'] },
    );
    expect(compareWithBackupWindow(before, after, grown, { growing: ['nmia_drill.worker_heartbeats'] }).problems).toEqual([]);
    expect(compareWithBackupWindow(before, after, grown).problems.map((problem) => problem.table)).toEqual([
      'nmia_drill.worker_heartbeats',
    ]);
    const lost = manifest(
      { 'public.identities': [10, 'a'], 'nmia_drill.sentinels': [6, 's6'], 'nmia_drill.worker_heartbeats': [1, 'h1'] },
      { 'nmia_drill.sentinels_id_seq': ['6', 'nmia_drill.sentinels.id'] },
    );
    expect(
      compareWithBackupWindow(before, after, lost, { growing: ['nmia_drill.worker_heartbeats'] }).problems.map(
        (problem) => problem.message,
      ),
    ).toEqual(['nmia_drill.worker_heartbeats: 1 rows after restore, fewer than the 3 backed up']);
  });
});
