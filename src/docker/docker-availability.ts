import { DrillError } from '../errors/drill-error.ts';
import { DockerCli, dockerClientEnv } from './docker-cli.ts';
import { DockerPreflight } from './docker-preflight.ts';

export interface DockerAvailability {
  available: boolean;
  /** Why tests that need Docker are skipped: printed, so a skip is never mistaken for a pass. */
  reason: string;
}

/** Whether tests can use a real Docker engine with Compose v2 and the given local images. Never throws. */
export async function dockerAvailability(images: readonly string[]): Promise<DockerAvailability> {
  const docker = new DockerCli({ PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/root', ...dockerClientEnv() }, '/');
  try {
    const versions = await new DockerPreflight(docker).check(images);
    return { available: true, reason: `Docker Engine ${versions.engine}, Compose ${versions.compose}, ${versions.storageDriver}` };
  } catch (error) {
    const reason = error instanceof DrillError ? `${error.message} (fix: ${error.fix})` : (error as Error).message;
    return { available: false, reason };
  }
}

/** Prints why a Docker suite is skipped; returns the describe title suffix. */
export function announceSkip(suite: string, availability: DockerAvailability): string {
  if (availability.available) return '';
  process.stderr.write(`[skipped] ${suite}: needs a Docker engine: ${availability.reason}\n`);
  return ` [skipped: no usable Docker engine: ${availability.reason}]`;
}
