import { open, readdir, stat } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { END_OF_BLOCK, parseTrace } from './bash-tracer.ts';

/** A host directory where a block's files grow, and how an operator names it (`./backups`, `db:/tmp`). */
export interface WatchedDir {
  dir: string;
  shownAs: string;
}

export interface BlockActivityListener {
  /** The command bash started, as its trace records it (before redaction: the caller redacts). */
  onCommand?(text: string): void;
  /** A file that appeared or changed size since the block started; `totalBytes` when it is a copy of a known file. */
  onBytes?(label: string, bytes: number, totalBytes?: number): void;
}

export interface BlockActivityWatcherOptions {
  /** The block's trace file (bash appends one line per command). */
  traceFile: string;
  /** Re-read at every poll: a block may start the very service whose filesystem it then copies into. */
  dirs: () => WatchedDir[];
  listener: BlockActivityListener;
  intervalMs?: number;
}

const DEFAULT_INTERVAL_MS = 250;
/** Only the new end of a trace is read: a long loop's trace never passes through the heap whole. */
const MAX_TRACE_READ = 64 * 1024;
const MAX_DEPTH = 2;
const MAX_FILES = 500;

/**
 * Watches a running block from the outside, for progress display only: the command it is on (the
 * tail of its trace) and the size of dumps and copies growing in the given directories. It polls with
 * async stat/readdir on a timer that never keeps the process alive, never overlaps itself, and stops
 * with the block; it reads nothing the block writes to and cannot change what the block does.
 */
export class BlockActivityWatcher {
  private timer: NodeJS.Timeout | undefined;
  private polling: Promise<void> | undefined;
  private stopped = false;
  private traceOffset = 0;
  private partialLine = '';
  private lastCommand: { text: string; cwd: string } | undefined;
  private copy: { command: string; source: { path: string; bytes: number } | undefined } | undefined;
  /** Sizes of the files the block copied (the trace shows commands unexpanded: `cp a "$B.partial"; mv "$B.partial" "$B"`). */
  private readonly copiedSizes = new Set<number>();
  private readonly sizes = new Map<string, number>();

  constructor(private readonly options: BlockActivityWatcherOptions) {}

  /** Takes the baseline (files already there are not progress), then polls until stop(). */
  async start(): Promise<void> {
    this.traceOffset = (await stat(this.options.traceFile).catch(() => undefined))?.size ?? 0;
    for (const file of await this.listFiles()) this.sizes.set(file.path, file.size);
    this.schedule();
  }

  /**
   * Stops polling; a last look at the trace and the files reports the final sizes (a bar ends where
   * the file did, even for a copy shorter than one poll, with the copy's total).
   */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) clearTimeout(this.timer);
    await this.polling;
    await this.pollTrace().catch(() => undefined);
    await this.pollFiles().catch(() => undefined);
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = setTimeout(() => {
      this.polling = this.poll().finally(() => {
        this.polling = undefined;
        this.schedule();
      });
    }, this.options.intervalMs ?? DEFAULT_INTERVAL_MS);
    this.timer.unref();
  }

  private async poll(): Promise<void> {
    // Progress display must never fail a drill: a file vanishing between readdir and stat is normal.
    await this.pollTrace().catch(() => undefined);
    if (!this.stopped) await this.pollFiles().catch(() => undefined);
  }

  private async pollTrace(): Promise<void> {
    const size = (await stat(this.options.traceFile).catch(() => undefined))?.size;
    if (size === undefined) return;
    if (size < this.traceOffset) {
      // The runner truncated it for this run: start over.
      this.traceOffset = 0;
      this.partialLine = '';
    }
    if (size === this.traceOffset) return;
    const from = Math.max(this.traceOffset, size - MAX_TRACE_READ);
    const skipped = from > this.traceOffset;
    const handle = await open(this.options.traceFile, 'r');
    let text: string;
    try {
      const buffer = Buffer.alloc(size - from);
      const { bytesRead } = await handle.read(buffer, 0, buffer.length, from);
      text = buffer.subarray(0, bytesRead).toString('utf8');
      this.traceOffset = from + bytesRead;
    } finally {
      await handle.close();
    }
    const lines = (skipped ? text : this.partialLine + text).split('\n');
    // After a skip the first line is a fragment; the last one may still be being written.
    if (skipped) lines.shift();
    this.partialLine = lines.pop() ?? '';
    const commands = parseTrace(lines.filter((line) => line.length > 0).join('\n')).filter((line) => line.command !== END_OF_BLOCK);
    for (const { command, cwd } of commands) await this.followCopies(command, cwd);
    const last = commands.at(-1);
    if (!last || last.command === this.lastCommand?.text) return;
    this.lastCommand = { text: last.command, cwd: last.cwd };
    this.options.listener.onCommand?.(last.command);
  }

  private async pollFiles(): Promise<void> {
    const files = await this.listFiles();
    const changed = files.filter((file) => this.sizes.get(file.path) !== file.size);
    for (const file of changed) this.sizes.set(file.path, file.size);
    if (changed.length === 0) return;
    const source = await this.copySource();
    for (const file of changed) {
      // A copy too quick for any poll, renamed at once: a file exactly the size of a copied source is that copy.
      const total = source && source.path !== file.path ? source.bytes : this.copiedSizes.has(file.size) ? file.size : undefined;
      this.options.listener.onBytes?.(file.label, file.size, total);
    }
  }

  private async followCopies(command: string, cwd: string): Promise<void> {
    const operand = copySourceOf(command);
    const source = operand ? this.hostPathOf(operand, cwd) : undefined;
    const bytes = source ? (await stat(source).catch(() => undefined))?.size : undefined;
    if (bytes !== undefined && bytes > 0) this.copiedSizes.add(bytes);
  }

  /** For `docker compose cp SRC DEST` / `docker cp` / `cp`: SRC and its size, when it is a file this host can see. */
  private async copySource(): Promise<{ path: string; bytes: number } | undefined> {
    const command = this.lastCommand;
    if (!command) return undefined;
    if (this.copy?.command === command.text) return this.copy.source;
    const operand = copySourceOf(command.text);
    const path = operand ? this.hostPathOf(operand, command.cwd) : undefined;
    const info = path ? await stat(path).catch(() => undefined) : undefined;
    const source = path && info?.isFile() ? { path, bytes: info.size } : undefined;
    this.copy = { command: command.text, source };
    return source;
  }

  private hostPathOf(source: string, cwd: string): string | undefined {
    const service = /^([\w.-]+):(\/.*)$/.exec(source);
    if (!service) return resolve(cwd, source);
    const [, name, path] = service;
    for (const { dir, shownAs } of this.options.dirs()) {
      const prefix = `${shownAs}/`;
      if (`${name}:${path}`.startsWith(prefix)) return join(dir, `${name}:${path}`.slice(prefix.length));
    }
    return undefined;
  }

  private async listFiles(): Promise<Array<{ path: string; label: string; size: number }>> {
    const found: Array<{ path: string; label: string; size: number }> = [];
    const walk = async (dir: string, label: string, depth: number): Promise<void> => {
      const entries = await readdir(dir, { withFileTypes: true }).catch(() => []);
      for (const entry of entries) {
        if (found.length >= MAX_FILES) return;
        const path = join(dir, entry.name);
        if (entry.isFile()) {
          const size = (await stat(path).catch(() => undefined))?.size;
          if (size !== undefined) found.push({ path, label: `${label}/${entry.name}`, size });
        } else if (entry.isDirectory() && depth < MAX_DEPTH) {
          await walk(path, `${label}/${entry.name}`, depth + 1);
        }
      }
    };
    let dirs: WatchedDir[];
    try {
      dirs = this.options.dirs();
    } catch {
      dirs = [];
    }
    for (const { dir, shownAs } of dirs) await walk(dir, shownAs, 1);
    return found;
  }
}

/** The source operand of a copy command, when it is a plain path (no expansions to guess at). */
export function copySourceOf(command: string): string | undefined {
  const words = command.trim().split(/\s+/);
  let at: number;
  if (words[0] === 'cp') at = 1;
  else if (words[0] === 'docker' && words[1] === 'cp') at = 2;
  else if (words[0] === 'docker' && words[1] === 'compose') {
    const cp = words.indexOf('cp', 2);
    // `docker compose exec db cp a b` copies inside a container: not a transfer this host sees.
    if (cp < 0 || words.slice(2, cp).some((word) => word === 'exec' || word === 'run')) return undefined;
    at = cp + 1;
  } else return undefined;
  const operands = words.slice(at).filter((word) => !word.startsWith('-'));
  const source = operands[0];
  if (operands.length < 2 || !source || /[$`*?'"]/.test(source)) return undefined;
  return source;
}
