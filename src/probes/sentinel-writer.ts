import pg from 'pg';
import { DrillError } from '../errors/drill-error.ts';
import { cleanupRegistry } from '../lifecycle/cleanup-registry.ts';
import { type SentinelWriterOptions, StartedSentinelWriter } from './started-sentinel-writer.ts';

export type { SentinelWriterOptions, SentinelWriterStats } from './started-sentinel-writer.ts';

/** A sentinel row; `writtenAt` is the database's clock (ISO 8601). */
export interface SentinelPoint {
  id: number;
  writtenAt: string;
}

/** A sentinel whose INSERT the database acknowledged (committed); `acknowledgedAt` is the harness's clock. */
export interface AcknowledgedSentinel extends SentinelPoint {
  acknowledgedAt: string;
}

export interface RpoInput {
  /** The newest sentinel acknowledged before the disaster. */
  acknowledged: SentinelPoint | undefined;
  /** The newest sentinel present after recovery (latestSentinel). */
  afterRecovery: SentinelPoint | undefined;
  disasterAt: Date | string;
}

export interface RpoResult {
  /** Acknowledged writes lost, in ms of write time; null when it cannot be measured. */
  rpoMs: number | null;
  /** Acknowledged sentinels lost (id difference), when both ids are known. */
  lostWrites: number | null;
  explanation: string;
}

const SENTINELS = 'nmia_drill.sentinels';

/** A connected client whose server may vanish (a disaster): without an 'error' listener pg would crash the process. */
async function connect(config: pg.ClientConfig): Promise<pg.Client> {
  const client = new pg.Client(config);
  client.on('error', () => undefined);
  await client.connect();
  return client;
}

/** A server's one-line cause, with the connection target but never a password. */
function cause(error: unknown, database: pg.ClientConfig): string {
  const where = `${database.host ?? 'localhost'}:${database.port ?? 5432}/${database.database ?? ''}`;
  const code = (error as { code?: unknown }).code;
  const message = (error as Error).message?.split('\n')[0] ?? String(error);
  return `${SENTINELS} on ${where}: ${code === 'ECONNREFUSED' ? 'connection refused (is the db running?)' : message}`;
}

/**
 * Background writer for RPO: an INSERT into nmia_drill.sentinels every ~200 ms, straight into the
 * database, keeping what was committed. A fresh connection per write: the writer never holds an idle
 * session that would block the runbook's dropdb, and a restarted server costs nothing to reconnect.
 */
export class SentinelWriter {
  static async start(options: SentinelWriterOptions): Promise<StartedSentinelWriter> {
    const timeoutMs = options.timeoutMs ?? 2_000;
    const note = options.note ?? 'nmia-drill rpo sentinel';
    const config: pg.ClientConfig = { ...options.database, connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs };
    const writeOne = async (): Promise<SentinelPoint> => {
      let client: pg.Client | undefined;
      try {
        client = await connect(config);
        const { rows } = await client.query<{ id: string; written_at: Date }>(
          `INSERT INTO ${SENTINELS} (note) VALUES ($1) RETURNING id, written_at`,
          [note],
        );
        const row = rows[0] as { id: string; written_at: Date };
        return { id: Number(row.id), writtenAt: row.written_at.toISOString() };
      } catch (error) {
        throw new Error(cause(error, options.database));
      } finally {
        await client?.end().catch(() => undefined);
      }
    };
    // The first write must work: a writer that never writes would report an RPO of nothing.
    await writeOne().catch((error: unknown) => {
      throw new DrillError(`sentinel writer: ${(error as Error).message}`, {
        fix: 'create nmia_drill (applyDrillSchema, nmia/schema/nmia-schema.ts) in the NMIA database before starting the writer',
      });
    });
    const writer = new StartedSentinelWriter(options, writeOne);
    const cleanup = cleanupRegistry.register('sentinel writer', async () => {
      await writer.stop();
    });
    writer.onStopped(() => cleanup.release());
    writer.start();
    return writer;
  }
}

/** The newest sentinel in the (restored) database; undefined when there is none. */
export async function latestSentinel(database: pg.ClientConfig, options: { timeoutMs?: number } = {}): Promise<SentinelPoint | undefined> {
  const timeoutMs = options.timeoutMs ?? 5_000;
  let client: pg.Client | undefined;
  try {
    client = await connect({ ...database, connectionTimeoutMillis: timeoutMs, statement_timeout: timeoutMs });
    const { rows } = await client.query<{ id: string; written_at: Date }>(
      `SELECT id, written_at FROM ${SENTINELS} ORDER BY id DESC LIMIT 1`,
    );
    const row = rows[0];
    return row ? { id: Number(row.id), writtenAt: row.written_at.toISOString() } : undefined;
  } catch (error) {
    const missing = (error as { code?: unknown }).code === '42P01';
    throw new DrillError(
      `latest sentinel: ${missing ? `${SENTINELS} does not exist (the restore did not bring schema nmia_drill back)` : cause(error, database)}`,
      {
        fix: missing
          ? 'restore the whole database: the sentinels ride along in every dump of it'
          : 'start the db before reading the latest sentinel',
      },
    );
  } finally {
    await client?.end().catch(() => undefined);
  }
}

/**
 * RPO = the newest sentinel acknowledged before the disaster − the newest present after recovery
 * (write times, ms, never negative). A surviving sentinel written after the disaster means nothing
 * acknowledged was lost: RPO 0.
 */
export function computeRpo(input: RpoInput): RpoResult {
  const { acknowledged, afterRecovery } = input;
  const disasterMs = new Date(input.disasterAt).getTime();
  if (!acknowledged)
    return { rpoMs: null, lostWrites: null, explanation: 'no write was acknowledged before the disaster: RPO not measured' };
  if (!afterRecovery) {
    return {
      rpoMs: null,
      lostWrites: null,
      explanation: `no sentinel exists after recovery: every acknowledged write is lost, up to #${acknowledged.id} (${acknowledged.writtenAt})`,
    };
  }
  const ackMs = new Date(acknowledged.writtenAt).getTime();
  const afterMs = new Date(afterRecovery.writtenAt).getTime();
  if (afterMs > disasterMs) {
    return {
      rpoMs: 0,
      lostWrites: 0,
      explanation: `sentinel #${afterRecovery.id}, written after the disaster (${afterRecovery.writtenAt}), survived: nothing acknowledged was lost`,
    };
  }
  const rpoMs = Math.max(0, ackMs - afterMs);
  const lostWrites = acknowledged.id >= afterRecovery.id ? acknowledged.id - afterRecovery.id : null;
  if (rpoMs === 0 && (lostWrites ?? 0) === 0) {
    return { rpoMs: 0, lostWrites: 0, explanation: `the newest acknowledged sentinel #${acknowledged.id} survived` };
  }
  return {
    rpoMs,
    lostWrites,
    explanation: `newest acknowledged #${acknowledged.id} (${acknowledged.writtenAt}), newest after recovery #${afterRecovery.id} (${afterRecovery.writtenAt}): ${rpoMs} ms${lostWrites !== null ? `, ${lostWrites} acknowledged writes` : ''} lost`,
  };
}
