import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ProcedureContext } from '../../src/drill/procedure-context.ts';

/** What the UI's dev server said when it could not forward a request to the api. */
export interface UiProxyFailure {
  /** The request path it tried to forward, e.g. /api/v1/auth/login. */
  path: string;
  /** The address nothing answered on, e.g. 127.0.0.1:8000. */
  address: string;
  /** ECONNREFUSED, ENOTFOUND, … */
  code: string;
}

/**
 * Vite's dev proxy logs `http proxy error: <path>` and then the socket error (`connect ECONNREFUSED 127.0.0.1:8000`),
 * on the same line or the next; the reference UI logs it the same way.
 */
export function uiProxyFailure(uiLog: string): UiProxyFailure | undefined {
  const plain = uiLog.replace(/\x1b\[[0-9;]*m/g, '');
  const match =
    /http proxy error:?\s+(\/[^\s:]*):?\s[\s\S]{0,300}?\b(ECONNREFUSED|ENOTFOUND|EAI_AGAIN|ETIMEDOUT|EHOSTUNREACH)\s+(\S+)/.exec(plain);
  return match ? { path: match[1]!, code: match[2]!, address: match[3]! } : undefined;
}

const LOOPBACK = /^(127\.|\[?::1\]?|localhost)/;

/**
 * The concrete fix for a UI that cannot sign in because its dev proxy points at itself: NMIA's ui/vite.config.ts
 * sends /api to http://localhost:8000, which inside the ui container is the ui. Quotes the app's own file when the
 * project has it (an app repository); the reference models the same file. Undefined when the log says otherwise.
 */
export async function uiProxyFix(
  context: ProcedureContext,
): Promise<{ suggestedFix: string; evidence: Record<string, unknown> } | undefined> {
  const log = (await context.stack.docker(['compose', 'logs', '--no-log-prefix', 'ui'])).stdout;
  const failure = uiProxyFailure(log);
  if (!failure || !LOOPBACK.test(failure.address)) return undefined;
  const config = ['vite.config.ts', 'vite.config.js', 'vite.config.mjs']
    .map((name) => join('ui', name))
    .find((file) => existsSync(join(context.projectDir, file)));
  const lines = config ? readFileSync(join(context.projectDir, config), 'utf8').split('\n') : [];
  const at = lines.findIndex((line) => /target\s*:\s*['"]https?:\/\/(localhost|127\.0\.0\.1)/.test(line));
  const where =
    config && at >= 0 ? `${config}:${at + 1} (\`${lines[at]!.trim()}\`)` : "NMIA's ui/vite.config.ts (server.proxy['/api'].target)";
  return {
    evidence: {
      uiLog: `http proxy error: ${failure.path}: ${failure.code} ${failure.address}`,
      ...(config && at >= 0 ? { config: `${config}:${at + 1}` } : {}),
    },
    suggestedFix:
      `In ${where}, point the /api proxy at the api service: target: 'http://api:8000' (its service name in docker-compose.yml). ` +
      `The UI's dev server forwards ${failure.path} to ${failure.address}, which inside the ui container is the ui itself (${failure.code}).`,
  };
}
