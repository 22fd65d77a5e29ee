import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { ComposeProject } from '../../docker/compose-file/compose-project.ts';
import { announceSkip, dockerAvailability } from '../../docker/docker-availability.ts';
import { DockerCli, dockerClientEnv } from '../../docker/docker-cli.ts';
import { EnvironmentError } from '../../errors/drill-error.ts';
import { AppImageBuild, baseImages } from './app-image-build.ts';

const docker = await dockerAvailability(['alpine:latest']);
const suffix = announceSkip('AppImageBuild', docker);
const cli = new DockerCli({ PATH: process.env.PATH ?? '', ...dockerClientEnv() }, '/');

/** An app whose api builds from its own Dockerfile, in a project of its own (never `nmia`). */
async function appWith(dockerfile: string): Promise<ComposeProject> {
  const dir = await mkdtemp(join(tmpdir(), 'nmia-drill-build-'));
  dirs.push(dir);
  await mkdir(join(dir, 'api'));
  await writeFile(join(dir, 'api', 'Dockerfile'), dockerfile);
  const name = `nmia-drill-build-${process.pid}-${dirs.length}`;
  await writeFile(join(dir, 'docker-compose.yml'), `name: ${name}\nservices:\n  api:\n    build: ./api\n  db:\n    image: alpine:latest\n`);
  images.push(`${name}-api`);
  return ComposeProject.locate(dir, undefined, {});
}
const dirs: string[] = [];
const images: string[] = [];
afterAll(async () => {
  if (docker.available) await cli.run(['image', 'rm', '-f', ...images]);
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

describe.skipIf(!docker.available)(`AppImageBuild: the app's own Dockerfiles, when its images are missing${suffix}`, () => {
  it('builds a missing image with docker compose build, records it, and is not applicable once the image is there', async () => {
    const project = await appWith('FROM alpine:latest\nRUN echo built-by-the-drill > /built\n');
    const steps: string[] = [];
    const build = new AppImageBuild(cli, (message) => steps.push(message));
    const outcome = await build.ensure(project);
    expect(outcome).toMatchObject({
      applicable: true,
      action: {
        command: 'docker compose build --progress plain api',
        exitCode: 0,
        purpose: expect.stringMatching(/-api built from the app's own Dockerfiles/),
      },
    });
    expect(steps).toEqual([expect.stringMatching(/^building nmia-drill-build-\d+-1-api from the app's Dockerfiles/)]);
    // The image is the one Compose runs for the service, holding what its Dockerfile made.
    const run = await cli.run(['run', '--rm', project.service('api')!.image, 'cat', '/built']);
    expect(run.stdout.trim()).toBe('built-by-the-drill');
    expect(await build.ensure(project)).toEqual({ applicable: false, reason: expect.stringMatching(/every built image is present/) });
  });

  it('fails with the cause and the base image to provide when the Dockerfile starts from an image no registry serves here', async () => {
    const project = await appWith('FROM nmia-drill-no-such-base:1.0\nRUN true\n');
    const error = (await new AppImageBuild(cli).ensure(project).catch((caught: unknown) => caught)) as EnvironmentError;
    expect(error).toBeInstanceOf(EnvironmentError);
    expect(error.message).toMatch(/^docker compose build api failed \(exit \d+\): .*nmia-drill-no-such-base/);
    expect(error.fix).toMatch(/give the engine the base image nmia-drill-no-such-base:1\.0 \(docker load/);
  });
});

describe('baseImages', () => {
  it('names the images FROM lines start from, not the build stages a Dockerfile names itself', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'nmia-drill-build-'));
    dirs.push(dir);
    const file = join(dir, 'Dockerfile');
    await writeFile(
      file,
      'FROM node:20-alpine AS ui\nRUN true\nFROM --platform=linux/amd64 python:3.12-slim\nCOPY --from=ui /a /a\nFROM ui\n',
    );
    expect(baseImages(file)).toEqual(['node:20-alpine', 'python:3.12-slim']);
    expect(baseImages(join(dir, 'missing'))).toEqual([]);
  });
});
