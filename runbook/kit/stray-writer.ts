import type pg from 'pg';
import { connectPg } from '../../src/postgres/pg-connect.ts';

/** One committed write of the stray writer, and what it saw of the database in the same transaction. */
export interface StrayWrite {
  id: string;
  /** The audit log held fewer rows than the backup, or had no primary key yet: the database was half-restored. */
  intoPartialDatabase: boolean;
}

const PROBE = `SELECT (SELECT count(*) FROM (SELECT 1 FROM public.audit_logs WHERE resource_id <> $1 LIMIT $2) AS capped)::int AS rows,
  EXISTS (SELECT 1 FROM pg_constraint WHERE conrelid = 'public.audit_logs'::regclass AND contype = 'p') AS keyed`;
// The columns the application's own audit entries fill (its id and created_at defaults live in Python, not the schema).
const INSERT = `INSERT INTO public.audit_logs (id, action, resource_type, resource_id, details, created_at)
  VALUES (gen_random_uuid(), 'update', 'identity', $1, '{"by": "nmia-drill stray writer"}', now()) RETURNING id::text`;

/**
 * A client of the application's database that the restore section does not stop (a second worker, a scheduled
 * job, an instance on another host). It writes audit entries as the application does, as fast as it can, and
 * reconnects whenever it loses its session, as the application's connection pool (pool_pre_ping) does.
 * Held, it keeps no session and waits until a database of that name, other than the one it was held on, takes
 * connections again: then it writes into it.
 */
export class StrayWriter {
  readonly writes: StrayWrite[] = [];
  /** Failed attempts by their first error line ('relation "public.audit_logs" does not exist': count). */
  readonly refusals = new Map<string, number>();
  private attempts = 0;
  private attemptsAtMark = 0;
  private client: pg.Client | undefined;
  private state: 'writing' | 'held' | 'stopped' = 'writing';
  private heldOn: number | undefined;
  private loop: Promise<void> | undefined;
  private maintenanceClient: pg.Client | undefined;
  private held: (() => void) | undefined;

  constructor(
    private readonly database: pg.ClientConfig,
    private readonly maintenance: pg.ClientConfig,
    readonly marker: string,
    /** The audit log's rows in the backup: fewer in a database it writes into means that database is partial. */
    private readonly backupRows: number,
  ) {}

  start(): void {
    this.loop ??= this.run();
  }

  /** Ends its session and writes nothing until a new database of its name accepts connections. */
  async hold(): Promise<void> {
    if (this.state !== 'writing') return;
    this.heldOn = await this.databaseOid();
    // The loop lets go of its session between attempts, so no attempt in flight reconnects behind the hold.
    const released = new Promise<void>((resolve) => (this.held = resolve));
    this.state = 'held';
    await released;
  }

  /** Counts attempts from here on: the restore has started. */
  mark(): void {
    this.attemptsAtMark = this.attempts;
  }

  get attemptsSinceMark(): number {
    return this.attempts - this.attemptsAtMark;
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
        const oid = await this.databaseOid().catch(() => undefined);
        if (oid !== undefined && oid !== this.heldOn && this.state === 'held') this.state = 'writing';
        else await pause(5);
        continue;
      }
      await this.attempt();
      await pause(2);
    }
  }

  private async attempt(): Promise<void> {
    this.attempts++;
    try {
      this.client ??= await connect(this.database);
      await this.client.query('BEGIN');
      const seen = await this.client.query<{ rows: number; keyed: boolean }>(PROBE, [this.marker, this.backupRows]);
      const written = await this.client.query<{ id: string }>(INSERT, [this.marker]);
      await this.client.query('COMMIT');
      const { rows, keyed } = seen.rows[0]!;
      this.writes.push({ id: written.rows[0]!.id, intoPartialDatabase: rows < this.backupRows || !keyed });
    } catch (error) {
      const reason = ((error as Error).message ?? String(error)).split('\n')[0]!;
      this.refusals.set(reason, (this.refusals.get(reason) ?? 0) + 1);
      // A failed transaction or a lost session: start over on a new one, as a pool does.
      await this.disconnect();
    }
  }

  private async databaseOid(): Promise<number | undefined> {
    try {
      this.maintenanceClient ??= await connect(this.maintenance);
      const result = await this.maintenanceClient.query<{ oid: number }>(
        'SELECT oid::int AS oid FROM pg_database WHERE datname = $1 AND datallowconn',
        [this.database.database],
      );
      return result.rows[0]?.oid;
    } catch (error) {
      const client = this.maintenanceClient;
      this.maintenanceClient = undefined;
      await client?.end().catch(() => undefined);
      throw error;
    }
  }

  private async disconnect(): Promise<void> {
    const client = this.client;
    this.client = undefined;
    await client?.end().catch(() => undefined);
  }
}

function connect(config: pg.ClientConfig): Promise<pg.Client> {
  return connectPg({ ...config, connectionTimeoutMillis: 2_000 });
}

function pause(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
