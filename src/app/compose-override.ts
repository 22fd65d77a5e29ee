import { readFileSync } from 'node:fs';
import { Document, parse, type YAMLSeq } from 'yaml';

/** One thing the harness adds to the app's compose file to run it here, with the reason; recorded in the journal. */
export interface ComposeAddition {
  /** `services.db.image`, `volumes.pgdata.labels`, … */
  path: string;
  value: unknown;
  reason: string;
  /** For an image stand-in: the image the app's file names. */
  replaces?: string;
}

export interface ComposeOverride {
  /** The file Compose reads next to the app's own (docker-compose.override.yml). */
  yaml: string;
  additions: ComposeAddition[];
}

export interface OverrideOptions {
  drillId: string;
  /** Whether an image exists on the engine (no registry: whatever is missing cannot be pulled). */
  imageExists: (image: string) => boolean;
  /** Local stand-ins for images no registry can serve here, e.g. postgres:16-alpine → nmia-drill/postgres:17. */
  substitutes: Record<string, { image: string; why: string }>;
  /** Extra per-service additions (e.g. the directory network for the connector scan). */
  extra?: ComposeAddition[];
}

export const OVERRIDE_FILE = 'docker-compose.override.yml';
export const DRILL_LABEL = 'org.nmia-drill.drill';

type RawService = { image?: unknown; build?: unknown; ports?: unknown[] };

/** `8000:8000` → `127.0.0.1:8000:8000`; an address already given is kept; a bare container port gets a loopback host. */
function loopbackPort(port: unknown): string | undefined {
  if (typeof port === 'number') return `127.0.0.1::${port}`;
  if (typeof port !== 'string') return undefined;
  const parts = port.split(':');
  if (parts.length === 1) return `127.0.0.1::${port}`;
  if (parts.length === 2) return `127.0.0.1:${port}`;
  return undefined;
}

/**
 * The smallest override that runs the app's own compose file here. Each addition is declared with its
 * reason, and none changes what the runbook's blocks test: services, volume names, commands,
 * environment and host ports stay as the file has them.
 */
export function composeOverride(composeFile: string, options: OverrideOptions): ComposeOverride {
  return composeOverrideOf(readFileSync(composeFile, 'utf8'), options);
}

/** The same from the file's text (plan reads it from git without a checkout). */
export function composeOverrideOf(composeText: string, options: OverrideOptions): ComposeOverride {
  const document = (parse(composeText) ?? {}) as {
    services?: Record<string, RawService>;
    volumes?: Record<string, unknown>;
  };
  const additions: ComposeAddition[] = [];
  for (const [name, service] of Object.entries(document.services ?? {})) {
    const image = typeof service.image === 'string' ? service.image : undefined;
    const substitute = image ? options.substitutes[image] : undefined;
    if (image && !options.imageExists(image) && substitute) {
      additions.push({ path: `services.${name}.image`, value: substitute.image, reason: substitute.why, replaces: image });
    }
    additions.push({
      path: `services.${name}.pull_policy`,
      value: 'never',
      reason: 'no image registry is reachable here: a missing image must fail at once instead of trying to pull',
    });
    const ports = (service.ports ?? []).map((port) => ({ written: port, loopback: loopbackPort(port) }));
    if (ports.some((port) => port.loopback !== undefined && port.loopback !== port.written)) {
      additions.push({
        path: `services.${name}.ports`,
        value: ports.map((port) => port.loopback ?? port.written),
        reason: 'the same host ports, published on 127.0.0.1 only: the file publishes them on every interface',
      });
    }
    additions.push({
      path: `services.${name}.labels`,
      value: { [DRILL_LABEL]: options.drillId },
      reason: "marks the drill's containers, so its cleanup removes only what it made",
    });
  }
  for (const volume of Object.keys(document.volumes ?? {})) {
    additions.push({
      path: `volumes.${volume}.labels`,
      value: { [DRILL_LABEL]: options.drillId },
      reason: "marks the drill's volume, so its cleanup and the ownership guard know it is the drill's own",
    });
  }
  additions.push(...(options.extra ?? []));
  return { yaml: renderOverride(additions), additions };
}

/** The override with more additions (e.g. the directory once the seeded connectors name their servers). */
export function extendOverride(override: ComposeOverride, extra: readonly ComposeAddition[]): ComposeOverride {
  const additions = [...override.additions, ...extra.filter((addition) => !override.additions.some((a) => a.path === addition.path))];
  return { yaml: renderOverride(additions), additions };
}

/** Lists replace the file's own (`!override`), as Compose would otherwise append ports to ports. */
function renderOverride(additions: readonly ComposeAddition[]): string {
  const document = new Document({});
  for (const addition of additions) {
    const path = addition.path.split('.');
    const node = document.createNode(addition.value);
    if (Array.isArray(addition.value)) (node as YAMLSeq).tag = '!override';
    document.setIn(path, node);
  }
  return `# Written by nmia-drill: what running the app's own docker-compose.yml here needs (each reason is in the drill's journal).\n${document.toString()}`;
}
