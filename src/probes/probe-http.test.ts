import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ProbeFailure } from './probe-failure.ts';
import { ProbeHttp } from './probe-http.ts';

describe('ProbeHttp against a real local server', () => {
  let server: Server;
  let base: string;

  beforeAll(async () => {
    server = createServer((req, res) => {
      if (req.url === '/broken') {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ error: 'internal', detail: 'database unreachable' }));
      } else if (req.url === '/cut') {
        res.writeHead(200, { 'content-type': 'text/plain', 'content-length': '100' });
        res.write('partial');
        setTimeout(() => res.socket?.destroy(), 20);
      } else {
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end(JSON.stringify({ method: req.method, authorization: req.headers.authorization ?? null }));
      }
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    base = `http://127.0.0.1:${(server.address() as { port: number }).port}`;
  });

  afterAll(async () => {
    await new Promise((resolve) => server.close(resolve));
  });

  const failureOf = async (promise: Promise<unknown>): Promise<ProbeFailure> => {
    try {
      await promise;
    } catch (error) {
      if (error instanceof ProbeFailure) return error;
      throw error;
    }
    throw new Error('expected a ProbeFailure');
  };

  it('sends the bearer token but never shows it, nor userinfo or the fragment, in the URL it reports', async () => {
    const reply = await new ProbeHttp(2_000).request('POST', `${base}/x#password=secret-in-fragment`, { token: 'tok-123456', json: {} });
    expect(JSON.parse(reply.text)).toEqual({ method: 'POST', authorization: 'Bearer tok-123456' });
    expect(reply.displayUrl).toBe(`${base}/x`);
    expect(ProbeHttp.displayUrl('http://user:pw@host:8000/docs?a=1#frag')).toBe('http://host:8000/docs?a=1');
  });

  it("names the status and the server's own error text when the status is wrong", async () => {
    const reply = await new ProbeHttp(2_000).request('GET', `${base}/broken`);
    const failure = await failureOf(Promise.resolve().then(() => ProbeHttp.expectStatus(reply, 200)));
    expect(failure).toMatchObject({
      outcome: 'failed',
      message: `GET ${base}/broken: HTTP 500 internal: database unreachable, expected 200`,
    });
  });

  it('fails on a response cut short, and on nothing listening, with one-line causes', async () => {
    const cut = await failureOf(new ProbeHttp(2_000).request('GET', `${base}/cut`, { service: 'api' }));
    expect(cut.outcome).toBe('failed');
    expect(cut.message).toMatch(
      new RegExp(`^GET ${base}/cut: (connection closed before the response body was complete|connection reset by the server)$`),
    );
    const refused = await failureOf(new ProbeHttp(2_000).request('GET', 'http://127.0.0.1:1/health', { service: 'api' }));
    expect(refused.message).toBe('GET http://127.0.0.1:1/health: connection refused (is the api running?)');
  });
});
