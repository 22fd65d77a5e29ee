import { readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export interface VolumeRecord {
  name: string;
  /** The volume's contents, like /var/lib/docker/volumes/<name>/_data. */
  dir: string;
  createdAt: string;
  labels: Record<string, string>;
}

export interface MountRecord {
  type: 'volume' | 'bind';
  /** Volume name, or absolute host path for binds. */
  source: string;
  target: string;
}

export type ContainerStatus = 'created' | 'running' | 'exited';

export interface ContainerRecord {
  id: string;
  name: string;
  project?: string;
  service?: string;
  image: string;
  status: ContainerStatus;
  exitCode?: number;
  mounts: MountRecord[];
  /** The container's private filesystem: paths not under a mount live here. */
  rootfs: string;
  /** Short path: unix socket paths are limited to ~107 bytes. */
  socketDir?: string;
  pid?: number;
  /** containerPort → published host port on 127.0.0.1. */
  ports: Record<string, number>;
  logFile: string;
  createdAt: string;
}

/** Everything the emulated Docker engine knows, persisted between shim invocations. */
export interface ShimState {
  stateVersion: 1;
  owner: string;
  createdAt: string;
  /** Where the engine keeps volumes, container filesystems and logs. */
  root: string;
  pg: { binDir: string; uid?: number; gid?: number };
  /** Extra environment handed to emulated app services (e.g. the repo path for their commands). */
  serviceEnv: Record<string, string>;
  volumes: Record<string, VolumeRecord>;
  containers: Record<string, ContainerRecord>;
  /** Stable host ports per project/service/containerPort, so a recreated service keeps its address. */
  ports: Record<string, number>;
}

export const STATE_FILE = 'engine.json';

export function readShimState(root: string): ShimState {
  return JSON.parse(readFileSync(join(root, STATE_FILE), 'utf8')) as ShimState;
}

/** Atomic replace, so an interrupted shim never leaves half a state file. */
export function writeShimState(state: ShimState): void {
  const file = join(state.root, STATE_FILE);
  writeFileSync(`${file}.tmp`, `${JSON.stringify(state, null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
}
