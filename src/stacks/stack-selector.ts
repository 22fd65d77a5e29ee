import { execa } from 'execa';
import { EnvironmentError } from '../errors/drill-error.ts';
import type { StackKind } from './stack.ts';
import { lastLines } from '../exec/error-lines.ts';

export interface StackSelection {
  kind: StackKind;
  reason: string;
}

export interface DockerProbe {
  engine: boolean;
  engineDetail: string;
  composeV2: boolean;
  composeDetail: string;
  /** Of the images asked about, those the engine does not have (no registry is assumed: nothing is pulled). */
  missingImages: string[];
}

/** Asks the real docker CLI whether an engine answers, Compose v2 is present and the images are there. Never throws. */
export async function probeDocker(env: NodeJS.ProcessEnv = process.env, images: readonly string[] = []): Promise<DockerProbe> {
  const engine = await execa('docker', ['version', '--format', '{{.Server.Version}}'], {
    env,
    reject: false,
    timeout: 10_000,
    stdin: 'ignore',
  }).catch(() => undefined);
  const compose = await execa('docker', ['compose', 'version', '--short'], { env, reject: false, timeout: 10_000, stdin: 'ignore' }).catch(
    () => undefined,
  );
  const engineOk = engine?.exitCode === 0 && String(engine.stdout).trim().length > 0;
  const composeVersion = compose?.exitCode === 0 ? String(compose.stdout).trim().replace(/^v/, '') : '';
  const missingImages: string[] = [];
  if (engineOk) {
    for (const image of images) {
      const inspected = await execa('docker', ['image', 'inspect', '--format', '{{.Id}}', image], {
        env,
        reject: false,
        timeout: 10_000,
        stdin: 'ignore',
      }).catch(() => undefined);
      if (inspected?.exitCode !== 0) missingImages.push(image);
    }
  }
  return {
    missingImages,
    engine: engineOk,
    engineDetail: engineOk
      ? `Docker engine ${String(engine!.stdout).trim()}`
      : engine === undefined
        ? 'no docker CLI on PATH'
        : `no Docker engine answered (${lastLines(String(engine.stderr), 1)})`,
    composeV2: /^2\./.test(composeVersion),
    composeDetail: composeVersion ? `Compose ${composeVersion}` : 'no Compose v2 plugin (`docker compose version` failed)',
  };
}

/**
 * `auto` picks compose when a Docker engine answers, Compose v2 is present and the stack's images are
 * there, and emulated otherwise, saying why. `--stack compose` insists (missing images then fail its preflight).
 */
export async function selectStack(
  requested: 'auto' | StackKind,
  composeSupported: boolean,
  options: { probe?: DockerProbe; images?: readonly string[] } = {},
): Promise<StackSelection> {
  if (requested === 'emulated') return { kind: 'emulated', reason: 'requested with --stack emulated' };
  const docker = options.probe ?? (await probeDocker(process.env, requested === 'auto' ? (options.images ?? []) : []));
  const dockerReady = docker.engine && docker.composeV2;
  if (requested === 'compose') {
    if (!docker.engine)
      throw new EnvironmentError(`--stack compose needs Docker, but ${docker.engineDetail}`, {
        fix: 'start the Docker daemon (or set DOCKER_HOST), or run with --stack emulated',
      });
    if (!docker.composeV2)
      throw new EnvironmentError(`--stack compose needs Compose v2, but found ${docker.composeDetail}`, {
        fix: 'install the docker-compose-plugin (Compose v2), or run with --stack emulated',
      });
    if (!composeSupported)
      throw new EnvironmentError('--stack compose is not available in this build of nmia-drill', { fix: 'run with --stack emulated' });
    return { kind: 'compose', reason: `requested with --stack compose (${docker.engineDetail}, ${docker.composeDetail})` };
  }
  if (dockerReady && composeSupported && docker.missingImages.length > 0) {
    return {
      kind: 'emulated',
      reason: `auto: ${docker.engineDetail} and ${docker.composeDetail} found, but the engine lacks ${docker.missingImages.join(', ')}; using the emulated stack (build the images, e.g. .ci/provision-docker.sh, for the compose stack)`,
    };
  }
  if (dockerReady && composeSupported) return { kind: 'compose', reason: `auto: ${docker.engineDetail} and ${docker.composeDetail} found` };
  if (dockerReady)
    return {
      kind: 'emulated',
      reason: `auto: ${docker.engineDetail} found, but this build has no compose stack; using the emulated stack`,
    };
  return { kind: 'emulated', reason: `auto: ${docker.engine ? docker.composeDetail : docker.engineDetail}; using the emulated stack` };
}
