/** One RPO write (an enclave the app created); `writtenAt` is the app's clock (ISO 8601). */
export interface SentinelPoint {
  id: number;
  writtenAt: string;
}

/** A write the app acknowledged (committed and answered); `acknowledgedAt` is the harness's clock. */
export interface AcknowledgedSentinel extends SentinelPoint {
  acknowledgedAt: string;
}

export interface RpoInput {
  /** The newest sentinel acknowledged before the disaster. */
  acknowledged: SentinelPoint | undefined;
  /** The newest sentinel present after recovery (ApiSentinelWriter.latest). */
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
