import { markStatement, ownershipMarker, sqlIdentifier, sqlLiteral } from '../../safety/ownership-marker.ts';
import type { HarnessActions } from './harness-actions.ts';

/**
 * Databases the harness creates for its own checks. Each carries the drill's ownership marker, and it
 * is the only kind of database the harness ever drops.
 */
export class ScratchDatabases {
  constructor(
    private readonly harness: HarnessActions,
    private readonly drillId: string,
  ) {}

  async create(purpose: string): Promise<string> {
    const name = `nmia_drill_${purpose}_${this.drillId}`;
    await this.harness.sql(`scratch database for ${purpose.replace(/_/g, ' ')}`, `CREATE DATABASE ${sqlIdentifier(name)}`, 'postgres');
    await this.harness.sql('mark the scratch database as owned by this drill', markStatement(name, this.drillId), 'postgres');
    return name;
  }

  async drop(name: string): Promise<void> {
    const [row] = (
      await this.harness.sql(
        'check ownership before dropping',
        `SELECT shobj_description(oid, 'pg_database') AS marker FROM pg_database WHERE datname = ${sqlLiteral(name)}`,
        'postgres',
      )
    ).rows as Array<{ marker: string | null }>;
    if (!row) return;
    if (row.marker !== ownershipMarker(this.drillId))
      throw new Error(`refusing to drop database ${name}: it does not carry this drill's ownership marker`);
    await this.harness.sql('drop the scratch database', `DROP DATABASE ${sqlIdentifier(name)} WITH (FORCE)`, 'postgres');
  }
}
