import type pg from 'pg';
import type { ServiceLog } from '../shared/service-log.ts';
import { APP_CONNECTOR_TYPES, APP_ROLES } from '../../seed/nmia-seed-rows.ts';

// _seed_connector_types and _seed_roles of the real api's lifespan, verbatim: the same rows the seeder writes.
const CONNECTOR_TYPES = APP_CONNECTOR_TYPES;
const ROLES = APP_ROLES;

/**
 * What the real api does before it serves: adds the connector types and roles that are missing (a
 * restored database already has them, so nothing is written), and warns when no user exists. Like
 * the real one, it fails to start when the tables are not there.
 */
export class StartupSeed {
  static async run(pool: pg.Pool, log: ServiceLog): Promise<void> {
    for (const t of CONNECTOR_TYPES) {
      await pool.query(
        `INSERT INTO connector_types (id, code, name, description, created_at, updated_at)
         SELECT gen_random_uuid(), $1::varchar, $2, $3, now(), now() WHERE NOT EXISTS (SELECT 1 FROM connector_types WHERE code = $1::varchar)`,
        [t.code, t.name, t.description],
      );
    }
    for (const r of ROLES) {
      await pool.query(
        `INSERT INTO roles (id, name, description, created_at, updated_at)
         SELECT gen_random_uuid(), $1::varchar, $2, now(), now() WHERE NOT EXISTS (SELECT 1 FROM roles WHERE name = $1::varchar)`,
        [r.name, r.description],
      );
    }
    const { rows } = await pool.query<{ any: boolean }>('SELECT EXISTS (SELECT 1 FROM users) AS any');
    if (!rows[0]?.any) log.info("WARNING No users found. Run 'python -m nmia.bootstrap' to create the admin account.");
  }
}
