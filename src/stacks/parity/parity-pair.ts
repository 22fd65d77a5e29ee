import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { ComposeStack } from '../compose/compose-stack.ts';
import { EmulatedStack } from '../emulated/emulated-stack.ts';
import type { DockerResult } from '../../docker/docker-result.ts';
import type { StartedStack } from '../stack.ts';
import { Workspace } from '../workspace.ts';

/** A db like the drill's, plus a long-running app service (a process on the shim, a container on Docker). */
export const PARITY_COMPOSE = `services:
  db:
    image: postgres:15
    pull_policy: never
    environment:
      POSTGRES_USER: nmia
      POSTGRES_PASSWORD: nmia
      POSTGRES_DB: nmia
    volumes:
      - pgdata:/var/lib/postgresql/data
    ports:
      - "127.0.0.1::5432"
    healthcheck:
      test: ["CMD-SHELL", "pg_isready -U nmia -d nmia"]
      interval: 1s
      timeout: 5s
      retries: 30
  ticker:
    image: nmia-drill/node:20
    pull_policy: never
    init: true
    command: ["node", "-e", "console.log('tick started'); process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000);"]
    x-emulated:
      command: ["${process.execPath}", "-e", "console.log('tick started'); process.on('SIGTERM', () => process.exit(0)); setInterval(() => {}, 1000);"]
  sleeper:
    image: nmia-drill/node:20
    pull_policy: never
    init: true
    command: ["node", "-e", "setInterval(() => {}, 1000);"]
    x-emulated:
      command: ["${process.execPath}", "-e", "setInterval(() => {}, 1000);"]
  crasher:
    image: nmia-drill/node:20
    pull_policy: never
    init: true
    command: ["node", "-e", "console.error('giving up'); process.exit(3);"]
    x-emulated:
      command: ["${process.execPath}", "-e", "console.error('giving up'); process.exit(3);"]
volumes:
  pgdata:
`;

export const PARITY_IMAGES = ['postgres:15', 'alpine:latest', 'nmia-drill/node:20'];

export interface Normalized {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export type Side = 'emulated' | 'docker';

/**
 * The same command on the emulated shim and on real Docker, each in its own `nmia` project.
 * Outputs are normalized only where they must differ: container ids, each side's workspace path,
 * Compose's progress lines and the engine's 'IPv4 forwarding is disabled' warning.
 */
export class ParityPair {
  private constructor(
    readonly emulated: EmulatedStack,
    readonly docker: ComposeStack,
    private readonly scratch: string,
  ) {}

  static async start(): Promise<ParityPair> {
    const scratch = await mkdtemp(join(tmpdir(), 'nmia-parity-'));
    const composeFile = join(scratch, 'docker-compose.yml');
    await writeFile(composeFile, PARITY_COMPOSE);
    const emulated = await EmulatedStack.create({
      workspace: await Workspace.create('parityemu'),
      composeFile,
      dotEnv: {},
      reason: 'parity suite',
    });
    try {
      const docker = await ComposeStack.create({
        workspace: await Workspace.create('paritydkr'),
        composeFile,
        dotEnv: {},
        reason: 'parity suite',
        startDb: false,
      });
      return new ParityPair(emulated, docker, scratch);
    } catch (error) {
      await emulated.stop();
      await rm(scratch, { recursive: true, force: true });
      throw error;
    }
  }

  stack(side: Side): StartedStack {
    return side === 'emulated' ? this.emulated : this.docker;
  }

  /** `$WS` in an argument stands for the side's workspace root (e.g. a bind-mount source). */
  async run(...args: string[]): Promise<Record<Side, Normalized>> {
    const [emulated, docker] = await Promise.all((['emulated', 'docker'] as const).map((side) => this.runOn(side, args)));
    return { emulated: emulated!, docker: docker! };
  }

  async runOn(side: Side, args: string[]): Promise<Normalized> {
    const stack = this.stack(side);
    const root = stack.workspace.root;
    const result = await stack.docker(args.map((arg) => arg.split('$WS').join(root)));
    return normalize(result, root);
  }

  /** Until the db accepts connections (the harness's view), or the timeout. */
  async waitForDb(side: Side, timeoutMs = 60_000): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    let last: unknown;
    while (Date.now() < deadline) {
      try {
        await tryConnect(this.stack(side));
        return;
      } catch (error) {
        last = error;
        await new Promise((resolve) => setTimeout(resolve, 100));
      }
    }
    throw new Error(`${side}: db not ready within ${timeoutMs} ms: ${(last as Error)?.message}`);
  }

  /** Named volumes among `names` that exist on the side's engine. */
  async volumes(side: Side, names: readonly string[]): Promise<string[]> {
    const result = await this.runOn(side, ['volume', 'ls', '-q']);
    return result.stdout
      .split('\n')
      .filter((name) => names.includes(name))
      .sort();
  }

  async stop(): Promise<void> {
    await Promise.allSettled([this.emulated.stop(), this.docker.stop()]);
    await rm(this.scratch, { recursive: true, force: true });
  }
}

export async function tryConnect(stack: StartedStack): Promise<void> {
  const client = new pg.Client({ ...stack.dbClientConfig('nmia'), connectionTimeoutMillis: 2_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
  } finally {
    await client.end().catch(() => undefined);
  }
}

const PROGRESS =
  /^\s*(?:(?:Container|Network|Volume)\s+"?[\w.-]+"?\s+(?:Creating|Created|Starting|Started|Stopping|Stopped|Removing|Removed|Running|Recreate|Recreated|Waiting|Healthy)|\S+\s+copy\s.+\s(?:Copying|Copied))\s*$/;
const IPV4_WARNING = /IPv4 forwarding is disabled\. Networking will not work\./;

export function normalize(result: DockerResult, workspaceRoot: string): Normalized {
  const clean = (text: string, dropProgress: boolean) =>
    text
      .split(workspaceRoot)
      .join('$WS')
      .replace(/\b[0-9a-f]{64}\b/g, '<id>')
      .split('\n')
      .filter((line) => line.trim() !== '' && !IPV4_WARNING.test(line) && !(dropProgress && PROGRESS.test(line)))
      .join('\n');
  return { exitCode: result.exitCode, stdout: clean(result.stdout, false), stderr: clean(result.stderr, true) };
}

/** `docker compose ps` rows as (name, service, state, exit code), whatever columns each side prints. */
export function psRows(stdout: string): string[] {
  const [header, ...rows] = stdout.split('\n').filter((line) => line.trim());
  if (!header) return [];
  const column = (name: string) => header.indexOf(name);
  const cell = (row: string, name: string) => {
    const start = column(name);
    const next = ['NAME', 'IMAGE', 'COMMAND', 'SERVICE', 'CREATED', 'STATUS', 'PORTS']
      .map(column)
      .filter((at) => at > start)
      .sort((a, b) => a - b)[0];
    return row.slice(start, next ?? undefined).trim();
  };
  return rows.map((row) => {
    const status = cell(row, 'STATUS');
    const state = status.startsWith('Up') ? 'Up' : (/^Exited \(\d+\)/.exec(status)?.[0] ?? status);
    return `${cell(row, 'NAME')} ${cell(row, 'SERVICE')} ${state}`;
  });
}
