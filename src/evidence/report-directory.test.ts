import { mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageError } from '../errors/drill-error.ts';
import { createReportDirectory, reportDirName } from './report-directory.ts';

describe('createReportDirectory', () => {
  let scratch: string;
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'nmia-drill-reportdir-'));
  });
  afterAll(async () => {
    await rm(scratch, { recursive: true, force: true });
  });

  it('creates missing parents and the drill directory, and leaves no probe file behind', async () => {
    const dir = await createReportDirectory(join(scratch, 'a', 'b'), 'drill-1');
    expect(dir).toBe(join(scratch, 'a', 'b', 'drill-1'));
    expect(await readdir(dir)).toEqual([]);
  });

  it('refuses a root below a regular file with a usage error naming it', async () => {
    await writeFile(join(scratch, 'file'), 'x');
    const error = await createReportDirectory(join(scratch, 'file', 'reports'), 'drill-2').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UsageError);
    expect((error as UsageError).message).toMatch(/reports directory .*file\/reports cannot be written \(ENOTDIR\); nothing was started/);
  });

  it("refuses a place where directories cannot be made, without spinning (Node's recursive mkdir loops under /proc)", async () => {
    const error = await createReportDirectory('/proc/nmia-drill-reports/x', 'drill-3').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(UsageError);
  });

  it('names directories by start time then drill id', () => {
    expect(reportDirName(new Date('2026-11-27T04:13:10.123Z'), '481538f7')).toBe('20261127-041310-481538f7');
  });
});
