// SqliteStore: the embedded Store. SqliteEngine (engine.ts) holds the data; this class adds group
// commit, watches and the compaction schedule.
//
// Group commit: writes are queued; one flush takes every queued write into one transaction (one
// WAL fsync). A flush starts on the next turn of the event loop after the first queued write, or as
// soon as the previous commit finishes, so writes issued in the same tick, or while a commit is in
// progress, share a commit. A write's promise settles after its transaction has committed.
//
// Watches: after each commit the batch's events are handed, in revision order, to every live
// watcher whose prefix matches. A watch from an older revision first replays the table in chunks
// up to the newest dispatched revision, then joins the live set in the same synchronous step in
// which it has caught up, so it sees neither a gap nor a duplicate.

import {
  MAX_VALUE_BYTES,
  StoreError,
  type DeleteResult,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Store,
  type WatchEvent,
  type WatchHandlers,
  type Watcher,
} from '../store.ts';
import { isEngineError, type WriteOp, type WriteOutcome } from './engine.ts';
import { InlineHost, WorkerHost, type EngineHost } from './engine-host.ts';

export interface SqliteStoreOptions {
  /**
   * Run SQLite in a worker thread so commits (fsync) and compaction never block the event loop.
   * Default false: on the 2-core reference machine (10 runs each, 1 KB creates, medians) inline
   * and worker were equal at concurrency 1 (~1.6k/s) and inline was faster at 16 (11.5k vs
   * 10.8k/s) and 64 (17.8k vs 14.1k/s): a WAL fsync takes about half a millisecond there, and
   * the message round trip and copying cost more than the overlap saves.
   */
  worker?: boolean;
  /** How often the scheduled compactor runs, in ms; 0 disables it. Default 5 minutes. */
  compactIntervalMs?: number;
  /** The scheduled compactor keeps this many most recent revisions. Default 1000. */
  compactKeepRevisions?: number;
  /** The most writes one commit takes. Default 1000. */
  maxBatchWrites?: number;
  /**
   * Each commit fsyncs inside SQLite, on the event loop, instead of on the thread pool afterwards:
   * a write is then acknowledged in the same turn of the event loop as its commit, whatever the
   * disk does. Slower under load; for tests that step a fake clock and expect writes to have
   * landed before the next step. Default false.
   */
  fsyncInCommit?: boolean;
  /** Tests only: wraps the engine host (to hold or fail its syncs). */
  wrapHost?: (host: EngineHost) => EngineHost;
}

export interface SqliteStoreStats {
  /** Acknowledged writes (creates, updates, deletes that succeeded). */
  writes: number;
  /** Write transactions committed (each made durable by one WAL fsync before any of it is acknowledged). */
  batches: number;
  /** Writes that failed a precondition inside a batch. */
  rejected: number;
}

interface QueuedWrite {
  op: WriteOp;
  bytes: number;
  resolve(o: WriteOutcome & { ok: true }): void;
  reject(e: StoreError): void;
}

const HISTORY_CHUNK = 500;
const MAX_BATCH_BYTES = 32 * 1024 * 1024;
const COMPACT_CHUNK_REVISIONS = 2000;

function toStoreError(e: unknown): StoreError {
  if (e instanceof StoreError) return e;
  if (isEngineError(e)) return new StoreError(e.code, e.message, { compactedRevision: e.compactedRevision });
  return new StoreError('Unavailable', `sqlite: ${(e as Error)?.message ?? String(e)}`);
}

class SqliteWatch implements Watcher {
  readonly prefix: string;
  readonly handlers: WatchHandlers;
  /** Events up to this revision have been delivered (or did not match). */
  lastSent: number;
  done = false;
  private readonly onCancel: (w: SqliteWatch) => void;

  constructor(prefix: string, after: number, handlers: WatchHandlers, onCancel: (w: SqliteWatch) => void) {
    this.prefix = prefix;
    this.lastSent = after;
    this.handlers = handlers;
    this.onCancel = onCancel;
  }

  deliver(events: WatchEvent[]): void {
    if (this.done || events.length === 0) return;
    this.lastSent = events[events.length - 1].kv.modRevision;
    this.handlers.onEvents(events);
  }

  fail(err: StoreError): void {
    if (this.done) return;
    this.done = true;
    this.onCancel(this);
    this.handlers.onError(err);
  }

  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.onCancel(this);
  }
}

export class SqliteStore implements Store {
  readonly path: string;
  private readonly host: EngineHost;
  private readonly opts: Required<Omit<SqliteStoreOptions, 'wrapHost' | 'fsyncInCommit'>>;
  private queue: QueuedWrite[] = [];
  private flushScheduled = false;
  private committing = false;
  /** The highest revision whose commit has been dispatched to watchers and acknowledged. */
  private dispatchedRev: number;
  private compactedRev: number;
  private readonly live = new Set<SqliteWatch>();
  private readonly catchingUp = new Set<SqliteWatch>();
  private closed = false;
  /** The durability sync of the batch being committed (InlineHost), while it runs. */
  private syncing: Promise<void> | undefined;
  /** Set when a batch was applied but could not be made durable: every later call fails with it. */
  private broken: StoreError | undefined;
  private compactTimer: NodeJS.Timeout | undefined;
  private compacting: Promise<void> | undefined;
  private idleWaiters: (() => void)[] = [];
  private readonly counters: SqliteStoreStats = { writes: 0, batches: 0, rejected: 0 };

  private constructor(path: string, host: EngineHost, rev: number, compacted: number, opts: Required<Omit<SqliteStoreOptions, 'wrapHost' | 'fsyncInCommit'>>) {
    this.path = path;
    this.host = host;
    this.dispatchedRev = rev;
    this.compactedRev = compacted;
    this.opts = opts;
    if (opts.compactIntervalMs > 0) {
      this.compactTimer = setInterval(() => void this.scheduledCompaction(), opts.compactIntervalMs);
      this.compactTimer.unref();
    }
  }

  /** Opens (creating if needed) the database file at path. The directory must exist. */
  static async open(path: string, options: SqliteStoreOptions = {}): Promise<SqliteStore> {
    const opts: Required<Omit<SqliteStoreOptions, 'wrapHost' | 'fsyncInCommit'>> = {
      worker: options.worker ?? false,
      compactIntervalMs: options.compactIntervalMs ?? 5 * 60 * 1000,
      compactKeepRevisions: options.compactKeepRevisions ?? 1000,
      maxBatchWrites: options.maxBatchWrites ?? 1000,
    };
    let host: EngineHost;
    try {
      host = opts.worker ? await WorkerHost.start(path) : new InlineHost(path, { fsyncInCommit: options.fsyncInCommit });
      if (options.wrapHost) host = options.wrapHost(host);
    } catch (e) {
      throw toStoreError(e);
    }
    const rev = await host.call('currentRevision');
    const compacted = await host.call('compactedRevision');
    return new SqliteStore(path, host, rev, compacted, opts);
  }

  stats(): SqliteStoreStats {
    return { ...this.counters };
  }

  private ensureOpen(): void {
    if (this.closed) throw new StoreError('Closed', 'store is closed');
    if (this.broken) throw this.broken;
  }

  private async call<T>(p: () => Promise<T>): Promise<T> {
    this.ensureOpen();
    // A read never sees a batch that is applied but not yet durable.
    if (this.syncing) await this.syncing;
    try {
      return await p();
    } catch (e) {
      throw toStoreError(e);
    }
  }

  async currentRevision(): Promise<number> {
    this.ensureOpen();
    return this.dispatchedRev;
  }

  async compactedRevision(): Promise<number> {
    this.ensureOpen();
    return this.compactedRev;
  }

  get(key: string): Promise<KeyValue | undefined> {
    return this.call(() => this.host.call('get', key));
  }

  list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    return this.call(() => this.host.call('list', prefix, opts.revision, opts.limit, opts.startKey));
  }

  count(prefix: string): Promise<number> {
    return this.call(() => this.host.call('count', prefix));
  }

  async create(key: string, value: Uint8Array): Promise<number> {
    const o = await this.enqueue({ op: 'create', key, value });
    return o.event.kv.modRevision;
  }

  async update(key: string, value: Uint8Array, expectedRevision: number): Promise<number> {
    const o = await this.enqueue({ op: 'update', key, value, expected: expectedRevision });
    return o.event.kv.modRevision;
  }

  async delete(key: string, expectedRevision?: number): Promise<DeleteResult> {
    const o = await this.enqueue({ op: 'delete', key, expected: expectedRevision });
    return { revision: o.event.kv.modRevision, prev: o.event.prevKv! };
  }

  private enqueue(op: WriteOp): Promise<WriteOutcome & { ok: true }> {
    if (this.closed) return Promise.reject(new StoreError('Closed', 'store is closed'));
    if (this.broken) return Promise.reject(this.broken);
    let bytes = op.key.length;
    if (op.op !== 'delete') {
      if (!(op.value instanceof Uint8Array)) return Promise.reject(new TypeError('value must be a Uint8Array'));
      if (op.value.byteLength > MAX_VALUE_BYTES) {
        return Promise.reject(
          new StoreError('ValueTooLarge', `value for key ${JSON.stringify(op.key)} is ${op.value.byteLength} bytes, more than the limit of ${MAX_VALUE_BYTES}`),
        );
      }
      bytes += op.value.byteLength;
    }
    return new Promise((resolve, reject) => {
      this.queue.push({ op, bytes, resolve, reject });
      this.scheduleFlush();
    });
  }

  private scheduleFlush(): void {
    if (this.flushScheduled || this.committing || this.queue.length === 0) return;
    this.flushScheduled = true;
    setImmediate(() => {
      this.flushScheduled = false;
      void this.flush();
    });
  }

  private async flush(): Promise<void> {
    if (this.committing || this.queue.length === 0) return;
    // Take a prefix of the queue bounded in count and bytes; the rest goes in the next commit.
    let n = 0;
    let bytes = 0;
    while (n < this.queue.length && n < this.opts.maxBatchWrites && (n === 0 || bytes + this.queue[n].bytes <= MAX_BATCH_BYTES)) {
      bytes += this.queue[n].bytes;
      n++;
    }
    const batch = this.queue.splice(0, n);
    this.committing = true;
    let outcomes: WriteOutcome[] | undefined;
    let failure: StoreError | undefined;
    // With a host that syncs apart from its commits, nothing of the batch is acknowledged,
    // dispatched or read before it is on disk: reads wait from before the batch is applied.
    let release: (() => void) | undefined;
    if (this.host.sync) this.syncing = new Promise<void>((r) => (release = r));
    try {
      outcomes = await this.host.call(
        'applyBatch',
        batch.map((w) => w.op),
      );
      if (this.host.sync && outcomes.some((o) => o.ok)) await this.host.sync();
    } catch (e) {
      failure = toStoreError(e);
      if (outcomes) {
        // Applied but not durable: its fate after a crash is unknown, so the store stops here
        // (as etcd does on a failed fsync) instead of acknowledging or refusing it.
        this.broken = failure;
        outcomes = undefined;
      }
    } finally {
      this.syncing = undefined;
      release?.();
    }
    this.committing = false;
    if (outcomes) {
      const events: WatchEvent[] = [];
      for (const o of outcomes) if (o.ok) events.push(o.event);
      if (events.length > 0) {
        this.counters.batches++;
        this.counters.writes += events.length;
        this.dispatchedRev = events[events.length - 1].kv.modRevision;
        this.dispatch(events);
      }
      for (let i = 0; i < batch.length; i++) {
        const o = outcomes[i];
        if (o.ok) batch[i].resolve(o);
        else {
          this.counters.rejected++;
          batch[i].reject(new StoreError(o.code, o.message, { current: o.current }));
        }
      }
    } else {
      for (const w of batch) w.reject(failure!);
    }
    this.scheduleFlush();
    if (!this.committing && this.queue.length === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const f of waiters) f();
    }
  }

  private dispatch(events: WatchEvent[]): void {
    for (const w of this.live) {
      let matched: WatchEvent[] | undefined;
      for (const ev of events) {
        if (ev.kv.modRevision > w.lastSent && ev.kv.key.startsWith(w.prefix)) (matched ??= []).push(ev);
      }
      if (matched) {
        try {
          w.deliver(matched);
        } catch (e) {
          // A throwing handler is a bug in the caller; keep the store consistent and surface it.
          process.nextTick(() => {
            throw e;
          });
        }
      }
    }
  }

  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Watcher {
    const w = new SqliteWatch(prefix, Math.max(0, afterRevision), handlers, (x) => {
      this.live.delete(x);
      this.catchingUp.delete(x);
    });
    if (this.closed) {
      queueMicrotask(() => w.fail(new StoreError('Closed', 'store is closed')));
      return w;
    }
    if (w.lastSent < this.compactedRev) {
      const c = this.compactedRev;
      queueMicrotask(() => w.fail(new StoreError('Compacted', `revision ${afterRevision} has been compacted (compacted revision ${c})`, { compactedRevision: c })));
      return w;
    }
    this.catchingUp.add(w);
    void this.catchUp(w);
    return w;
  }

  private async catchUp(w: SqliteWatch): Promise<void> {
    while (!w.done) {
      const upTo = this.dispatchedRev;
      if (w.lastSent >= upTo) {
        // Caught up: every later event reaches the watcher through dispatch(). No await between
        // the check and joining the live set, so no commit can slip in between.
        this.catchingUp.delete(w);
        this.live.add(w);
        return;
      }
      let events: WatchEvent[];
      try {
        events = await this.host.call('history', w.prefix, w.lastSent, upTo, HISTORY_CHUNK);
      } catch (e) {
        w.fail(toStoreError(e));
        return;
      }
      if (w.done) return;
      try {
        w.deliver(events);
      } catch (e) {
        process.nextTick(() => {
          throw e;
        });
      }
      if (events.length < HISTORY_CHUNK) w.lastSent = Math.max(w.lastSent, upTo);
    }
  }

  /**
   * Compacts history at and below revision in chunks (other writes proceed between them), then
   * returns freed pages to the file system. A revision at or below the compacted one is a no-op.
   */
  compact(revision: number): Promise<void> {
    const run = async (): Promise<void> => {
      if (revision > this.dispatchedRev) {
        throw new StoreError('FutureRevision', `revision ${revision} is newer than the current revision ${this.dispatchedRev}`);
      }
      let lo = this.compactedRev;
      if (revision <= lo) return;
      while (lo < revision) {
        const hi = Math.min(revision, lo + COMPACT_CHUNK_REVISIONS);
        await this.host.call('compactChunk', hi);
        this.compactedRev = hi;
        lo = hi;
        // Stop watchers still replaying history below the new compacted revision.
        for (const w of this.catchingUp) {
          if (w.lastSent < hi) {
            w.fail(new StoreError('Compacted', `revision ${w.lastSent} has been compacted (compacted revision ${hi})`, { compactedRevision: hi }));
          }
        }
      }
      await this.host.call('reclaim');
    };
    const prev = this.compacting ?? Promise.resolve();
    const p = this.call(() => prev.catch(() => undefined).then(run));
    this.compacting = p.finally(() => {
      if (this.compacting === p) this.compacting = undefined;
    });
    return p;
  }

  private async scheduledCompaction(): Promise<void> {
    if (this.closed) return;
    const target = this.dispatchedRev - this.opts.compactKeepRevisions;
    if (target <= this.compactedRev) return;
    try {
      await this.compact(target);
    } catch {
      // the next run tries again; errors here have no caller to report to
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.compactTimer) clearInterval(this.compactTimer);
    // Writes already queued are committed; nothing new is accepted.
    if (this.committing || this.queue.length > 0) {
      await new Promise<void>((resolve) => {
        this.idleWaiters.push(resolve);
        this.scheduleFlush();
      });
    }
    await this.compacting?.catch(() => undefined);
    const err = new StoreError('Closed', 'store is closed');
    for (const w of [...this.live, ...this.catchingUp]) w.fail(err);
    await this.host.close();
  }
}
