import type pg from 'pg';
import { connectPg } from '../../src/postgres/pg-connect.ts';
import { sqlLiteral } from '../../src/safety/ownership-marker.ts';

/** One committed write of the stray writer, and what it saw of the database in the same transaction. */
export interface StrayWrite {
  id: string;
  /** The audit log held fewer rows than the backup, or had no primary key yet: the database was half-restored. */
  intoPartialDatabase: boolean;
}

/**
 * One write, waited for on the server: until the audit log exists it polls pg_class (an MVCC read, which sees
 * tables committed meanwhile; to_regclass would not) every millisecond, so the write lands as soon as the table is
 * there, however busy the drill's own process is. In the same transaction it reads what the database holds, and
 * reports both in a notice (a DO block returns no rows). The columns are those NMIA's AuditLog fills: its id and
 * created_at defaults live in Python, not the schema.
 */
function writeStatement(marker: string, backupRows: number): string {
  const literal = sqlLiteral(marker);
  return `DO $stray$
DECLARE
  deadline timestamptz := clock_timestamp() + interval '${WAIT_FOR_TABLE_S} seconds';
  seen bigint;
  keyed boolean;
  written text;
BEGIN
  WHILE NOT EXISTS (SELECT 1 FROM pg_class WHERE relname = 'audit_logs' AND relnamespace = 'public'::regnamespace)
    AND clock_timestamp() < deadline LOOP
    PERFORM pg_sleep(0.001);
  END LOOP;
  EXECUTE 'SELECT count(*) FROM (SELECT 1 FROM public.audit_logs WHERE resource_id <> $1 LIMIT $2) AS capped'
    INTO seen USING ${literal}, ${backupRows};
  keyed := EXISTS (SELECT 1 FROM pg_constraint c JOIN pg_class r ON r.oid = c.conrelid
    WHERE r.relname = 'audit_logs' AND r.relnamespace = 'public'::regnamespace AND c.contype = 'p');
  EXECUTE 'INSERT INTO public.audit_logs (id, action, resource_type, resource_id, details, created_at)
    VALUES (gen_random_uuid(), ''update'', ''identity'', $1, ''{"by": "nmia-drill stray writer"}'', now()) RETURNING id::text'
    INTO written USING ${literal};
  RAISE NOTICE '${NOTICE} % %', written, (seen < ${backupRows} OR NOT keyed);
END
$stray$`;
}

const WAIT_FOR_TABLE_S = 3;
const NOTICE = 'nmia-drill stray write';
const HOLD_WAIT_MS = 15_000;

/**
 * A client of the application's database that the restore section does not stop (a second worker, a scheduled
 * job, an instance on another host). It writes audit entries as the application does, as fast as it can, and
 * reconnects whenever it loses its session, as the application's connection pool (pool_pre_ping) does.
 * Held, it keeps no session and waits until a database of that name, other than the one it was held on, takes
 * connections again: then it writes into it.
 */
export class StrayWriter {
  readonly writes: StrayWrite[] = [];
  /** Failed attempts by their first error line ('database "nmia" is not currently accepting connections': count). */
  readonly refusals = new Map<string, number>();
  private attempts = 0;
  private inFlight = false;
  private atMark: { attempts: number; writes: number } | undefined;
  private client: pg.Client | undefined;
  private state: 'writing' | 'held' | 'stopped' = 'writing';
  private heldOn: number | undefined;
  private loop: Promise<void> | undefined;
  private maintenanceClient: pg.Client | undefined;
  private held: (() => void) | undefined;
  private readonly statement: string;

  constructor(
    private readonly database: pg.ClientConfig,
    private readonly maintenance: pg.ClientConfig,
    readonly marker: string,
    /** The audit log's rows in the backup: fewer in a database it writes into means that database is partial. */
    backupRows: number,
  ) {
    this.statement = writeStatement(marker, backupRows);
  }

  start(): void {
    this.loop ??= this.run();
  }

  /** Ends its session and writes nothing until a new database of its name accepts connections. */
  async hold(): Promise<void> {
    if (this.state !== 'writing') return;
    const heldOn = (await this.listing()).oid;
    if (this.state !== 'writing') return;
    this.heldOn = heldOn;
    // The loop lets go of its session between attempts, so no attempt in flight reconnects behind the hold.
    const released = new Promise<void>((resolve) => (this.held = resolve));
    this.state = 'held';
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`the writer kept its session ${HOLD_WAIT_MS / 1000} s after it was held`)), HOLD_WAIT_MS);
    });
    try {
      await Promise.race([released, timeout]);
    } finally {
      clearTimeout(timer);
    }
  }

  /** Counts attempts and writes from here on: the restore has started. */
  mark(): void {
    // An attempt already waiting on the server for the audit log writes from here on too.
    this.atMark = { attempts: this.attempts - (this.inFlight ? 1 : 0), writes: this.writes.length };
  }

  /** Whether the restore command was reached (mark() ran). */
  get marked(): boolean {
    return this.atMark !== undefined;
  }

  get attemptsSinceMark(): number {
    return this.attempts - (this.atMark?.attempts ?? this.attempts);
  }

  get writesSinceMark(): number {
    return this.writes.length - (this.atMark?.writes ?? this.writes.length);
  }

  /** Resolves once it has written at least once: a writer that cannot write at all would prove nothing. */
  async firstWrite(timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (this.writes.length === 0) {
      if (Date.now() > deadline)
        throw new Error(
          `the writer could not write an audit entry in ${timeoutMs / 1000} s: ${[...this.refusals.keys()][0] ?? 'no attempt finished'}`,
        );
      await pause(10);
    }
  }

  async stop(): Promise<void> {
    this.state = 'stopped';
    await this.loop;
    await this.disconnect();
    this.held?.();
    const maintenance = this.maintenanceClient;
    this.maintenanceClient = undefined;
    await maintenance?.end().catch(() => undefined);
  }

  private async run(): Promise<void> {
    while (this.state !== 'stopped') {
      if (this.state === 'held') {
        if (this.held) {
          await this.disconnect();
          this.held();
          this.held = undefined;
        }
        const now = await this.listing().catch(() => undefined);
        if (now?.open && now.oid !== this.heldOn && this.state === 'held') this.state = 'writing';
        else await pause(5);
        continue;
      }
      await this.attempt();
      await pause(2);
    }
  }

  private async attempt(): Promise<void> {
    this.attempts++;
    this.inFlight = true;
    try {
      if (!this.client) {
        this.client = await connect(this.database);
        this.client.on('notice', (notice) => this.noted(notice.message ?? ''));
      }
      await this.client.query(this.statement);
    } catch (error) {
      const reason = ((error as Error).message ?? String(error)).split('\n')[0]!;
      this.refusals.set(reason, (this.refusals.get(reason) ?? 0) + 1);
      // A refused statement keeps its session, as a pool does; a lost session starts over on a new one.
      const code = (error as { code?: unknown }).code;
      if (typeof code !== 'string' || /^(08|57P)/.test(code)) await this.disconnect();
    } finally {
      this.inFlight = false;
    }
  }

  private async listing(): Promise<{ oid?: number; open: boolean }> {
    try {
      this.maintenanceClient ??= await connect(this.maintenance);
      const result = await this.maintenanceClient.query<{ oid: number; open: boolean }>(
        'SELECT oid::int AS oid, datallowconn AS open FROM pg_database WHERE datname = $1',
        [this.database.database],
      );
      return result.rows[0] ?? { open: false };
    } catch (error) {
      const client = this.maintenanceClient;
      this.maintenanceClient = undefined;
      await client?.end().catch(() => undefined);
      throw error;
    }
  }

  private noted(message: string): void {
    const match = new RegExp(`^${NOTICE} (\\S+) (t|f)$`).exec(message);
    if (match) this.writes.push({ id: match[1]!, intoPartialDatabase: match[2] === 't' });
  }

  private async disconnect(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}

// Bounded, so that an attempt stuck on a lock cannot keep a hold (and the block waiting on it) from returning.
function connect(config: pg.ClientConfig): Promise<pg.Client> {
  return connectPg({ ...config, connectionTimeoutMillis: 2_000, statement_timeout: 5_000, query_timeout: 6_000 });
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
