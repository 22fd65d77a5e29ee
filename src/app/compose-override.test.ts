import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parse } from 'yaml';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { composeOverride } from './compose-override.ts';

/** The real NMIA's compose file at 3e1062f3, in the parts the override touches. */
const APP_COMPOSE = `services:
  db:
    image: postgres:16-alpine
    ports:
      - "5432:5432"
    volumes:
      - pgdata:/var/lib/postgresql/data
  api:
    build: ./api
    ports:
      - "8000:8000"
  worker:
    build: ./worker
volumes:
  pgdata:
`;

let dir: string;
let file: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'nmia-override-'));
  file = join(dir, 'docker-compose.yml');
  await writeFile(file, APP_COMPOSE);
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

const options = {
  drillId: 'abcd1234',
  imageExists: (image: string) => image !== 'postgres:16-alpine',
  substitutes: { 'postgres:16-alpine': { image: 'nmia-drill/postgres:17', why: 'no registry; Debian has no PostgreSQL 16' } },
};

describe('the compose override', () => {
  it('substitutes only an image the engine lacks, publishes the same host ports on loopback, and labels everything', () => {
    const override = composeOverride(file, options);
    const yaml = parse(override.yaml, { customTags: [{ tag: '!override', collection: 'seq', resolve: (value: unknown) => value }] });
    expect(yaml.services.db.image).toBe('nmia-drill/postgres:17');
    expect(yaml.services.db.ports).toEqual(['127.0.0.1:5432:5432']);
    expect(yaml.services.api.ports).toEqual(['127.0.0.1:8000:8000']);
    expect(yaml.services.api.image).toBeUndefined();
    expect(yaml.services.worker.ports).toBeUndefined();
    for (const service of ['db', 'api', 'worker']) {
      expect(yaml.services[service].pull_policy).toBe('never');
      expect(yaml.services[service].labels).toEqual({ 'org.nmia-drill.drill': 'abcd1234' });
    }
    expect(yaml.volumes.pgdata.labels).toEqual({ 'org.nmia-drill.drill': 'abcd1234' });
  });

  it('replaces port lists rather than appending to them, and gives every addition a reason', () => {
    const override = composeOverride(file, options);
    expect(override.yaml).toMatch(/ports: !override\n\s+- 127\.0\.0\.1:5432:5432/);
    expect(override.additions.every((addition) => addition.reason.length > 20)).toBe(true);
    expect(override.additions.map((addition) => addition.path)).toContain('services.db.image');
  });

  it('keeps the image the file names when the engine has it', () => {
    const override = composeOverride(file, { ...options, imageExists: () => true });
    expect(override.additions.map((addition) => addition.path)).not.toContain('services.db.image');
  });
});
