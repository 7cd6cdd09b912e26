// Container logs as the kubelet serves them (GET /containerLogs/…): reading a CRI log file
// (`<RFC3339Nano> <stdout|stderr> <F|P> text` per line), with upstream's options and semantics
// (pkg/kubelet/kuberuntime/logs): tailLines counts complete lines from the end of the file,
// sinceSeconds/sinceTime drop older lines, timestamps prefixes each new line with the entry's time
// in fixed nine-digit RFC 3339, limitBytes cuts the output, follow waits for more until the
// container stops. Following survives rotation: when the path is replaced (the kubelet renames
// the file and the runtime reopens a new one), the rest of the old file is read, then the new one
// from its start; a file truncated in place is read again from its start.
import { watch, type FSWatcher } from 'node:fs';
import { open, stat, type FileHandle } from 'node:fs/promises';
import { basename, dirname } from 'node:path';

export interface LogReadOptions {
  /** Lines from the end to start at; undefined = the whole file. */
  tailLines?: number;
  /** Stop after this many bytes of output. */
  limitBytes?: number;
  /** Drop lines older than this (nanoseconds since the epoch). */
  sinceNanos?: bigint;
  follow: boolean;
  timestamps: boolean;
}

/** Parsed PodLogOptions of a kubelet request (v1 query parameters). */
export interface PodLogQuery extends LogReadOptions {
  previous: boolean;
}

export class LogQueryError extends Error {
  readonly statusCode: number;
  constructor(statusCode: number, message: string) {
    super(message);
    this.statusCode = statusCode;
  }
}

/** Go's strconv.ParseBool. */
function parseBool(v: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw new Error(`invalid boolean ${v}`);
}

function parseInt64(v: string): number {
  if (!/^[+-]?\d+$/.test(v)) throw new Error(`invalid integer ${v}`);
  return Number(v);
}

/** Nanoseconds since the epoch of an RFC 3339 time with any number of fraction digits. */
export function rfc3339Nanos(s: string): bigint {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/i.exec(s);
  if (!m) throw new Error(`invalid time ${s}`);
  const ms = Date.parse(`${m[1]}${m[3]!.toUpperCase()}`);
  if (Number.isNaN(ms)) throw new Error(`invalid time ${s}`);
  return BigInt(ms) * 1_000_000n + BigInt((m[2] ?? '').padEnd(9, '0'));
}

/**
 * Reads the kubelet's containerLogs query as upstream does: the legacy `tail` (with "all"),
 * PodLogOptions' fields, then their validation. Decoding failures are 400 `{"message": "Unable to
 * decode query."}` and invalid values 422 `{"message": "Invalid request."}`, as the kubelet answers.
 */
export function parsePodLogQuery(q: URLSearchParams, now: Date): PodLogQuery {
  const get = (k: string) => {
    const v = q.get(k);
    return v === null || v === '' ? undefined : v;
  };
  let tail = get('tailLines');
  const legacy = get('tail');
  if (legacy !== undefined) tail = legacy === 'all' ? undefined : legacy;
  let out: PodLogQuery;
  let sinceSeconds: number | undefined;
  let sinceTime: bigint | undefined;
  try {
    out = {
      follow: get('follow') !== undefined ? parseBool(get('follow')!) : false,
      previous: get('previous') !== undefined ? parseBool(get('previous')!) : false,
      timestamps: get('timestamps') !== undefined ? parseBool(get('timestamps')!) : false,
      tailLines: tail !== undefined ? parseInt64(tail) : undefined,
      limitBytes: get('limitBytes') !== undefined ? parseInt64(get('limitBytes')!) : undefined,
    };
    if (get('sinceSeconds') !== undefined) sinceSeconds = parseInt64(get('sinceSeconds')!);
    if (get('sinceTime') !== undefined) sinceTime = rfc3339Nanos(get('sinceTime')!);
  } catch {
    throw new LogQueryError(400, '{"message": "Unable to decode query."}');
  }
  const invalid =
    (out.tailLines !== undefined && out.tailLines < 0) ||
    (out.limitBytes !== undefined && out.limitBytes < 1) ||
    (sinceSeconds !== undefined && sinceTime !== undefined) ||
    (sinceSeconds !== undefined && sinceSeconds < 1);
  if (invalid) throw new LogQueryError(422, '{"message": "Invalid request."}');
  if (sinceSeconds !== undefined) out.sinceNanos = BigInt(now.getTime() - sinceSeconds * 1000) * 1_000_000n;
  if (sinceTime !== undefined) out.sinceNanos = sinceTime;
  return out;
}

/** A CRI log entry's time as upstream prints it: RFC 3339 with exactly nine fraction digits. */
export function fixedNanoTimestamp(s: string): string {
  const m = /^(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?(Z|[+-]\d\d:\d\d)$/i.exec(s);
  if (!m) return s;
  const zone = m[3]!.toUpperCase() === 'Z' || m[3] === '+00:00' || m[3] === '-00:00' ? 'Z' : m[3]!;
  return `${m[1]}.${(m[2] ?? '').padEnd(9, '0')}${zone}`;
}

interface Entry {
  time: string;
  nanos: bigint;
  stream: 'stdout' | 'stderr';
  /** The text as written to the container's stream: with its newline for a full line, without for a partial one. */
  log: Buffer;
}

/** One line of a CRI log file (without its newline), or undefined when it is not one. */
export function parseCriEntry(line: Buffer): Entry | undefined {
  const a = line.indexOf(0x20);
  if (a < 0) return undefined;
  const b = line.indexOf(0x20, a + 1);
  if (b < 0) return undefined;
  const stream = line.subarray(a + 1, b).toString('latin1');
  if (stream !== 'stdout' && stream !== 'stderr') return undefined;
  let c = line.indexOf(0x20, b + 1);
  // A tag with nothing after it (an empty line written as "<time> stdout F") still parses.
  if (c < 0) c = line.length;
  const tags = line.subarray(b + 1, c).toString('latin1').split(':');
  const time = line.subarray(0, a).toString('latin1');
  let nanos: bigint;
  try {
    nanos = rfc3339Nanos(time);
  } catch {
    return undefined;
  }
  const text = line.subarray(Math.min(c + 1, line.length));
  const partial = tags[0] === 'P';
  return { time, nanos, stream, log: partial ? text : Buffer.concat([text, Buffer.from('\n')]) };
}

/**
 * The offset where the last n complete lines of the file begin (upstream's
 * FindTailLineStartIndex): an unterminated last line is not counted.
 */
export async function tailStartOffset(fh: FileHandle, n: number): Promise<number> {
  if (n < 0) return 0;
  const size = (await fh.stat()).size;
  const BLOCK = 64 * 1024;
  let cnt = 0;
  let left = size;
  let buf = Buffer.alloc(0);
  while (left > 0 && cnt <= n) {
    const start = Math.max(0, left - BLOCK);
    const b = Buffer.alloc(left - start);
    await fh.read(b, 0, b.length, start);
    for (const x of b) if (x === 0x0a) cnt++;
    buf = b;
    left = start;
  }
  // Skip lines at the front of the last block read until n remain.
  for (; cnt > n; cnt--) {
    const idx = buf.indexOf(0x0a) + 1;
    buf = buf.subarray(idx);
    left += idx;
  }
  return left;
}

export interface LogSink {
  /** Writes output; resolves when the consumer can take more. */
  write(chunk: Buffer): Promise<void>;
  /** Aborted when the consumer went away. */
  signal: AbortSignal;
}

/** How long a follower waits for a change before checking the file and the container again. */
const FOLLOW_POLL_MS = 1000;

/**
 * Streams a container's CRI log file to sink with upstream's semantics (see the file comment).
 * `running` tells a follower whether to keep waiting at the end of the file.
 */
export async function readContainerLog(path: string, o: LogReadOptions, sink: LogSink, running: () => Promise<boolean>): Promise<void> {
  let fh = await open(path, 'r');
  let ino = (await fh.stat()).ino;
  let pos = o.tailLines !== undefined ? await tailStartOffset(fh, o.tailLines) : 0;
  let remain = o.limitBytes ?? Number.POSITIVE_INFINITY;
  const limitedMode = o.tailLines !== undefined && !o.follow;
  let limitedNum = o.tailLines ?? 0;
  let newLine = true;
  let pending = Buffer.alloc(0);
  const buf = Buffer.alloc(64 * 1024);
  let watcher: FSWatcher | undefined;
  let wake: (() => void) | undefined;
  let changed = false;

  /** Writes one entry; false once output must stop (limit reached). */
  const emit = async (e: Entry): Promise<boolean> => {
    if (o.sinceNanos !== undefined && e.nanos < o.sinceNanos) return true;
    let line = e.log;
    if (o.timestamps && newLine) line = Buffer.concat([Buffer.from(fixedNanoTimestamp(e.time) + ' '), line]);
    newLine = e.log.length === 0 || e.log[e.log.length - 1] === 0x0a;
    if (line.length > remain) line = line.subarray(0, remain);
    remain -= line.length;
    if (line.length) await sink.write(line);
    return remain > 0;
  };

  /** Reads from pos to the end of the current file, emitting whole lines. False when done for good. */
  const drain = async (final: boolean): Promise<boolean> => {
    for (;;) {
      if (sink.signal.aborted) return false;
      const { bytesRead } = await fh.read(buf, 0, buf.length, pos);
      if (bytesRead === 0) break;
      pos += bytesRead;
      pending = pending.length ? Buffer.concat([pending, buf.subarray(0, bytesRead)]) : Buffer.from(buf.subarray(0, bytesRead));
      let nl: number;
      while ((nl = pending.indexOf(0x0a)) >= 0) {
        const line = pending.subarray(0, nl);
        pending = pending.subarray(nl + 1);
        const e = parseCriEntry(line);
        if (!e) continue;
        if (!(await emit(e))) return false;
        if (limitedMode && --limitedNum <= 0) return false;
      }
    }
    if (final && pending.length) {
      // An unterminated last line is written when not following, as upstream does.
      const e = parseCriEntry(pending);
      pending = Buffer.alloc(0);
      if (e && !(await emit(e))) return false;
    }
    return true;
  };

  try {
    if (limitedMode && limitedNum <= 0) return;
    if (!o.follow) {
      await drain(true);
      return;
    }
    const dir = dirname(path);
    const base = basename(path);
    try {
      watcher = watch(dir, (_ev, name) => {
        if (!name || name.toString() === base) {
          changed = true;
          wake?.();
        }
      });
      watcher.on('error', () => {});
    } catch {
      // Without inotify the poll below still notices changes, a second late.
    }
    const onAbort = () => wake?.();
    sink.signal.addEventListener('abort', onAbort);
    for (;;) {
      if (!(await drain(false))) return;
      // At the end of the file: has it been replaced or truncated?
      const st = await stat(path).catch(() => undefined);
      if (st && st.ino !== ino) {
        if (!(await drain(false))) return; // the rest of the old file first
        await fh.close();
        fh = await open(path, 'r');
        ino = (await fh.stat()).ino;
        pos = 0;
        pending = Buffer.alloc(0);
        continue;
      }
      if (st && st.size < pos) {
        pos = 0;
        pending = Buffer.alloc(0);
        continue;
      }
      if (!(await running())) {
        await drain(true);
        return;
      }
      if (!changed) {
        await new Promise<void>((r) => {
          const t = setTimeout(r, FOLLOW_POLL_MS);
          wake = () => {
            clearTimeout(t);
            r();
          };
        });
        wake = undefined;
      }
      changed = false;
      if (sink.signal.aborted) return;
    }
  } finally {
    watcher?.close();
    await fh.close().catch(() => {});
  }
}
