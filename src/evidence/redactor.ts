/*
 * Credentials written inline are secrets nobody registered: `scheme://user:password@host` in a URL or
 * connection string, and libpq's `password=…` keyword. Both are masked by shape, whatever the value.
 * A value starting with `$` is a shell reference, not a secret, and stays readable.
 */
const URL_CREDENTIALS = /\b([a-z][a-z0-9+.-]*:\/\/)([^\s:@/?#'"<>]*):(?!\*\*\*@)([^\s@/'"<>]+)@/gi;
const KEYWORD_PASSWORD = /(^|[\s'"])(password\s*=\s*)(?!\*\*\*(?:[\s'"]|$))('[^']*'|[^\s'"$][^\s'"]*)/gi;

/** Masks credentials written inline in URLs and connection strings: `user:password@` becomes `user:***@`. */
export function redactInlineCredentials(text: string): string {
  if (!text.includes('@') && !/password/i.test(text)) return text;
  return text.replace(URL_CREDENTIALS, '$1$2:***@').replace(KEYWORD_PASSWORD, '$1$2***');
}

/**
 * Replaces every registered secret with a named placeholder, and masks inline credentials by shape.
 * Every string that reaches a journal, report or console goes through one of these.
 */
export class Redactor {
  private readonly secrets = new Map<string, string>();

  /** Values shorter than 4 characters would redact ordinary words, so they are refused. */
  add(name: string, value: string | undefined): this {
    if (value && value.length >= 4) this.secrets.set(value, name);
    return this;
  }

  get size(): number {
    return this.secrets.size;
  }

  redact(text: string): string {
    let result = text;
    // Longest first, so a secret containing another is replaced whole.
    for (const [value, name] of [...this.secrets].sort((a, b) => b[0].length - a[0].length)) {
      if (result.includes(value)) result = result.split(value).join(`[REDACTED:${name}]`);
    }
    return redactInlineCredentials(result);
  }

  /** Deep-redacts every string in a JSON-compatible value. */
  redactDeep<T>(value: T): T {
    if (typeof value === 'string') return this.redact(value) as T;
    if (Array.isArray(value)) return value.map((item) => this.redactDeep(item)) as T;
    if (value && typeof value === 'object') {
      return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, this.redactDeep(item)])) as T;
    }
    return value;
  }
}
