import { join } from 'node:path';
import { REPO_ROOT } from '../repo-root.ts';

/*
 * The one module of src/ that knows where the reference NMIA app lives (nmia/reference-app/, nmia/directory/).
 * The stacks start it from here; nothing else in src/ reaches into that room (biome.json enforces it for imports).
 */

/** The reference app's compose file: the project both stacks start. */
export const REFERENCE_COMPOSE_FILE = join(REPO_ROOT, 'nmia', 'reference-app', 'docker-compose.yml');

/** The reference app's services and the fixture directory, as the emulated stack bundles and runs them. */
export const REFERENCE_SERVICE_ENTRIES: Record<string, string> = {
  api: join(REPO_ROOT, 'nmia', 'reference-app', 'api', 'main.ts'),
  worker: join(REPO_ROOT, 'nmia', 'reference-app', 'worker', 'main.ts'),
  collector: join(REPO_ROOT, 'nmia', 'reference-app', 'collector', 'main.ts'),
  ui: join(REPO_ROOT, 'nmia', 'reference-app', 'ui', 'main.ts'),
  directory: join(REPO_ROOT, 'nmia', 'directory', 'main.ts'),
};
