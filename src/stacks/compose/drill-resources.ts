import { EnvironmentError } from '../../errors/drill-error.ts';
import type { DockerResult } from '../../docker/docker-result.ts';
import { lastLine, type DockerCli } from '../../docker/docker-cli.ts';

import { COMPOSE_PROJECT_LABEL as PROJECT_LABEL, DRILL_LABEL } from '../../safety/ownership-marker.ts';

export { DRILL_LABEL };

interface VolumeRow {
  name: string;
  labels: Record<string, string>;
}

interface ContainerRow {
  id: string;
  name: string;
  labels: Record<string, string>;
  volumes: string[];
}

/**
 * The Docker resources one compose drill may destroy: the project's containers, volumes and network
 * (checked absent before the drill starts, so they are ours), and whatever appeared during the
 * drill that carries its label or is a named volume a runbook block created (e.g. `nmai_pgdata`).
 * Anonymous volumes that appear meanwhile belong to other tools (testcontainers) and are left alone.
 */
export class DrillResources {
  private volumesBefore: Set<string> | undefined;
  private containersBefore: Set<string> | undefined;

  constructor(
    private readonly docker: DockerCli,
    readonly project: string,
    readonly drillId: string,
    /** Volumes a drill of this project creates by name; any that exists beforehand is not ours. */
    readonly guardedVolumes: readonly string[],
  ) {}

  /** Refuses to start on top of resources this drill did not create. */
  async refuseForeign(): Promise<void> {
    const [containers, volumes, networks] = await Promise.all([
      this.docker.run(['ps', '-a', '--filter', `label=${PROJECT_LABEL}=${this.project}`, '--format', '{{.Names}}']),
      this.docker.run(['volume', 'ls', '--format', '{{.Name}}\t{{.Labels}}']),
      this.docker.run(['network', 'ls', '--filter', `label=${PROJECT_LABEL}=${this.project}`, '--format', '{{.Name}}']),
    ]);
    for (const result of [containers, volumes, networks]) mustSucceed(result);
    const foreignVolumes = parseVolumes(volumes.stdout)
      .filter((volume) => volume.labels[PROJECT_LABEL] === this.project || this.guardedVolumes.includes(volume.name))
      .map((volume) => volume.name);
    const found = [
      ...lines(containers.stdout).map((name) => `container ${name}`),
      ...foreignVolumes.map((name) => `volume ${name}`),
      ...lines(networks.stdout).map((name) => `network ${name}`),
    ];
    if (found.length === 0) return;
    throw new EnvironmentError(
      `the Docker engine already has ${found.join(', ')}; a drill destroys only what it created, so it will not run on top of them`,
      {
        fix: `if they are left over from an earlier drill: docker compose -p ${this.project} down -v --remove-orphans${foreignVolumes.length > 0 ? `; docker volume rm ${foreignVolumes.join(' ')}` : ''}; if they belong to a real NMIA, drill on another engine (DOCKER_HOST) or with --stack emulated`,
      },
    );
  }

  /** What exists before the drill creates anything. */
  async snapshot(): Promise<void> {
    const [volumes, containers] = await Promise.all([
      this.docker.run(['volume', 'ls', '-q']),
      this.docker.run(['ps', '-aq', '--no-trunc']),
    ]);
    mustSucceed(volumes);
    mustSucceed(containers);
    this.volumesBefore = new Set(lines(volumes.stdout));
    this.containersBefore = new Set(lines(containers.stdout));
  }

  /** Volume names present before the drill created anything (after `snapshot`). */
  get volumesAtStart(): readonly string[] {
    return [...(this.volumesBefore ?? [])];
  }

  /** Removes the project and everything the drill created; returns what it removed. Throws after trying everything if something stays. */
  async teardown(): Promise<string[]> {
    const plan = this.removalPlan();
    for (let step = plan.next(); ; ) {
      if (step.done) return finish(step.value);
      step = plan.next(await this.docker.run(step.value.args, { cwd: '/', timeoutMs: step.value.timeoutMs }));
    }
  }

  /** The same at process exit, where nothing can be awaited. Best effort. */
  teardownSync(): void {
    try {
      const plan = this.removalPlan(0);
      for (let step = plan.next(); !step.done; )
        step = plan.next(this.docker.runSync(step.value.args, { cwd: '/', timeoutMs: step.value.timeoutMs }));
    } catch {
      // Nothing more can be done while the process exits.
    }
  }

  /** The teardown as a sequence of docker commands, each step fed the previous result: one plan for the async and the sync driver. */
  private *removalPlan(
    stopTimeoutS = 5,
  ): Generator<{ args: string[]; timeoutMs: number }, { removed: string[]; failures: string[] }, DockerResult> {
    const removed: string[] = [];
    const failures: string[] = [];
    const down = yield {
      args: ['compose', '-p', this.project, 'down', '-v', '--remove-orphans', '-t', String(stopTimeoutS)],
      timeoutMs: 120_000,
    };
    if (down.exitCode === 0) removed.push(`compose project ${this.project} (containers, volumes, network)`);
    else failures.push(`${down.command}: ${lastLine(down.stderr)}`);
    if (!this.volumesBefore || !this.containersBefore) return { removed, failures };
    const volumeList = yield { args: ['volume', 'ls', '--format', '{{.Name}}\t{{.Labels}}'], timeoutMs: 30_000 };
    const containerList = yield {
      args: ['ps', '-a', '--no-trunc', '--format', '{{.ID}}\t{{.Names}}\t{{.Labels}}\t{{.Mounts}}'],
      timeoutMs: 30_000,
    };
    const ours = (labels: Record<string, string>) => labels[DRILL_LABEL] === this.drillId || labels[PROJECT_LABEL] === this.project;
    const newContainers = parseContainers(containerList.stdout).filter((container) => !this.containersBefore!.has(container.id));
    const mountedByOurs = new Set(newContainers.filter((container) => ours(container.labels)).flatMap((container) => container.volumes));
    // Only what this drill can have made: its labels, a volume its own containers mount, or one named in the
    // runbook's blocks (e.g. the typo `nmai_pgdata`). Another volume that appeared meanwhile belongs to someone else.
    const volumes = parseVolumes(volumeList.stdout)
      .filter((volume) => !this.volumesBefore!.has(volume.name))
      .filter((volume) => ours(volume.labels) || mountedByOurs.has(volume.name) || this.guardedVolumes.includes(volume.name))
      .map((volume) => volume.name);
    const containers = newContainers.filter(
      (container) => ours(container.labels) || container.volumes.some((name) => volumes.includes(name)),
    );
    if (containers.length > 0) {
      const rm = yield { args: ['rm', '-f', '-v', ...containers.map((container) => container.id)], timeoutMs: 60_000 };
      if (rm.exitCode === 0) removed.push(...containers.map((container) => `container ${container.name}`));
      else failures.push(`${rm.command}: ${lastLine(rm.stderr)}`);
    }
    for (const name of volumes) {
      const rm = yield { args: ['volume', 'rm', name], timeoutMs: 30_000 };
      // An anonymous volume goes with its container (rm -v above): already gone is removed.
      if (rm.exitCode === 0 || /no such volume/i.test(rm.stderr)) removed.push(`volume ${name}`);
      else failures.push(`docker volume rm ${name}: ${lastLine(rm.stderr)}`);
    }
    return { removed, failures };
  }
}

function finish(result: { removed: string[]; failures: string[] }): string[] {
  if (result.failures.length > 0) throw new Error(`compose drill cleanup left resources behind: ${result.failures.join('; ')}`);
  return result.removed;
}

function mustSucceed(result: DockerResult): void {
  if (result.exitCode !== 0) {
    throw new EnvironmentError(`${result.command} failed (exit ${result.exitCode}): ${lastLine(result.stderr)}`, {
      fix: 'check that the Docker engine answers: docker info',
    });
  }
}

function lines(text: string): string[] {
  return text
    .split('\n')
    .map((line) => line.trim())
    .filter(Boolean);
}

function parseLabels(text: string): Record<string, string> {
  const labels: Record<string, string> = {};
  for (const pair of text.split(',')) {
    const at = pair.indexOf('=');
    if (at > 0) labels[pair.slice(0, at)] = pair.slice(at + 1);
  }
  return labels;
}

export function parseVolumes(text: string): VolumeRow[] {
  return lines(text).map((line) => {
    const [name = '', labels = ''] = line.split('\t');
    return { name, labels: parseLabels(labels) };
  });
}

export function parseContainers(text: string): ContainerRow[] {
  return lines(text).map((line) => {
    const [id = '', name = '', labels = '', mounts = ''] = line.split('\t');
    return { id, name, labels: parseLabels(labels), volumes: mounts.split(',').filter(Boolean) };
  });
}
