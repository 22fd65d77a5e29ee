import { createHash } from 'node:crypto';
import { copyFile, mkdtemp, open, readFile, rm, stat, truncate, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LocalPostgresProvider } from '../postgres/local-postgres-provider.ts';
import type { StartedLocalPostgres } from '../postgres/started-local-postgres.ts';
import { checkArtifact, sha256File } from './artifact-check.ts';
import { TEST_SCHEMA_SQL, testSeedSql } from '../../test-support/test-schema.ts';

describe('checkArtifact', () => {
  let server: StartedLocalPostgres;
  let dir: string;
  let pgRestorePath: string;
  let goodDump: string;
  let plainDump: string;

  const file = (name: string) => join(dir, name);

  beforeAll(async () => {
    server = await new LocalPostgresProvider().start();
    pgRestorePath = server.binaries.path('pg_restore');
    dir = await mkdtemp(join(tmpdir(), 'nmia-artifact-'));
    await server.createDatabase('src');
    // Enough rows that compressed table data, not the TOC, fills the middle of the dump.
    await server.query(TEST_SCHEMA_SQL + testSeedSql(5_000), [], 'src');
    goodDump = file('good.dump');
    plainDump = file('plain.sql');
    // As the runbook takes it: pg_dump -Fc to stdout, redirected into a file.
    const dump = await execa(server.binaries.path('pg_dump'), ['-Fc'], { env: server.env('src'), encoding: 'buffer' });
    await writeFile(goodDump, dump.stdout);
    await execa(server.binaries.path('pg_dump'), ['-f', plainDump], { env: server.env('src') });
  });

  afterAll(async () => {
    await server?.stop();
    if (dir) await rm(dir, { recursive: true, force: true });
  });

  const details = new Map<string, string>();
  const unreadable = async (name: string, path: string, expectedFormat?: 'custom' | 'plain' | 'tar.gz' | 'csv') => {
    const evidence = await checkArtifact(path, expectedFormat ? { pgRestorePath, expectedFormat } : { pgRestorePath });
    expect(evidence.readable, evidence.detail).toBe(false);
    details.set(name, evidence.detail);
    return evidence;
  };

  it('accepts a good custom dump, with size, sha256 and its TOC', async () => {
    const evidence = await checkArtifact(goodDump, { pgRestorePath, expectedFormat: 'custom' });
    const bytes = await readFile(goodDump);
    expect(evidence).toMatchObject({
      path: goodDump,
      bytes: bytes.length,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      format: 'custom',
      readable: true,
    });
    expect(evidence.tocEntries).toBeGreaterThan(20);
    expect(evidence.detail).toMatch(/^pg_restore --list: \d+ TOC entries \(6 TABLE DATA\); every data block read back/);
  });

  it('rejects a custom dump cut in half, although pg_restore --list still passes on it', async () => {
    const path = file('half.dump');
    await copyFile(goodDump, path);
    await truncate(path, Math.floor((await stat(path)).size / 2));
    expect((await execa(pgRestorePath, ['--list', path], { reject: false })).exitCode).toBe(0);
    const evidence = await unreadable('truncated', path, 'custom');
    expect(evidence.format).toBe('custom');
    expect(evidence.detail).toMatch(
      /but reading the data blocks failed \(pg_restore -f \/dev\/null exit 1\): .*could not read from input file: end of file/,
    );
  });

  it('rejects a custom dump with flipped bytes in the middle', async () => {
    const path = file('flipped.dump');
    await copyFile(goodDump, path);
    const handle = await open(path, 'r+');
    try {
      const middle = Math.floor((await handle.stat()).size / 2);
      const bytes = Buffer.alloc(8);
      await handle.read(bytes, 0, 8, middle);
      await handle.write(
        bytes.map((b) => b ^ 0xff),
        0,
        8,
        middle,
      );
    } finally {
      await handle.close();
    }
    const evidence = await unreadable('flipped', path, 'custom');
    expect(evidence.detail).toMatch(/reading the data blocks failed .*could not uncompress data/);
  });

  it('rejects an empty file and a missing file', async () => {
    const empty = file('empty.dump');
    await writeFile(empty, '');
    const evidence = await unreadable('empty', empty, 'custom');
    expect(evidence).toMatchObject({ bytes: 0, sha256: createHash('sha256').digest('hex'), format: 'unknown' });
    expect(evidence.detail).toBe('empty file (0 bytes), expected a custom-format dump (PGDMP magic)');

    const missing = await unreadable('missing', file('nowhere.dump'), 'custom');
    expect(missing).toMatchObject({ bytes: 0, sha256: '', detail: `file not found: ${file('nowhere.dump')}` });
  });

  it('rejects a plain SQL dump handed over as a custom one', async () => {
    const evidence = await unreadable('plain-as-custom', plainDump, 'custom');
    expect(evidence.format).toBe('plain');
    expect(evidence.detail).toBe(
      'expected a custom-format dump (PGDMP magic) but the file is a plain SQL dump (starts with "-- PostgreSQL database dump")',
    );
  });

  it('names an encrypted dump for what it is, and how to read it', async () => {
    const home = await mkdtemp(join(dir, 'gnupg-'));
    await writeFile(file('key'), 'passphrase\n');
    await execa('gpg', ['--batch', '--passphrase-file', file('key'), '--symmetric', '--output', file('good.dump.gpg'), goodDump], {
      env: { GNUPGHOME: home },
    });
    await execa('gpgconf', ['--homedir', home, '--kill', 'gpg-agent']);
    const evidence = await unreadable('encrypted', file('good.dump.gpg'), 'custom');
    expect(evidence.detail).toBe(
      'expected a custom-format dump (PGDMP magic) but the file is OpenPGP-encrypted (gpg): decrypt it first, e.g. gpg --decrypt --output <file> <file>.gpg',
    );
  });

  it('accepts a complete plain dump and rejects a truncated one', async () => {
    const evidence = await checkArtifact(plainDump, { pgRestorePath });
    expect(evidence).toMatchObject({ format: 'plain', readable: true });
    expect(evidence.detail).toBe('plain SQL dump: header and "dump complete" trailer present, 6 COPY blocks');

    const cluster = file('cluster.sql');
    await execa(server.binaries.path('pg_dumpall'), ['-f', cluster], { env: server.env() });
    expect(await checkArtifact(cluster, { pgRestorePath, expectedFormat: 'plain' })).toMatchObject({
      readable: true,
      detail: expect.stringMatching(/^plain SQL cluster dump \(pg_dumpall\): header and "dump complete" trailer present, \d+ COPY blocks$/),
    });

    const cut = file('cut.sql');
    const text = await readFile(plainDump);
    await writeFile(cut, text.subarray(0, Math.floor(text.length * 0.9)));
    const truncated = await unreadable('plain-truncated', cut, 'plain');
    expect(truncated.detail).toMatch(/^no "-- PostgreSQL database dump complete" trailer in the last 4 KiB: the dump is truncated/);
  });

  it('rejects a plain dump whose \\restrict key has no matching \\unrestrict', async () => {
    const spliced = file('spliced.sql');
    // The key is random: change its last character to one it cannot already be.
    const text = (await readFile(plainDump, 'utf8')).replace(
      /^(\\unrestrict \S+)(\S)$/m,
      (_line, head: string, last: string) => `${head}${last === 'X' ? 'Y' : 'X'}`,
    );
    await writeFile(spliced, text);
    const evidence = await unreadable('plain-spliced', spliced, 'plain');
    expect(evidence.detail).toMatch(/^\\restrict \S{8}… at the head has no matching \\unrestrict at the end/);
  });

  it('rejects a schema-only custom dump: it restores no data', async () => {
    const schemaOnly = file('schema-only.dump');
    await execa(server.binaries.path('pg_dump'), ['-Fc', '-s', '-f', schemaOnly], { env: server.env('src') });
    const evidence = await unreadable('schema-only', schemaOnly, 'custom');
    expect(evidence.detail).toMatch(/^pg_restore --list: \d+ TOC entries \(0 TABLE DATA\): no table data at all \(a schema-only dump\?\)$/);
  });

  it('lists a tar.gz archive and rejects a corrupt one', async () => {
    const archive = file('volume.tar.gz');
    await execa('tar', ['-czf', archive, '-C', dir, 'good.dump', 'plain.sql']);
    const evidence = await checkArtifact(archive, { pgRestorePath, expectedFormat: 'tar.gz' });
    expect(evidence).toMatchObject({ format: 'tar.gz', readable: true, tocEntries: 2, detail: 'tar -tzf: 2 entries' });

    const half = file('half.tar.gz');
    const bytes = await readFile(archive);
    await writeFile(half, bytes.subarray(0, Math.floor(bytes.length / 2)));
    const broken = await unreadable('tar-truncated', half, 'tar.gz');
    expect(broken.detail).toMatch(/^tar -tzf failed \(exit 2\): .*(unexpected end of file|Unexpected EOF)/);
  });

  it('parses CSV only when asked for CSV', async () => {
    const csv = file('identities.csv');
    await writeFile(csv, 'id,name\n1,"a, b"\n2,c\n');
    expect(await checkArtifact(csv, { pgRestorePath, expectedFormat: 'csv' })).toMatchObject({
      format: 'csv',
      readable: true,
      tocEntries: 3,
    });
    const ragged = file('ragged.csv');
    await writeFile(ragged, 'id,name\n1,a\n2\n');
    const evidence = await unreadable('csv-ragged', ragged, 'csv');
    expect(evidence.detail).toMatch(/^CSV does not parse after \d+ records: /);
  });

  it('gives every defect its own detail', () => {
    expect(details.size).toBe(11);
    expect(new Set(details.values()).size).toBe(details.size);
  });

  it('streams sha256 equal to sha256sum', async () => {
    const { stdout } = await execa('sha256sum', [goodDump]);
    expect(await sha256File(goodDump)).toBe(stdout.split(' ')[0]);
  });

  it('throws only for programmer errors', async () => {
    await expect(checkArtifact(goodDump, { pgRestorePath: '' })).rejects.toThrow(/needs a path and options.pgRestorePath/);
    await expect(checkArtifact(goodDump, { pgRestorePath: '/nonexistent/pg_restore' })).rejects.toThrow(
      /cannot run \/nonexistent\/pg_restore/,
    );
  });
});
