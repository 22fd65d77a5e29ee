import { describe, expect, it } from 'vitest';
import { uiProxyFailure } from './ui-proxy-diagnosis.ts';

describe('uiProxyFailure: why the UI could not reach the api, from its own log', () => {
  it("reads Vite 5's two-line proxy error (the real NMIA ui), colours and all", () => {
    const vite = [
      '\x1b[2m11:02:03 PM\x1b[22m \x1b[31m\x1b[1m[vite]\x1b[22m\x1b[39m \x1b[31mhttp proxy error: /api/v1/auth/login\x1b[39m',
      'Error: connect ECONNREFUSED ::1:8000',
      '    at TCPConnectWrap.afterConnect [as oncomplete] (node:net:1611:16)',
    ].join('\n');
    expect(uiProxyFailure(vite)).toEqual({ path: '/api/v1/auth/login', code: 'ECONNREFUSED', address: '::1:8000' });
  });

  it("reads the reference ui's one-line form", () => {
    expect(uiProxyFailure('http proxy error: /api/v1/auth/login: connect ECONNREFUSED 127.0.0.1:8000\n')).toEqual({
      path: '/api/v1/auth/login',
      code: 'ECONNREFUSED',
      address: '127.0.0.1:8000',
    });
  });

  it('finds nothing in a log without a proxy error (seeded: a UI that reached its api)', () => {
    expect(uiProxyFailure('VITE v5.4.21  ready in 412 ms\n  ➜  Local:   http://localhost:5173/\n')).toBeUndefined();
  });
});
