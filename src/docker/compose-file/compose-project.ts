import { existsSync, readFileSync } from 'node:fs';
import { basename, dirname, isAbsolute, join, resolve } from 'node:path';
import { parse } from 'yaml';
import { interpolate, parseDotEnv } from './interpolate.ts';

export interface ComposeVolumeMount {
  /** Named volume (unprefixed, as written) or absolute host path. */
  source: string;
  target: string;
  kind: 'volume' | 'bind';
}

export interface ComposePort {
  host: string;
  hostPort: number | undefined;
  containerPort: number;
}

export interface EmulatedServiceSpec {
  /** argv run as a local process; relative entries resolve against the compose file's directory. */
  command: string[];
  /** Port the process serves, if any; the emulated stack hands it a free one through this variable. */
  portEnv?: string;
}

export interface ComposeService {
  name: string;
  image: string;
  environment: Record<string, string>;
  volumes: ComposeVolumeMount[];
  ports: ComposePort[];
  dependsOn: string[];
  /** `build:` as the file gives it: the context directory (absolute) and the Dockerfile within it. */
  build?: { context: string; dockerfile: string };
  emulated?: EmulatedServiceSpec;
}

/** The file Compose reads next to the compose file when no -f is given. */
export const OVERRIDE_FILE_NAME = 'docker-compose.override.yml';
/** Compose's `!override` (replace a list instead of appending to it), read as a plain list. */
export const OVERRIDE_TAG = { tag: '!override', collection: 'seq' as const, resolve: (value: unknown) => value };

const COMPOSE_FILE_NAMES = ['compose.yaml', 'compose.yml', 'docker-compose.yaml', 'docker-compose.yml'];

/** Compose's own normalisation of a directory name into a project name. */
export function normalizeProjectName(name: string): string {
  return name.toLowerCase().replace(/[^a-z0-9_-]/g, '');
}

export class ComposeFileNotFound extends Error {
  override readonly name = 'ComposeFileNotFound';
}

/** The subset of a Compose project that the runbook's commands depend on, read as Compose reads it. */
export class ComposeProject {
  readonly name: string;
  readonly directory: string;
  readonly services: Map<string, ComposeService>;
  readonly volumes: string[];

  private constructor(
    readonly file: string,
    env: Record<string, string | undefined>,
    readsOverride: boolean,
  ) {
    this.directory = dirname(file);
    const dotEnvFile = join(this.directory, '.env');
    const dotEnv = existsSync(dotEnvFile) ? parseDotEnv(readFileSync(dotEnvFile, 'utf8')) : {};
    // As in Compose: the shell environment wins over .env.
    const variables = { ...dotEnv, ...env };
    const document = (parse(readFileSync(file, 'utf8')) ?? {}) as Record<string, unknown>;
    // As Compose does without -f: docker-compose.override.yml next to the file is read too (its image wins).
    const overrideFile = join(this.directory, OVERRIDE_FILE_NAME);
    const override =
      readsOverride && existsSync(overrideFile)
        ? ((parse(readFileSync(overrideFile, 'utf8'), { customTags: [OVERRIDE_TAG] }) ?? {}) as Record<string, unknown>)
        : {};
    const overriddenServices = (override.services ?? {}) as Record<string, Record<string, unknown>>;
    const explicitName = typeof document.name === 'string' ? document.name : undefined;
    this.name = normalizeProjectName(env.COMPOSE_PROJECT_NAME ?? explicitName ?? basename(this.directory));
    this.volumes = Object.keys((document.volumes as Record<string, unknown> | undefined) ?? {});
    this.services = new Map();
    const services = (document.services ?? {}) as Record<string, Record<string, unknown>>;
    for (const [name, raw] of Object.entries(services)) {
      const image = overriddenServices[name]?.image;
      this.services.set(name, this.readService(name, image === undefined ? raw : { ...raw, image }, variables));
    }
    // A service only the override defines is a service of the project too (the drill's directory on the real app).
    for (const [name, raw] of Object.entries(overriddenServices))
      if (!this.services.has(name)) this.services.set(name, this.readService(name, raw, variables));
  }

  /** Finds the compose file the way `docker compose` does: `-f`, else the working directory upwards. */
  static locate(cwd: string, explicitFile: string | undefined, env: Record<string, string | undefined>): ComposeProject {
    if (explicitFile) {
      const file = isAbsolute(explicitFile) ? explicitFile : resolve(cwd, explicitFile);
      if (!existsSync(file)) throw new ComposeFileNotFound(`open ${file}: no such file or directory`);
      return new ComposeProject(file, env, false);
    }
    for (let dir = resolve(cwd); ; dir = dirname(dir)) {
      const found = COMPOSE_FILE_NAMES.map((name) => join(dir, name)).find((candidate) => existsSync(candidate));
      if (found) return new ComposeProject(found, env, true);
      if (dirname(dir) === dir) break;
    }
    throw new ComposeFileNotFound('no configuration file provided: not found');
  }

  service(name: string): ComposeService | undefined {
    return this.services.get(name);
  }

  /** Compose prefixes named volumes with the project name: pgdata → nmia_pgdata. */
  volumeName(volume: string): string {
    return `${this.name}_${volume}`;
  }

  containerName(service: string): string {
    return `${this.name}-${service}-1`;
  }

  private readService(name: string, raw: Record<string, unknown>, variables: Record<string, string | undefined>): ComposeService {
    const text = (value: unknown): string => interpolate(String(value), variables);
    const environment: Record<string, string> = {};
    const env = raw.environment;
    if (Array.isArray(env)) {
      for (const entry of env) {
        const [key, ...rest] = text(entry).split('=');
        if (key) environment[key] = rest.join('=');
      }
    } else if (env && typeof env === 'object') {
      for (const [key, value] of Object.entries(env)) environment[key] = value === null ? (variables[key] ?? '') : text(value);
    }
    const volumes = ((raw.volumes as unknown[] | undefined) ?? []).map((entry): ComposeVolumeMount => {
      const [source = '', target = ''] = text(entry).split(':');
      const isPath = source.startsWith('/') || source.startsWith('.');
      return { source: isPath ? resolve(this.directory, source) : source, target, kind: isPath ? 'bind' : 'volume' };
    });
    const ports = ((raw.ports as unknown[] | undefined) ?? []).map((entry): ComposePort => {
      const parts = text(entry).split(':');
      const containerPort = Number(parts.at(-1));
      const hostPort = parts.length >= 2 ? Number(parts.at(-2)) || undefined : undefined;
      return { host: parts.length === 3 ? parts[0]! : '0.0.0.0', hostPort, containerPort };
    });
    const dependsOn = Array.isArray(raw.depends_on)
      ? raw.depends_on.map(String)
      : Object.keys((raw.depends_on as object | undefined) ?? {});
    const emulatedRaw = raw['x-emulated'] as { command?: unknown[]; port_env?: string } | undefined;
    const emulated = emulatedRaw?.command
      ? { command: emulatedRaw.command.map((part) => text(part)), ...(emulatedRaw.port_env ? { portEnv: emulatedRaw.port_env } : {}) }
      : undefined;
    // A service that only has `build:` runs the image Compose names <project>-<service> (built, or already present).
    const image = raw.image ?? (raw.build !== undefined ? `${this.name}-${name}` : '');
    const build = this.readBuild(raw.build, text);
    return {
      name,
      image: text(image),
      environment,
      volumes,
      ports,
      dependsOn,
      ...(build ? { build } : {}),
      ...(emulated ? { emulated } : {}),
    };
  }

  private readBuild(raw: unknown, text: (value: unknown) => string): ComposeService['build'] {
    if (typeof raw === 'string') return { context: resolve(this.directory, text(raw)), dockerfile: 'Dockerfile' };
    if (!raw || typeof raw !== 'object') return undefined;
    const { context, dockerfile } = raw as { context?: unknown; dockerfile?: unknown };
    return {
      context: resolve(this.directory, context === undefined ? '.' : text(context)),
      dockerfile: dockerfile === undefined ? 'Dockerfile' : text(dockerfile),
    };
  }
}
