import { execa } from 'execa';
import { EnvironmentError } from '../errors/drill-error.ts';
import { engineAddress, lastLine, type DockerCli } from './docker-cli.ts';

export const PROVISION_HINT = '.ci/provision-docker.sh, then: source /run/nmia-drill-docker.env';

export interface DockerVersions {
  engine: string;
  compose: string;
  storageDriver: string;
}

/**
 * What the compose stack needs before it touches anything: an engine that answers, Compose v2, and
 * every image present locally (a missing image would send Docker to a registry, which fails here).
 */
export class DockerPreflight {
  constructor(private readonly docker: DockerCli) {}

  async check(images: readonly string[]): Promise<DockerVersions> {
    const engine = await this.engine();
    const compose = await this.composeV2();
    await this.images(images);
    return { ...engine, compose };
  }

  async engine(): Promise<{ engine: string; storageDriver: string }> {
    const result = await this.docker.run(['version', '--format', '{{.Server.Version}}'], { timeoutMs: 15_000 });
    if (result.exitCode === 127) {
      throw new EnvironmentError('no docker CLI on PATH', {
        fix: `install Docker (on Debian here: ${PROVISION_HINT}), or run with --stack emulated`,
      });
    }
    const version = result.stdout.trim();
    if (result.exitCode !== 0 || !version) {
      throw new EnvironmentError(
        `Docker is installed but no engine answers at ${engineAddress(this.docker.env)}: ${lastLine(result.stderr) || `exit ${result.exitCode}`}`,
        {
          fix: `start the Docker daemon (here: ${PROVISION_HINT}), or point DOCKER_HOST at a running engine, or run with --stack emulated`,
        },
      );
    }
    const info = await this.docker.run(['info', '--format', '{{.Driver}}'], { timeoutMs: 15_000 });
    return { engine: version, storageDriver: info.stdout.trim() || 'unknown' };
  }

  async composeV2(): Promise<string> {
    const result = await this.docker.run(['compose', 'version', '--short'], { timeoutMs: 15_000 });
    const version = result.stdout.trim().replace(/^v/, '');
    if (result.exitCode === 0 && /^2\./.test(version)) return version;
    const legacy = await runLegacyCompose(this.docker.env);
    const fix = `install the Compose v2 CLI plugin (here: ${PROVISION_HINT}), or run with --stack emulated`;
    if (legacy) {
      throw new EnvironmentError(
        `only Compose v1 (docker-compose ${legacy}) is installed; the runbook's "docker compose" commands need Compose v2`,
        { fix },
      );
    }
    if (result.exitCode === 0) throw new EnvironmentError(`Compose ${version || '(unknown version)'} is not v2`, { fix });
    throw new EnvironmentError(
      `no Docker Compose v2 plugin: "docker compose version" failed (${lastLine(result.stderr) || `exit ${result.exitCode}`})`,
      { fix },
    );
  }

  /** The images the engine lacks, in one `docker image inspect`. */
  async missingImages(images: readonly string[]): Promise<string[]> {
    const wanted = [...new Set(images)];
    if (wanted.length === 0) return [];
    const result = await this.docker.run(['image', 'inspect', '--format', '{{.Id}}', ...wanted], { timeoutMs: 30_000 });
    if (result.exitCode === 0) return [];
    const missing = wanted.filter((image) => result.stderr.includes(`No such image: ${image}`));
    if (missing.length === 0) {
      throw new EnvironmentError(`docker image inspect failed: ${lastLine(result.stderr) || `exit ${result.exitCode}`}`, {
        fix: 'check that the Docker engine answers: docker info',
      });
    }
    return missing;
  }

  async images(images: readonly string[]): Promise<void> {
    const missing = await this.missingImages(images);
    if (missing.length === 0) return;
    throw new EnvironmentError(
      `image ${missing.join(', ')} not found in the Docker engine, and the drill pulls nothing (pull_policy: never)`,
      {
        fix: `build the images: ${PROVISION_HINT} (or docker load/pull them yourself)`,
      },
    );
  }
}

/** `docker-compose` (v1) version, when only the legacy tool is there. */
async function runLegacyCompose(env: Record<string, string>): Promise<string | undefined> {
  const result = await execa('docker-compose', ['version', '--short'], {
    env,
    extendEnv: false,
    reject: false,
    stdin: 'ignore',
    timeout: 15_000,
  }).catch(() => undefined);
  const version = result?.exitCode === 0 ? String(result.stdout).trim() : '';
  return /^1\./.test(version) ? version : undefined;
}
