import pg from 'pg';
import { ComposeStack } from '/work/main/src/stacks/compose/compose-stack.ts';
import { Workspace } from '/work/main/src/stacks/workspace.ts';
import { cleanupRegistry } from '/work/main/src/lifecycle/cleanup-registry.ts';
const t0 = Date.now();
const ws = await Workspace.create('smoke' + Date.now().toString(36).slice(-4));
const stack = await ComposeStack.create({ workspace: ws, composeFile: '/work/main/fixtures/stack/docker-compose.yml', dotEnv: { DATABASE_URL: 'postgresql://nmia:nmia@db:5432/nmia', SECRET_KEY: 'x' }, reason: 'smoke' });
console.log('create', Date.now() - t0, 'ms');
try {
  let t = Date.now();
  const cfg = stack.dbClientConfig();
  console.log('dbClientConfig', Date.now() - t, 'ms', cfg.port);
  const c = new pg.Client(cfg); await c.connect(); console.log((await c.query('select version()')).rows[0]); await c.end();
  console.log(await stack.versions());
  t = Date.now();
  const up = await stack.docker(['compose', 'up', '-d']);
  console.log('up all', up.exitCode, Date.now() - t, 'ms', up.stderr.split('\n').slice(-3).join('|'));
  await new Promise((r) => setTimeout(r, 4000));
  console.log((await stack.docker(['compose', 'ps', '-a'])).stdout);
  console.log((await stack.docker(['compose', 'logs', '--tail', '3'])).stdout);
  const url = stack.serviceUrl('api', 8000);
  console.log(url, (await fetch(url + '/docs').catch((e) => ({ status: String(e) }))).status);
  t = Date.now();
  console.log('stop svc', (await stack.docker(['compose', 'stop', 'api', 'worker', 'collector'])).exitCode, Date.now() - t, 'ms');
} finally {
  const t = Date.now();
  await stack.stop();
  console.log('stop', Date.now() - t, 'ms', cleanupRegistry.pending);
}
