import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { syntheticJournal } from '../../test-support/synthetic-journal.ts';
import { checkReviews, describeReviews, signBundle } from './bundle-review.ts';
import { verifyEvidence } from './evidence-bundle.ts';
import { writeEvidence } from './evidence-writer.ts';
import { Redactor } from './redactor.ts';
import { KEY_DIR_ENV } from './signing-key.ts';

describe('sign: a reviewer approves a finished bundle', () => {
  let root: string;
  let dir: string;
  let env: NodeJS.ProcessEnv;
  beforeAll(async () => {
    root = await mkdtemp(join(tmpdir(), 'nmia-drill-review-'));
    env = { [KEY_DIR_ENV]: join(root, 'keys') };
    dir = join(root, '20260110-020000-synth001');
    await mkdir(dir);
    await writeEvidence(syntheticJournal(), dir, new Redactor(), env);
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  it('adds a signed review without changing what was measured; the review goes stale when the bundle is edited', async () => {
    const sums = await readFile(join(dir, 'SHA256SUMS'));
    const { review } = await signBundle(dir, {
      reviewer: 'Rita Reviewer',
      statement: 'approved',
      env,
      now: new Date('2026-01-11T09:00:00Z'),
    });
    expect(review).toMatchObject({ reviewer: 'Rita Reviewer', statement: 'approved', drillId: 'synth001' });
    expect(await readFile(join(dir, 'SHA256SUMS'))).toEqual(sums);
    expect(await verifyEvidence(dir, { env })).toMatchObject({ ok: true, signature: 'valid', added: [] });
    expect(await checkReviews(dir)).toEqual([expect.objectContaining({ reviewer: 'Rita Reviewer', signed: true, current: true })]);
    const reviewFile = join(dir, (await checkReviews(dir))[0]!.file);
    const original = await readFile(reviewFile, 'utf8');
    await writeFile(reviewFile, original.replace('"approved"', '"approved with reservations"'));
    expect((await checkReviews(dir))[0]).toMatchObject({ signed: false });
    await writeFile(reviewFile, original);
    await writeFile(
      join(dir, 'SHA256SUMS'),
      `${sums.toString()}`.replace(/^./, (char) => (char === '0' ? '1' : '0')),
    );
    expect(describeReviews(await checkReviews(dir))).toMatch(/signature valid, STALE: the bundle changed after the review/);
    await expect(signBundle(dir, { reviewer: 'Rita Reviewer', statement: 'again', env })).rejects.toThrow(/does not verify/);
    await writeFile(join(dir, 'SHA256SUMS'), sums);
  });
});
