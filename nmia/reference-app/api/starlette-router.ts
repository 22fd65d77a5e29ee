import type { IncomingMessage, ServerResponse } from 'node:http';
import { HttpError } from '../shared/http-error.ts';

export type RouteHandler = (req: IncomingMessage, res: ServerResponse, params: Record<string, string>, url: URL) => Promise<void>;

interface Route {
  method: string;
  pattern: RegExp;
  names: string[];
  handler: RouteHandler;
}

/**
 * Routing as the real api's Starlette 0.46 does it (docs/reference-app.md, "Routing details"):
 * a full match runs; a path known with another method is 405 with Allow; a path known only with or
 * without a trailing slash is a 307 to the absolute other URL; anything else is 404.
 */
export class StarletteRouter {
  private readonly routes: Route[] = [];

  add(method: string, path: string, handler: RouteHandler): this {
    const names: string[] = [];
    const source = path.replace(/[.*+?^$()|[\]\\]/g, '\\$&').replace(/\{(\w+)\}/g, (_, name: string) => {
      names.push(name);
      return '([^/]+)';
    });
    this.routes.push({ method, pattern: new RegExp(`^${source}$`), names, handler });
    return this;
  }

  async dispatch(req: IncomingMessage, res: ServerResponse, url: URL): Promise<void> {
    // Starlette answers HEAD wherever it answers GET.
    const method = req.method === 'HEAD' ? 'GET' : (req.method ?? 'GET');
    const path = url.pathname;
    const matching = this.routes.filter((route) => route.pattern.test(path));
    const full = matching.find((route) => route.method === method);
    if (full) return full.handler(req, res, params(full, path), url);
    if (matching.length > 0) {
      const allow = [...new Set(matching.map((route) => route.method))].join(', ');
      throw new HttpError(405, 'method_not_allowed', 'Method Not Allowed', { allow });
    }
    if (path !== '/') {
      const other = path.endsWith('/') ? path.replace(/\/+$/, '') : `${path}/`;
      if (this.routes.some((route) => route.pattern.test(other))) {
        const host = req.headers.host ?? 'localhost';
        res.writeHead(307, { location: `http://${host}${other}${url.search}`, 'content-length': '0' });
        res.end();
        return;
      }
    }
    throw new HttpError(404, 'not_found', 'Not Found');
  }
}

function params(route: Route, path: string): Record<string, string> {
  const match = route.pattern.exec(path);
  return Object.fromEntries(route.names.map((name, index) => [name, decodeURIComponent(match?.[index + 1] ?? '')]));
}
