import { join } from 'node:path';
import type { MountRecord } from './shim-state.ts';

export interface ResolvedMount {
  target: string;
  hostPath: string;
}

/** Maps paths as seen inside a container onto the host: mounts first (longest target wins), else the rootfs. */
export class PathMapper {
  private readonly mounts: ResolvedMount[];

  constructor(
    readonly rootfs: string,
    mounts: ResolvedMount[],
    /** Further host → container text replacements for messages (e.g. the socket's port). */
    private readonly rewrites: ReadonlyArray<readonly [string, string]> = [],
  ) {
    this.mounts = [...mounts].sort((a, b) => b.target.length - a.target.length);
  }

  static forMounts(
    rootfs: string,
    mounts: MountRecord[],
    volumeDir: (name: string) => string,
    extra: ResolvedMount[] = [],
    rewrites: ReadonlyArray<readonly [string, string]> = [],
  ): PathMapper {
    return new PathMapper(
      rootfs,
      [
        ...mounts.map((mount) => ({ target: mount.target, hostPath: mount.type === 'volume' ? volumeDir(mount.source) : mount.source })),
        ...extra,
      ],
      rewrites,
    );
  }

  toHost(containerPath: string): string {
    for (const mount of this.mounts) {
      if (containerPath === mount.target) return mount.hostPath;
      if (containerPath.startsWith(`${mount.target}/`)) return join(mount.hostPath, containerPath.slice(mount.target.length));
    }
    return join(this.rootfs, containerPath);
  }

  /** Rewrites absolute paths in argv (`/tmp/x`, `--file=/tmp/x`); anything else passes through. */
  mapArgs(args: readonly string[]): string[] {
    return args.map((arg) => {
      if (arg.startsWith('/')) return this.toHost(arg);
      const option = /^(--?[A-Za-z][A-Za-z0-9-]*=)(\/.*)$/.exec(arg);
      return option ? `${option[1]}${this.toHost(option[2]!)}` : arg;
    });
  }

  /** Turns host paths in messages back into the container paths the operator typed. */
  toContainerText(text: string): string {
    let result = text;
    for (const [from, to] of this.rewrites) result = result.split(from).join(to);
    for (const mount of this.mounts) result = result.split(mount.hostPath).join(mount.target);
    return result.split(`${this.rootfs}/`).join('/').split(this.rootfs).join('/');
  }
}
