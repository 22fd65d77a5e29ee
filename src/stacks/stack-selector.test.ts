import { describe, expect, it } from 'vitest';
import { announceSkip, dockerAvailability } from '../docker/docker-availability.ts';
import { composeImages } from './compose/compose-images.ts';
import { REFERENCE_COMPOSE_FILE } from './reference-app.ts';
import { probeDocker, selectStack, type DockerProbe } from './stack-selector.ts';

const ready: DockerProbe = {
  engine: true,
  engineDetail: 'Docker engine 26.1.5',
  composeV2: true,
  composeDetail: 'Compose 2.26.1',
  missingImages: [],
};

describe('selectStack', () => {
  it('auto picks compose when the engine, Compose v2 and every image are there', async () => {
    expect(await selectStack('auto', true, { probe: ready })).toEqual({
      kind: 'compose',
      reason: 'auto: Docker engine 26.1.5 and Compose 2.26.1 found',
    });
  });

  it('auto falls back to the emulated stack, saying which images are missing, instead of failing later', async () => {
    const selection = await selectStack('auto', true, { probe: { ...ready, missingImages: ['nmia-drill/node:20'] } });
    expect(selection.kind).toBe('emulated');
    expect(selection.reason).toMatch(/the engine lacks nmia-drill\/node:20; using the emulated stack \(build the images/);
  });

  it('auto without an engine or without Compose v2 uses the emulated stack and says why', async () => {
    expect(await selectStack('auto', true, { probe: { ...ready, engine: false, engineDetail: 'no Docker engine answered' } })).toEqual({
      kind: 'emulated',
      reason: 'auto: no Docker engine answered; using the emulated stack',
    });
    expect(
      (await selectStack('auto', true, { probe: { ...ready, composeV2: false, composeDetail: 'no Compose v2 plugin' } })).reason,
    ).toMatch(/no Compose v2 plugin; using the emulated stack/);
  });

  it('--stack compose without Docker is an environment error (exit 3) with a fix', async () => {
    await expect(
      selectStack('compose', true, { probe: { ...ready, engine: false, engineDetail: 'no Docker engine answered' } }),
    ).rejects.toMatchObject({
      exitCode: 3,
      message: '--stack compose needs Docker, but no Docker engine answered',
      fix: expect.stringContaining('--stack emulated'),
    });
  });

  it('knows every image the reference compose stack needs', () => {
    expect(composeImages(REFERENCE_COMPOSE_FILE, {}).sort()).toEqual(['alpine:latest', 'nmia-drill/node:20', 'postgres:15']);
  });
});

const docker = await dockerAvailability(['alpine:latest']);
describe.skipIf(!docker.available)(`probeDocker against the engine${announceSkip('probeDocker', docker)}`, () => {
  it('names the images the engine does not have, and only those', async () => {
    const probe = await probeDocker(process.env, ['alpine:latest', 'nmia-drill/not-built-here:0']);
    expect(probe).toMatchObject({ engine: true, composeV2: true, missingImages: ['nmia-drill/not-built-here:0'] });
  });
});
