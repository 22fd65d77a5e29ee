import { join } from 'node:path';
import { execa } from 'execa';
import { pythonWithLdap3, withSystemPath } from '../src/prerequisites/system-prerequisites.ts';

/** The config keys NMIA's AD connector reads (connect_and_collect in worker/src/nmia_worker/connectors/ad/collector.py). */
export interface AdConnectorConfig {
  server: string;
  port?: number;
  use_ssl?: boolean;
  bind_dn: string;
  bind_password: string;
  search_base: string;
  search_filter?: string;
}

export type AdScan =
  | { ok: true; entries: Array<Record<string, unknown>>; identities: Array<Record<string, unknown>>; log: string }
  | { ok: false; errorType: string; message: string; log: string };

// Runs the app's own function; the config comes on stdin so the bind password is never in argv.
const RUNNER = `
import json, logging, sys
logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s [%(levelname)s] %(name)s: %(message)s")
from nmia_worker.connectors.ad.collector import connect_and_collect
from nmia_worker.connectors.ad.normalizer import normalize_ad_finding
try:
    entries = connect_and_collect(json.load(sys.stdin))
except Exception as exc:
    print(json.dumps({"ok": False, "errorType": type(exc).__module__ + "." + type(exc).__name__, "message": str(exc)}))
else:
    print(json.dumps({"ok": True, "entries": entries, "identities": [normalize_ad_finding(e) for e in entries]}, default=str))
`;

/**
 * NMIA's real Active Directory connector (its worker's connect_and_collect, ldap3) run from a checkout
 * of the app by a Python that has ldap3, as the worker runs it; each entry also goes through the app's
 * own normalize_ad_finding, which is what becomes an identity.
 */
export class RealAdConnector {
  private constructor(
    private readonly python: string,
    private readonly appDir: string,
  ) {}

  /** The first python3 on PATH (and sbin) that imports ldap3, as the test suite's prerequisite check finds it. */
  static find(appDir: string): RealAdConnector | undefined {
    const python = pythonWithLdap3(withSystemPath());
    return python ? new RealAdConnector(python, appDir) : undefined;
  }

  async scan(config: AdConnectorConfig): Promise<AdScan> {
    const run = await execa(this.python, ['-c', RUNNER], {
      reject: false,
      input: JSON.stringify(config),
      env: { PYTHONPATH: join(this.appDir, 'worker', 'src') },
      timeout: 60_000,
    });
    const last = String(run.stdout).trim().split('\n').at(-1) ?? '';
    let parsed: Omit<AdScan, 'log'>;
    try {
      parsed = JSON.parse(last) as Omit<AdScan, 'log'>;
    } catch {
      throw new Error(`the AD connector runner exited ${run.exitCode} without a result: ${String(run.stderr).slice(-600)}`);
    }
    return { ...parsed, log: String(run.stderr) } as AdScan;
  }
}
