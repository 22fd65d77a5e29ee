import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { ComposeProject } from '../../docker/compose-file/compose-project.ts';
import { lastLine, type DockerCli } from '../../docker/docker-cli.ts';
import { DockerPreflight, PROVISION_HINT } from '../../docker/docker-preflight.ts';
import { EnvironmentError } from '../../errors/drill-error.ts';
import type { HarnessAction } from '../../evidence/journal.ts';

/** What building the app's images came to: nothing to build, or the build that ran (a harness action for the journal). */
export type AppImageBuildOutcome = { applicable: false; reason: string } | { applicable: true; action: HarnessAction };

const BUILD_TIMEOUT_MS = 30 * 60_000;

/**
 * The app's own Dockerfiles, as they are: `docker compose build` for every service whose image the engine
 * lacks and whose compose entry has `build:`. Not applicable when every such image is present (built by
 * .ci/provision-docker.sh here, or by an earlier run). A build that fails (no registry for its base
 * images, as here) is an EnvironmentError naming the base images to provide.
 */
export class AppImageBuild {
  constructor(
    private readonly cli: DockerCli,
    private readonly onStep: (message: string) => void = () => undefined,
  ) {}

  /** `only`: the services whose images are needed (default: every service). */
  async ensure(project: ComposeProject, only?: readonly string[]): Promise<AppImageBuildOutcome> {
    const buildable = [...project.services.values()].filter(
      (service) => service.build !== undefined && (only === undefined || only.includes(service.name)),
    );
    if (buildable.length === 0) return { applicable: false, reason: 'no service of the compose file has build:' };
    const absent = new Set(await new DockerPreflight(this.cli).missingImages(buildable.map((service) => service.image)));
    const missing = buildable.filter((service) => absent.has(service.image));
    if (missing.length === 0)
      return { applicable: false, reason: `every built image is present: ${buildable.map((service) => service.image).join(', ')}` };
    const names = missing.map((service) => service.name);
    this.onStep(
      `building ${missing.map((service) => service.image).join(', ')} from the app's Dockerfiles (docker compose build ${names.join(' ')})`,
    );
    const args = ['compose', 'build', '--progress', 'plain', ...names];
    const result = await this.cli.run(args, { cwd: project.directory, timeoutMs: BUILD_TIMEOUT_MS });
    if (result.exitCode !== 0) {
      const bases = [...new Set(missing.flatMap((service) => baseImages(join(service.build!.context, service.build!.dockerfile))))];
      throw new EnvironmentError(
        `docker compose build ${names.join(' ')} failed (exit ${result.exitCode}): ${causeLine(`${result.stdout}\n${result.stderr}`) || 'no output'}`,
        {
          fix: `give the engine the base image${bases.length === 1 ? '' : 's'} ${bases.join(', ') || 'its Dockerfiles name'} (docker load, or a reachable registry), or build the app's images without a registry: ${PROVISION_HINT}`,
        },
      );
    }
    return {
      applicable: true,
      action: {
        purpose: `images: ${missing.map((service) => service.image).join(', ')} built from the app's own Dockerfiles (missing on the engine)`,
        command: `docker ${args.join(' ')}`,
        exitCode: result.exitCode,
        durationMs: result.durationMs,
      },
    };
  }
}

/** The images a Dockerfile's FROM lines start from (build stages it names itself excluded). */
export function baseImages(dockerfile: string): string[] {
  if (!existsSync(dockerfile)) return [];
  const stages = new Set<string>();
  const bases: string[] = [];
  for (const line of readFileSync(dockerfile, 'utf8').split('\n')) {
    const from = /^\s*FROM\s+(?:--platform=\S+\s+)?(\S+)(?:\s+AS\s+(\S+))?/i.exec(line);
    if (!from) continue;
    if (!stages.has(from[1]!.toLowerCase())) bases.push(from[1]!);
    if (from[2]) stages.add(from[2].toLowerCase());
  }
  return bases;
}

/** BuildKit names the cause on its step's "#N ERROR:" line, then repeats it at length on "failed to solve". */
function causeLine(output: string): string {
  const lines = output.split('\n').map((line) => line.trim());
  const step = lines.findLast((line) => /^#\d+ ERROR: /.test(line))?.replace(/^#\d+ /, '');
  return (step ?? lines.findLast((line) => /failed to solve|^ERROR\b|error:/i.test(line)) ?? lastLine(output)).slice(0, 300);
}
