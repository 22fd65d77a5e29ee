import pg from 'pg';

/**
 * A connected client that survives its server going away: without an 'error' listener, pg turns a
 * terminated connection (a restore, a disaster, an interrupted drill) into a process crash. The
 * failure still surfaces on the next query.
 */
export async function connectPg(config: pg.ClientConfig): Promise<pg.Client> {
  const client = new pg.Client(config);
  client.on('error', () => undefined);
  await client.connect();
  return client;
}
