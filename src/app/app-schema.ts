/**
 * The real NMIA has no migrations: its schema is whatever `Base.metadata.create_all` makes of its
 * SQLAlchemy models (its own tests do exactly this, api/tests/conftest.py). The drill does the same,
 * inside the app's api image with the app's own DATABASE_URL, as a recorded harness action.
 * Importing nmia.main loads every router and so every model module, as the running api does.
 */
export const CREATE_ALL_SCRIPT = [
  'import nmia.main',
  'from nmia.core.db import Base, engine',
  'Base.metadata.create_all(bind=engine)',
  'print(" ".join(sorted(Base.metadata.tables)))',
].join('\n');

/** `docker compose …` arguments: a one-off api container (no dependencies started), removed afterwards. */
export function createAllCommand(service = 'api'): string[] {
  return ['compose', 'run', '--rm', '--no-deps', '-T', service, 'python', '-c', CREATE_ALL_SCRIPT];
}

/** The table names create_all printed (its last line of output). */
export function createdTables(stdout: string): string[] {
  const last = stdout.trim().split('\n').at(-1) ?? '';
  return last.split(' ').filter((name) => /^[a-z_][a-z0-9_]*$/.test(name));
}
