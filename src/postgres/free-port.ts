import { readFileSync } from 'node:fs';
import { createServer } from 'node:net';

/** Where the drill's own ports come from when the kernel's ephemeral range cannot be read. */
const FALLBACK_EPHEMERAL_LOW = 32768;
const LOWEST = 10000;
const TRIES = 50;

/** The lower bound of the kernel's ephemeral port range (Linux: ip_local_port_range). */
function ephemeralLow(): number {
  try {
    const low = Number(readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/)[0]);
    return Number.isInteger(low) && low > LOWEST + 1000 ? low : FALLBACK_EPHEMERAL_LOW;
  } catch {
    return FALLBACK_EPHEMERAL_LOW;
  }
}

function listenOn(port: number): Promise<number | undefined> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(undefined));
    server.listen(port, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : undefined));
    });
  });
}

/**
 * A free loopback port below the kernel's ephemeral range. A service may give its port up and take it back (the
 * emulated stack's stop/start keeps each service's port): a port from the ephemeral range can meanwhile become
 * the source port of any outgoing connection on the machine, and the restart fails with EADDRINUSE. Ports below
 * the range are never handed out that way. Falls back to the kernel's choice when none is found.
 */
export async function freePort(): Promise<number> {
  const high = ephemeralLow() - 1;
  for (let attempt = 0; attempt < TRIES; attempt += 1) {
    const port = await listenOn(LOWEST + Math.floor(Math.random() * (high - LOWEST + 1)));
    if (port !== undefined) return port;
  }
  const port = await listenOn(0);
  if (port === undefined) throw new Error('no free loopback port');
  return port;
}
