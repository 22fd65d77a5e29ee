import type pg from 'pg';
import { HttpError } from '../shared/http-error.ts';

interface Assignment {
  role: string;
  enclaveId: string | null;
}

/**
 * The signed-in user and what the real rbac (nmia/auth/rbac.py) lets them see: a user holding a role
 * named `admin` in any assignment sees every enclave; anyone else only their assignments' enclaves.
 * The bootstrap's `GlobalAdmin` is not `admin` there, and is not here either.
 */
export class CallerAccess {
  private constructor(
    readonly userId: string,
    readonly username: string,
    private readonly assignments: Assignment[],
  ) {}

  static async load(pool: pg.Pool, username: string): Promise<CallerAccess> {
    const users = await pool.query<{ id: string; is_active: boolean }>('SELECT id, is_active FROM users WHERE username = $1 LIMIT 1', [
      username,
    ]);
    const user = users.rows[0];
    if (!user?.is_active) throw new HttpError(401, 'invalid_token', 'User not found or inactive', { 'www-authenticate': 'Bearer' });
    const { rows } = await pool.query<{ role: string; enclave_id: string | null }>(
      'SELECT r.name AS role, ure.enclave_id FROM user_role_enclaves ure JOIN roles r ON r.id = ure.role_id WHERE ure.user_id = $1',
      [user.id],
    );
    return new CallerAccess(
      user.id,
      username,
      rows.map((row) => ({ role: row.role, enclaveId: row.enclave_id })),
    );
  }

  get isAdmin(): boolean {
    return this.assignments.some((a) => a.role === 'admin');
  }

  /** get_user_enclaves: every enclave for an admin, else the assignments' enclave ids (a NULL one matches nothing). */
  async enclaveIds(pool: pg.Pool): Promise<string[]> {
    if (this.isAdmin) return (await pool.query<{ id: string }>('SELECT id FROM enclaves')).rows.map((row) => row.id);
    return [...new Set(this.assignments.map((a) => a.enclaveId).filter((id): id is string => id !== null))];
  }

  /** require_role: 403 unless some assignment holds one of `roles`. */
  requireRole(...roles: string[]): void {
    if (this.assignments.some((a) => roles.includes(a.role))) return;
    throw new HttpError(403, 'forbidden', `One of the following roles is required: ${roles.join(', ')}`);
  }

  /** require_enclave_access: admins always; others need an assignment in the enclave. */
  requireEnclaveAccess(enclaveId: string): void {
    if (this.isAdmin || this.assignments.some((a) => a.enclaveId === enclaveId)) return;
    throw new HttpError(403, 'forbidden', 'You do not have access to this enclave');
  }

  /** require_enclave_role: admins always; others need one of `roles` in that enclave. */
  requireEnclaveRole(enclaveId: string, ...roles: string[]): void {
    if (this.isAdmin || this.assignments.some((a) => a.enclaveId === enclaveId && roles.includes(a.role))) return;
    throw new HttpError(403, 'forbidden', `Requires one of [${roles.join(', ')}] in this enclave`);
  }
}
