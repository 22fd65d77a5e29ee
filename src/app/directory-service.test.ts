import { parse } from 'yaml';
import { describe, expect, it } from 'vitest';
import { composeOverrideOf, extendOverride } from './compose-override.ts';
import { composeDatabaseUrl, directoryServiceAdditions } from './directory-service.ts';

describe('the directory service in the override', () => {
  it('answers as every server the connectors dial, on the compose network, labelled and recorded', () => {
    const base = composeOverrideOf('services:\n  db:\n    image: postgres:16-alpine\n', {
      drillId: 'd1',
      imageExists: () => true,
      substitutes: {},
    });
    const extra = directoryServiceAdditions({
      drillId: 'd1',
      repoRoot: '/repo/',
      databaseUrl: composeDatabaseUrl({ POSTGRES_USER: 'nmia', POSTGRES_PASSWORD: 'nmia', POSTGRES_DB: 'nmia' }),
      servers: ['dc2.b.example', 'dc1.a.example', 'dc2.b.example'],
    });
    const extended = extendOverride(base, extra);
    // Extending twice adds nothing twice (a rebuilt environment writes it again).
    expect(extendOverride(extended, extra).additions).toHaveLength(extended.additions.length);
    const directory = (parse(extended.yaml) as { services: Record<string, Record<string, unknown>> }).services.directory!;
    expect(directory).toMatchObject({
      image: 'nmia-drill/node:20',
      pull_policy: 'never',
      volumes: ['/repo:/repo:ro'],
      environment: { DATABASE_URL: 'postgresql://nmia:nmia@db:5432/nmia', PORT: '389', TLS_PORT: '636' },
      labels: { 'org.nmia-drill.drill': 'd1' },
      networks: { default: { aliases: ['dc1.a.example', 'dc2.b.example'] } },
    });
    expect(extra[0]!.reason).toMatch(/2 server name\(s\) the connectors dial: dc1\.a\.example, dc2\.b\.example/);
  });
});
