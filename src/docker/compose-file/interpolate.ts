/** Compose-style variable interpolation: $VAR, ${VAR}, ${VAR:-default}, ${VAR-default}, ${VAR:?err}, $$. */
export function interpolate(text: string, variables: Record<string, string | undefined>): string {
  return text.replace(
    /\$\$|\$\{([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?])([^}]*))?\}|\$([A-Za-z_][A-Za-z0-9_]*)/g,
    (match, braced, operator, argument, bare) => {
      if (match === '$$') return '$';
      const name = (braced ?? bare) as string;
      const value = variables[name];
      if (operator === ':-') return value ? value : (argument as string);
      if (operator === '-') return value ?? (argument as string);
      if (operator === ':?' || operator === '?') {
        if (value === undefined || (operator === ':?' && value === '')) {
          throw new Error(`required variable ${name} is missing a value: ${argument as string}`);
        }
        return value;
      }
      return value ?? '';
    },
  );
}

/** `.env` as Compose reads it: KEY=VALUE lines, # comments, optional quotes. */
export function parseDotEnv(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (!line || line.startsWith('#')) continue;
    const at = line.indexOf('=');
    if (at <= 0) continue;
    const key = line
      .slice(0, at)
      .trim()
      .replace(/^export\s+/, '');
    let value = line.slice(at + 1).trim();
    if ((value.startsWith('"') && value.endsWith('"')) || (value.startsWith("'") && value.endsWith("'"))) value = value.slice(1, -1);
    result[key] = value;
  }
  return result;
}
