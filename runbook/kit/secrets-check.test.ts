import { readFileSync } from 'node:fs';
import { Readable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { ENCRYPTED_BACKUP_FIXES, searchStream } from './secrets-check.ts';

const CORRECTED = readFileSync(new URL('../../fixtures/runbooks/backup-restore.corrected.md', import.meta.url), 'utf8');

describe('secrets scan', () => {
  it('finds a canary split across two chunks, and only the canaries that are there', async () => {
    const chunks = ['COPY connector_instances … {"bind_password": "CANARY-bind', 'pw-7-abc"} …', ' SECRET'];
    const found = await searchStream(Readable.from(chunks.map((chunk) => Buffer.from(chunk))), [
      'CANARY-bindpw-7-abc',
      'CANARY-secretkey-7',
    ]);
    expect([...found]).toEqual(['CANARY-bindpw-7-abc']);
  });

  it('stops reading once every canary is found', async () => {
    let pulled = 0;
    const stream = Readable.from(
      (function* () {
        for (let index = 0; index < 1000; index += 1) {
          pulled += 1;
          yield Buffer.from(index === 1 ? 'a-CANARY-b' : 'filler ');
        }
      })(),
    );
    expect([...(await searchStream(stream, ['CANARY']))]).toEqual(['CANARY']);
    expect(pulled).toBeLessThan(1000);
  });

  it('each fix is the corrected runbook’s text, word for word', () => {
    const missing = Object.entries(ENCRYPTED_BACKUP_FIXES).filter(([, fix]) => !CORRECTED.includes(fix));
    expect(missing.map(([section]) => section)).toEqual([]);
  });
});
