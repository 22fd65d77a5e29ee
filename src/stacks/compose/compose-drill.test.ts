import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { DEFAULT_RPO_TARGET_MS, DEFAULT_RTO_TARGET_MS } from '../../drill/drill-options.ts';
import { DrillRunner } from '../../drill/drill-runner.ts';
import { REPO_ROOT } from '../../repo-root.ts';
import { PROCEDURES } from '../../../runbook/registry.ts';
import { announceSkip, dockerAvailability } from '../../docker/docker-availability.ts';

const docker = await dockerAvailability(['postgres:15', 'alpine:latest', 'nmia-drill/node:20']);
const suffix = announceSkip('compose drill', docker);

describe.skipIf(!docker.available)(`a drill on the compose stack (real Docker Compose)${suffix}`, () => {
  it('passes a full backup and a custom-format restore, from the corrected runbook (the given one never creates ./backups)', async () => {
    const reportRoot = await mkdtemp(join(tmpdir(), 'nmia-compose-drill-'));
    try {
      const { journal } = await new DrillRunner({
        runbookPath: join(REPO_ROOT, 'fixtures/runbooks/backup-restore.corrected.md'),
        allowDrift: false,
        seed: 42,
        scale: 100,
        isolation: 'order',
        only: ['full-backup', 'restore-custom'],
        procedures: PROCEDURES,
        skip: [],
        reportRoot,
        stack: 'compose',
        rtoTargetMs: DEFAULT_RTO_TARGET_MS,
        rpoTargetMs: DEFAULT_RPO_TARGET_MS,
        attestations: [],
      }).run();
      expect(journal.stack).toMatchObject({
        kind: 'compose',
        versions: expect.objectContaining({ compose: expect.stringMatching(/^2\./) }),
      });
      const outcomes = Object.fromEntries(
        journal.procedures.filter((record) => !record.id.startsWith('pending:')).map((record) => [record.id, record.outcome]),
      );
      expect(outcomes).toEqual({ 'full-backup': 'passed', 'restore-custom': 'passed' });
      const restore = journal.procedures.find((record) => record.id === 'restore-custom')!;
      // The manifest comparison and the physical check (pg_amcheck), both on the restored database.
      expect(restore.rungs.filter((rung) => rung.rung === 'content').map((rung) => [rung.check, rung.outcome])).toEqual([
        ['row counts, content hashes and sequences match the backup', 'passed'],
        [expect.stringMatching(/^no corruption/), 'passed'],
      ]);
    } finally {
      await rm(reportRoot, { recursive: true, force: true });
    }
    // It waits for the project-wide compose lock, which a compose drill elsewhere in the suite may hold for minutes.
  }, 900_000);
});
