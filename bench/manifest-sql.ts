import type pg from 'pg';
import { takeManifest, type Manifest } from '../src/verify/manifest.ts';

/**
 * The exact statements takeManifest sends for a database, captured by taking one through a client
 * that records every query: the baseline replays the drill's verification SQL, not a re-typed copy.
 */
export async function captureManifestSql(client: pg.Client): Promise<{ sql: string; statements: number; manifest: Manifest }> {
  const statements: string[] = [];
  const recording = {
    query: (text: string, values?: unknown[]) => {
      // takeManifest inlines everything today; a bound parameter would not survive psql -f.
      if (values !== undefined && values.length > 0)
        throw new Error('takeManifest now binds parameters; teach captureManifestSql to inline them');
      statements.push(text);
      return client.query(text);
    },
  } as unknown as pg.ClientBase;
  const manifest = await takeManifest(recording);
  return {
    sql: `${statements.map((statement) => statement.trim().replace(/;\s*$/, '')).join(';\n')};\n`,
    statements: statements.length,
    manifest,
  };
}
