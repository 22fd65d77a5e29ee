import { describe, expect, it } from 'vitest';
import type { RealAppBenchResult } from './real-app-bench.ts';
import {
  DRILL_PARTS,
  mergeRecords,
  type RealAppRecord,
  SECTION_BEGIN,
  SECTION_END,
  spliceSection,
  splitDrillTime,
} from './real-app-report.ts';
import { STEP } from './replay-script.ts';

const FILE = '# nmia-drill benchmarks\n\nintro\n\n## Since then\n\nhand-written\n\n## Summary\n\n| a |\n\n## 3: seeding\n\nmore\n';

describe('spliceSection', () => {
  it('inserts the section before the summary the first time, then replaces only what is between its markers', () => {
    const once = spliceSection(FILE, '## Price of proof on the real NMIA\n\nfirst');
    expect(once).toContain(`hand-written\n\n${SECTION_BEGIN}\n## Price of proof on the real NMIA\n\nfirst\n${SECTION_END}\n\n## Summary`);
    const twice = spliceSection(once, '## Price of proof on the real NMIA\n\nsecond');
    expect(twice).not.toContain('first');
    expect(twice.replace('second', 'first')).toBe(once);
    expect(twice.split(SECTION_BEGIN)).toHaveLength(2);
  });

  it('appends when the file has no summary, and refuses a file with one marker only', () => {
    expect(spliceSection('# x\n', 'body')).toBe(`# x\n\n${SECTION_BEGIN}\nbody\n${SECTION_END}\n`);
    expect(() => spliceSection(`# x\n${SECTION_BEGIN}\nold\n`, 'body')).toThrow(/only one of the real-app section markers/);
  });
});

describe('mergeRecords', () => {
  const record = (scale: number, command: string) => ({ command, result: { scale } as RealAppBenchResult }) as RealAppRecord;

  it('keeps the latest run per scale, ordered by scale', () => {
    const merged = mergeRecords([record(1_000_000, 'old 1M'), record(100_000, 'old 100k')], [record(100_000, 'new 100k')]);
    expect(merged.map((item) => item.command)).toEqual(['new 100k', 'old 1M']);
  });
});

describe('splitDrillTime', () => {
  it('sorts each step of the drill into the raw four, the other runbook commands, verification, the disaster and orchestration', () => {
    const parts = splitDrillTime([
      { step: STEP.manifestBefore('full-backup'), drillMs: 100 },
      {
        step: STEP.command('full-backup', 'docker compose exec db pg_dump -U nmia -d nmia -Fc --file=/tmp/nmia_backup.dump'),
        drillMs: 1000,
      },
      { step: STEP.command('full-backup', 'mkdir -p ./backups'), drillMs: 5 },
      { step: STEP.command('full-backup', 'docker compose cp db:/tmp/nmia_backup.dump ./backups/x.dump'), drillMs: 50 },
      { step: STEP.artifactCheck('full-backup'), drillMs: 200 },
      { step: STEP.damageCheck, drillMs: 1 },
      { step: STEP.harness('restore-custom', 'disaster: a bad deploy truncates identities'), drillMs: 30 },
      { step: STEP.command('restore-custom', 'docker compose exec db dropdb -U nmia nmia'), drillMs: 10 },
      { step: STEP.command('restore-custom', 'docker compose exec db createdb -U nmia nmia'), drillMs: 10 },
      { step: STEP.command('restore-custom', 'docker compose exec db pg_restore -U nmia -d nmia --no-owner /tmp/r.dump'), drillMs: 900 },
      {
        step: STEP.command('restore-custom', 'docker compose exec db psql -U nmia -c "SELECT pg_terminate_backend(pid) FROM x"'),
        drillMs: 7,
      },
      { step: STEP.restoredManifest('restore-custom'), drillMs: 300 },
      { step: STEP.harness('restore-custom', 'check: wait (bounded) for the restarted application'), drillMs: 400 },
      { step: STEP.blockRunner, drillMs: 3 },
      { step: STEP.unattributed, drillMs: 20, replayMs: 0 },
    ]);
    expect(Object.values(parts)).toEqual([1920, 62, 1000, 30, 24]);
    expect(Object.keys(parts)).toEqual([...DRILL_PARTS]);
  });
});
