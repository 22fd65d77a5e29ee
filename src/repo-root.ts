import { fileURLToPath } from 'node:url';

/** The project's checkout, with a trailing slash: the runbook, the lock and the reference app's compose file live under it. */
export const REPO_ROOT = fileURLToPath(new URL('../', import.meta.url));
