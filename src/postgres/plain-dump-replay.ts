import { createReadStream } from 'node:fs';
import { open, stat } from 'node:fs/promises';
import { availableParallelism } from 'node:os';
import { Readable } from 'node:stream';
import { execa } from 'execa';

/** A byte range of the dump file: [start, end). */
interface ByteRange {
  start: number;
  end: number;
}

/**
 * Where a plain pg_dump file's sections lie, as pg_dump writes them: the preamble (its SET statements, `\restrict`),
 * pre-data (types, tables, sequences, functions), one COPY per table's data, then post-data (sequence values,
 * constraints, indexes, triggers, `\unrestrict`). Found from the TOC comment headers pg_dump writes before each entry.
 */
export interface PlainDumpLayout {
  preamble: ByteRange;
  preData: ByteRange;
  data: Array<ByteRange & { table: string }>;
  postData: ByteRange;
}

const ENTRY_HEADER = Buffer.from('\n--\n-- ');
const DATA_HEADER = Buffer.from('\n--\n-- Data for Name: ');
/** The end of a COPY's rows: a line of its own; a row can never be `\.` (COPY escapes the backslash). */
const COPY_END = Buffer.from('\n\\.\n');
const CHUNK = 8 * 1024 * 1024;

/**
 * The layout of a plain dump, read once without holding it in memory; undefined when the file is not laid out as
 * pg_dump writes it (no entries, a COPY without its end, something other than data between two COPYs).
 */
export async function plainDumpLayout(path: string, chunkBytes = CHUNK): Promise<PlainDumpLayout | undefined> {
  const handle = await open(path, 'r');
  try {
    const size = (await handle.stat()).size;
    const headers: number[] = [];
    const data: Array<ByteRange & { table: string }> = [];
    const buffer = Buffer.alloc(chunkBytes);
    // The bytes before `offset` that a marker may straddle are kept at the front of the window.
    let carry = Buffer.alloc(0);
    let offset = 0;
    let inCopy: { start: number; table: string } | undefined;
    while (offset < size) {
      const { bytesRead } = await handle.read(buffer, 0, chunkBytes, offset);
      if (bytesRead === 0) break;
      const window = Buffer.concat([carry, buffer.subarray(0, bytesRead)]);
      const base = offset - carry.length;
      let at = 0;
      // Where the next window must start: an unfinished marker or header line is read again whole.
      let keepFrom: number;
      for (;;) {
        if (inCopy) {
          const end = window.indexOf(COPY_END, at);
          if (end < 0) {
            keepFrom = Math.max(at, window.length - COPY_END.length + 1);
            break;
          }
          data.push({ start: inCopy.start, end: base + end + COPY_END.length, table: inCopy.table });
          at = end + COPY_END.length - 1;
          inCopy = undefined;
          continue;
        }
        const header = window.indexOf(ENTRY_HEADER, at);
        if (header < 0) {
          keepFrom = Math.max(at, window.length - ENTRY_HEADER.length + 1);
          break;
        }
        const lineEnd = window.indexOf(0x0a, header + ENTRY_HEADER.length);
        if (lineEnd < 0) {
          keepFrom = header;
          break;
        }
        headers.push(base + header + 1);
        if (window.subarray(header, header + DATA_HEADER.length).equals(DATA_HEADER)) {
          const name = window.subarray(header + DATA_HEADER.length, lineEnd).toString('utf8');
          inCopy = { start: base + header + 1, table: name.slice(0, name.indexOf(';')) };
        }
        at = lineEnd;
      }
      offset += bytesRead;
      carry = Buffer.from(window.subarray(keepFrom));
    }
    const first = headers[0];
    if (inCopy || first === undefined || data.length === 0) return undefined;
    // Between two COPYs only blank lines: anything else would have to run in order with them.
    for (const [index, entry] of data.slice(1).entries()) {
      const gap = await readRange(handle, data[index]!.end, entry.start);
      if (gap.toString('latin1').trim() !== '') return undefined;
    }
    return {
      preamble: { start: 0, end: first },
      preData: { start: first, end: data[0]!.start },
      data,
      postData: { start: data.at(-1)!.end, end: size },
    };
  } finally {
    await handle.close();
  }
}

async function readRange(handle: Awaited<ReturnType<typeof open>>, start: number, end: number): Promise<Buffer> {
  const buffer = Buffer.alloc(Math.max(0, end - start));
  if (buffer.length > 0) await handle.read(buffer, 0, buffer.length, start);
  return buffer;
}

export interface PlainReplayResult {
  exitCode: number;
  stderr: string;
  /** How the dump was replayed: one psql, or its tables' data `jobs` at a time between pre- and post-data. */
  mode: 'serial' | 'parallel';
  jobs: number;
}

export interface PlainReplayOptions {
  psql: string;
  /** libpq environment naming the target database. */
  env: Record<string, string>;
  /** Sessions loading data at once; default: the machine's cores. */
  jobs?: number;
  /** Smaller files replay in one session: a few psql starts cost more than they save. */
  parallelFromBytes?: number;
}

const PSQL_ARGS = ['-X', '-q', '-v', 'ON_ERROR_STOP=1'];

/**
 * Replays a plain dump with errors made fatal, as `psql -v ON_ERROR_STOP=1 -f` does, but with its tables' data
 * loaded several sessions at a time (what `pg_restore -j` does for a custom dump): pre-data in one session, each
 * table's COPY in a pool of sessions, largest first, then post-data in one session. Every session starts with the
 * dump's own preamble. The bytes are the dump's own, in the dump's order within each phase. A dump that is not laid
 * out as pg_dump writes it replays in one session. A failed parallel replay is not the answer: the caller replays
 * it again in one session into a fresh database, so no error is ever caused by the split.
 */
export async function replayPlainDump(path: string, options: PlainReplayOptions): Promise<PlainReplayResult> {
  const jobs = Math.max(1, options.jobs ?? availableParallelism());
  const { size } = await stat(path);
  const layout = jobs > 1 && size >= (options.parallelFromBytes ?? 0) ? await plainDumpLayout(path) : undefined;
  if (!layout) {
    const result = await execa(options.psql, [...PSQL_ARGS, '-f', path], { env: options.env, reject: false, stdin: 'ignore' });
    return { exitCode: result.exitCode ?? 1, stderr: String(result.stderr), mode: 'serial', jobs: 1 };
  }
  const handle = await open(path, 'r');
  const preamble = await readRange(handle, layout.preamble.start, layout.preamble.end).finally(() => handle.close());
  const run = (ranges: ByteRange[]) => psqlOn(options, preamble, path, ranges);
  const stderr: string[] = [];
  const pre = await run([layout.preData]);
  stderr.push(pre.stderr);
  if (pre.exitCode !== 0) return { exitCode: pre.exitCode, stderr: stderr.join(''), mode: 'parallel', jobs };
  const queue = [...layout.data].sort((a, b) => b.end - b.start - (a.end - a.start));
  let failed: { exitCode: number } | undefined;
  await Promise.all(
    Array.from({ length: Math.min(jobs, queue.length) }, async () => {
      for (let entry = queue.shift(); entry && !failed; entry = queue.shift()) {
        const result = await run([entry]);
        stderr.push(result.stderr);
        if (result.exitCode !== 0) failed ??= result;
      }
    }),
  );
  if (failed) return { exitCode: failed.exitCode, stderr: stderr.join(''), mode: 'parallel', jobs };
  const post = await run([layout.postData]);
  stderr.push(post.stderr);
  return { exitCode: post.exitCode, stderr: stderr.join(''), mode: 'parallel', jobs };
}

async function psqlOn(
  options: PlainReplayOptions,
  preamble: Buffer,
  path: string,
  ranges: ByteRange[],
): Promise<{ exitCode: number; stderr: string }> {
  const input = Readable.from(
    (async function* () {
      yield preamble;
      for (const range of ranges) if (range.end > range.start) yield* createReadStream(path, { start: range.start, end: range.end - 1 });
    })(),
  );
  const result = await execa(options.psql, PSQL_ARGS, { env: options.env, reject: false, input });
  return { exitCode: result.exitCode ?? 1, stderr: String(result.stderr) };
}
