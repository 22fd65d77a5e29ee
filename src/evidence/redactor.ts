/**
 * Replaces every registered secret with a named placeholder. Every string that reaches a
 * journal, report or console goes through one of these.
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
    return result;
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
