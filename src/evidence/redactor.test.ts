import { describe, expect, it } from 'vitest';
import { redactingReporter } from './redacting-reporter.ts';
import { Redactor, redactInlineCredentials } from './redactor.ts';

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

describe('inline credentials', () => {
  it('masks the password of any URL or connection string, whoever wrote it, and keeps the user and host', () => {
    const redactor = new Redactor();
    expect(redactor.redact('DATABASE_URL=postgresql://nmia:nmia@db:5432/nmia')).toBe('DATABASE_URL=postgresql://nmia:***@db:5432/nmia');
    expect(redactor.redact("psql 'postgres://u:p%40ss!word@h/db?sslmode=require' -c x")).toBe(
      "psql 'postgres://u:***@h/db?sslmode=require' -c x",
    );
    expect(redactor.redact('ldap://cn=admin:CANARY-url-pw@ad:389 and https://:token123@git.example/x')).toBe(
      'ldap://cn=admin:***@ad:389 and https://:***@git.example/x',
    );
    expect(redactInlineCredentials("host=db user=nmia password=CANARY-pw dbname=nmia password='two words'")).toBe(
      'host=db user=nmia password=*** dbname=nmia password=***',
    );
  });

  it('leaves URLs without a password, e-mail addresses and shell references alone, and is idempotent', () => {
    const text = 'git@github.com:org/repo.git https://example.com/a:b ops@example.com postgresql://nmia@db/nmia password=$PGPASS';
    expect(redactInlineCredentials(text)).toBe(text);
    const once = redactInlineCredentials('postgresql://nmia:nmia@db/nmia password=x1');
    expect(redactInlineCredentials(once)).toBe(once);
  });

  it('applies to the console: a reporter sees redacted arguments and only the hooks it has', () => {
    const seen: unknown[] = [];
    class Inner {
      onStep(message: string): void {
        seen.push(message);
      }
      onRung(_procedure: string, rung: { summary: string }): void {
        seen.push(rung);
      }
    }
    const reporter = redactingReporter(new Inner(), new Redactor().add('secret_key', 'CANARY-key-1'));
    expect(Object.keys(reporter).sort()).toEqual(['onRung', 'onStep']);
    reporter.onStep?.('connect postgresql://nmia:CANARY-url@db/nmia with CANARY-key-1');
    reporter.onRung?.('p', { rung: 'content', check: 'c', outcome: 'passed', summary: 'postgresql://a:b1@h/d' });
    expect(seen).toEqual([
      'connect postgresql://nmia:***@db/nmia with [REDACTED:secret_key]',
      { rung: 'content', check: 'c', outcome: 'passed', summary: 'postgresql://a:***@h/d' },
    ]);
  });
});
