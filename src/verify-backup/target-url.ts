import { UsageError } from '../errors/drill-error.ts';

/** libpq settings a postgres URL's query may carry, and the environment variable each becomes. */
const PARAMETER_ENV: Record<string, string> = {
  host: 'PGHOST',
  port: 'PGPORT',
  user: 'PGUSER',
  password: 'PGPASSWORD',
  sslmode: 'PGSSLMODE',
  sslrootcert: 'PGSSLROOTCERT',
  sslcert: 'PGSSLCERT',
  sslkey: 'PGSSLKEY',
  connect_timeout: 'PGCONNECT_TIMEOUT',
};

/**
 * `--target-url postgresql://user:password@host:port/db?sslmode=…`: an existing PostgreSQL server.
 * The database in the URL is only where the drill connects to ask questions and to create its
 * scratch databases; nothing is ever restored into it or dropped.
 */
export class TargetUrl {
  private constructor(
    /** PGHOST, PGPORT, PGUSER, PGPASSWORD, PGSSLMODE… as the URL gives them. */
    private readonly settings: Record<string, string>,
    readonly database: string,
    private readonly url: URL,
  ) {}

  static parse(text: string): TargetUrl {
    let url: URL;
    try {
      url = new URL(text);
    } catch {
      throw TargetUrl.usage(`--target-url is not a URL`);
    }
    if (url.protocol !== 'postgres:' && url.protocol !== 'postgresql:')
      throw TargetUrl.usage(`--target-url must be a postgresql:// URL, not ${url.protocol}//`);
    const settings: Record<string, string> = {};
    const host = decodeURIComponent(url.hostname).replace(/^\[(.*)\]$/, '$1');
    if (host) settings.PGHOST = host;
    if (url.port) settings.PGPORT = url.port;
    if (url.username) settings.PGUSER = decodeURIComponent(url.username);
    if (url.password) settings.PGPASSWORD = decodeURIComponent(url.password);
    for (const [name, value] of url.searchParams) {
      const variable = PARAMETER_ENV[name];
      if (!variable) throw TargetUrl.usage(`--target-url has a parameter nmia-drill does not pass on: ${name}`);
      settings[variable] = value;
    }
    const database = decodeURIComponent(url.pathname.replace(/^\//, '')) || 'postgres';
    return new TargetUrl(settings, database, url);
  }

  private static usage(cause: string): UsageError {
    return new UsageError(cause, {
      fix: 'e.g. --target-url "postgresql://nmia@db.example.internal:5432/postgres?sslmode=require" (a password is better kept in PGPASSWORD or ~/.pgpass)',
    });
  }

  get password(): string | undefined {
    return this.settings.PGPASSWORD;
  }

  /** libpq environment for client binaries and node-postgres alike; unset values fall back to the caller's PG* variables. */
  env(database: string): Record<string, string> {
    const inherited = Object.fromEntries(
      Object.entries(process.env).filter(
        (entry): entry is [string, string] =>
          /^PG(HOST|PORT|USER|PASSWORD|PASSFILE|SSLMODE|SSLROOTCERT|SSLCERT|SSLKEY|CONNECT_TIMEOUT)$/.test(entry[0]) &&
          entry[1] !== undefined,
      ),
    );
    return { ...inherited, ...this.settings, PGDATABASE: database };
  }

  /** node-postgres settings for one database on the server (it reads sslmode and host= from the URL as libpq does). */
  clientConfig(database: string): { connectionString: string } {
    const url = new URL(this.url.toString());
    url.pathname = `/${encodeURIComponent(database)}`;
    return { connectionString: url.toString() };
  }

  /** Where it points, for evidence: host, port, user and database, never the password. */
  describe(): string {
    const env = this.env(this.database);
    return `${env.PGUSER ?? '(PGUSER)'}@${env.PGHOST ?? '(PGHOST)'}:${env.PGPORT ?? '5432'}/${this.database}`;
  }
}
