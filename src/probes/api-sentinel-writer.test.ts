import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ApiSentinelWriter } from './api-sentinel-writer.ts';

/** The real api's enclave routes as far as the writer uses them: POST creates (201), GET lists; a bearer token is required. */
const enclaves: Array<{ id: string; name: string; created_at: string }> = [];
let refuse = false;
const server = http.createServer((request, response) => {
  if (request.headers.authorization !== 'Bearer t0k3n' || refuse) {
    response.writeHead(refuse ? 500 : 401, { 'content-type': 'application/json' }).end('{"detail":"no"}');
    return;
  }
  if (request.method === 'POST') {
    let body = '';
    request.on('data', (chunk: Buffer) => (body += chunk.toString()));
    request.on('end', () => {
      const created = {
        id: `e${enclaves.length}`,
        name: (JSON.parse(body) as { name: string }).name,
        created_at: new Date().toISOString(),
      };
      enclaves.push(created);
      response.writeHead(201, { 'content-type': 'application/json' }).end(JSON.stringify(created));
    });
    return;
  }
  response
    .writeHead(200, { 'content-type': 'application/json' })
    .end(JSON.stringify([{ id: 'x', name: 'other', created_at: 'x' }, ...enclaves]));
});
let apiUrl = '';
beforeAll(async () => {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));

describe('ApiSentinelWriter (RPO writes through the app api)', () => {
  it('creates numbered enclaves, knows the newest acknowledged, and finds the newest one the api lists', async () => {
    const writer = await ApiSentinelWriter.start({ apiUrl, token: 't0k3n', prefix: 'rpo-', intervalMs: 20 });
    while ((writer.newest()?.id ?? 0) < 3) await new Promise((resolve) => setTimeout(resolve, 10));
    await writer.pause();
    const newest = writer.newest()!;
    await writer.stop();
    expect(enclaves.map((e) => e.name).slice(0, 3)).toEqual(['rpo-1', 'rpo-2', 'rpo-3']);
    const latest = await ApiSentinelWriter.latest(apiUrl, 't0k3n', 'rpo-');
    expect(latest).toEqual({ id: enclaves.length, writtenAt: enclaves.at(-1)!.created_at });
    expect(latest!.id).toBeGreaterThanOrEqual(newest.id);
    expect(await ApiSentinelWriter.latest(apiUrl, 't0k3n', 'none-')).toBeUndefined();
  });

  it('rides out the api failing for a while: failures are counted with their cause, and writing goes on', async () => {
    const writer = await ApiSentinelWriter.start({ apiUrl, token: 't0k3n', prefix: 'gap-', intervalMs: 20 });
    const until = async (check: () => boolean) => {
      for (const deadline = Date.now() + 10_000; !check(); await new Promise((resolve) => setTimeout(resolve, 10)))
        if (Date.now() > deadline) throw new Error('timed out');
    };
    try {
      refuse = true;
      await until(() => writer.stats().failed >= 2);
      refuse = false;
      const acknowledged = writer.stats().acknowledged;
      await until(() => writer.stats().acknowledged >= acknowledged + 2);
      const stats = await writer.stop();
      expect(stats.lastFailure).toMatch(/HTTP 500/);
      expect(stats.attempted).toBe(stats.acknowledged + stats.failed);
      expect(stats.longestGapMs).toBeGreaterThanOrEqual(40);
      expect(writer.newestAcknowledgedBy(new Date())).toEqual(stats.newest);
    } finally {
      refuse = false;
      await writer.stop();
    }
  });

  it('refuses to start when the first write fails', async () => {
    refuse = true;
    await expect(ApiSentinelWriter.start({ apiUrl, token: 't0k3n', prefix: 'rpo-' })).rejects.toThrow(
      /api sentinel writer: POST .* HTTP 500/,
    );
    refuse = false;
  });
});
