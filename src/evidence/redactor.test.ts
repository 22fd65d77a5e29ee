import { describe, expect, it } from 'vitest';
import { Redactor } from './redactor.ts';

describe('Redactor', () => {
  it('replaces every occurrence of a secret, longest first, in strings and nested values', () => {
    const redactor = new Redactor().add('secret_key', 'CANARY-key-1').add('bind_password', 'CANARY-key-1-long');
    expect(redactor.redact('a CANARY-key-1-long b CANARY-key-1')).toBe('a [REDACTED:bind_password] b [REDACTED:secret_key]');
    expect(redactor.redactDeep({ list: ['x CANARY-key-1'] })).toEqual({ list: ['x [REDACTED:secret_key]'] });
  });

  it('ignores empty and too-short values instead of redacting common text', () => {
    const redactor = new Redactor().add('empty', '').add('short', 'ab').add('none', undefined);
    expect(redactor.size).toBe(0);
    expect(redactor.redact('ab cd')).toBe('ab cd');
  });
});
