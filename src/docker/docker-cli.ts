import { spawnSync } from 'node:child_process';
import { execa } from 'execa';
import type { DockerResult } from './docker-result.ts';

/** Variables that tell the docker CLI which engine to talk to: passed through to blocks and the harness alike. */
export const DOCKER_CLIENT_VARIABLES = [
  'DOCKER_HOST',
  'DOCKER_CONTEXT',
  'DOCKER_CONFIG',
  'DOCKER_CERT_PATH',
  'DOCKER_TLS_VERIFY',
  'DOCKER_API_VERSION',
] as const;

export function dockerClientEnv(env: NodeJS.ProcessEnv = process.env): Record<string, string> {
  const picked: Record<string, string> = {};
  for (const name of DOCKER_CLIENT_VARIABLES) {
    const value = env[name];
    if (value) picked[name] = value;
  }
  return picked;
}

/** Where the engine is, for messages: the socket or URL the CLI uses. */
export function engineAddress(env: Record<string, string | undefined>): string {
  return env.DOCKER_HOST ?? (env.DOCKER_CONTEXT ? `context ${env.DOCKER_CONTEXT}` : 'unix:///var/run/docker.sock');
}

export interface DockerRunOptions {
  cwd?: string;
  timeoutMs?: number;
  input?: string;
}

/** The real docker CLI with a fixed environment; never throws for a non-zero exit (the result says it). */
export class DockerCli {
  constructor(
    readonly env: Record<string, string>,
    private readonly defaultCwd: string,
  ) {}

  async run(args: readonly string[], options: DockerRunOptions = {}): Promise<DockerResult> {
    const started = Date.now();
    const result = await execa('docker', args, {
      cwd: options.cwd ?? this.defaultCwd,
      env: this.env,
      extendEnv: false,
      reject: false,
      ...(options.input === undefined ? { stdin: 'ignore' as const } : { input: options.input }),
      ...(options.timeoutMs ? { timeout: options.timeoutMs } : {}),
    });
    const spawnFailure = result.exitCode === undefined && !result.timedOut ? `${result.shortMessage}\n` : '';
    return {
      command: `docker ${args.join(' ')}`,
      exitCode: result.exitCode ?? (result.timedOut ? 124 : 127),
      stdout: String(result.stdout ?? ''),
      stderr: String(result.stderr ?? '') + spawnFailure,
      durationMs: Date.now() - started,
    };
  }

  /** For synchronous callers (dbClientConfig) and process-exit cleanup, where nothing can be awaited. */
  runSync(args: readonly string[], options: DockerRunOptions = {}): DockerResult {
    const started = Date.now();
    const result = spawnSync('docker', args, {
      cwd: options.cwd ?? this.defaultCwd,
      env: this.env,
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
      timeout: options.timeoutMs ?? 30_000,
    });
    return {
      command: `docker ${args.join(' ')}`,
      exitCode: result.status ?? (result.error ? 127 : 124),
      stdout: result.stdout ?? '',
      stderr: (result.stderr ?? '') + (result.error ? `${result.error.message}\n` : ''),
      durationMs: Date.now() - started,
    };
  }
}

/** The last meaningful line of a command's stderr, for one-line errors. */
export function lastLine(text: string): string {
  return (
    text
      .split('\n')
      .map((line) => line.trim())
      .filter((line) => line && !/IPv4 forwarding is disabled/.test(line))
      .at(-1) ?? ''
  );
}
