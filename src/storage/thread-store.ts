// ThreadStore: any backend's Store run on a worker thread of its own, seen from the calling thread
// through the same Store interface. What a backend does for each call (an etcd client's gRPC
// framing, protobuf and HTTP/2 work, its watch stream's decoding, and the garbage of all that)
// then takes the other core instead of the API server's event loop.
//
// Contracts (those of Store, kept across the thread boundary):
// - Calls run in the worker in the order they were made; each answers with its result or with the
//   StoreError the backend gave (code, message, current, compactedRevision), rebuilt here.
// - A watch's events arrive in the order the backend delivered them; after cancel() none are
//   delivered, even those already on their way. onError ends a watch.
// - Values come back as Uint8Array (copies), as the Store contract says; nothing here keeps them.
// - If the worker dies, every pending call fails and every watch ends with StoreError Unavailable.

import { Worker } from 'node:worker_threads';
import {
  MAX_VALUE_BYTES,
  StoreError,
  type DeleteResult,
  type KeyValue,
  type ListOptions,
  type ListResult,
  type Store,
  type StoreErrorCode,
  type WatchEvent,
  type WatchHandlers,
  type Watcher,
} from './store.ts';

/** A failure as it crosses the thread boundary. */
export interface WireError {
  name: string;
  message: string;
  code?: StoreErrorCode;
  current?: KeyValue;
  compactedRevision?: number;
}

export type UnaryMethod = 'currentRevision' | 'get' | 'list' | 'count' | 'create' | 'update' | 'delete' | 'compact' | 'compactedRevision';

/** Messages from ThreadStore to the worker (thread-store-worker.ts). */
export type ToWorker =
  | { kind: 'call'; id: number; method: UnaryMethod; args: unknown[] }
  | { kind: 'watch'; watch: number; prefix: string; after: number }
  | { kind: 'cancel'; watch: number }
  | { kind: 'close'; id: number };

/** Messages from the worker to ThreadStore. */
export type FromWorker =
  | { kind: 'opened' }
  | { kind: 'openFailed'; error: WireError }
  | { kind: 'result'; id: number; ok: true; value: unknown }
  | { kind: 'result'; id: number; ok: false; error: WireError }
  | { kind: 'events'; watch: number; events: WatchEvent[] }
  | { kind: 'watchError'; watch: number; error: WireError };

export function toWire(e: unknown): WireError {
  if (e instanceof StoreError) return { name: e.name, message: e.message, code: e.code, current: e.current, compactedRevision: e.compactedRevision };
  const err = e as Error;
  return { name: err?.name ?? 'Error', message: err?.message ?? String(e) };
}

/** A call's failure is a StoreError (or the TypeError of a wrong argument); an open's may be any Error. */
function fromWire(w: WireError, opening = false): Error {
  if (w.code) return new StoreError(w.code, w.message, { current: w.current, compactedRevision: w.compactedRevision });
  if (w.name === 'TypeError') return new TypeError(w.message);
  return opening ? new Error(w.message) : new StoreError('Unavailable', w.message);
}

interface Pending {
  resolve(v: unknown): void;
  reject(e: Error): void;
}

class ThreadWatch implements Watcher {
  done = false;
  readonly id: number;
  readonly handlers: WatchHandlers;
  private readonly stop: (w: ThreadWatch) => void;
  constructor(id: number, handlers: WatchHandlers, stop: (w: ThreadWatch) => void) {
    this.id = id;
    this.handlers = handlers;
    this.stop = stop;
  }
  cancel(): void {
    if (this.done) return;
    this.done = true;
    this.stop(this);
  }
}

export class ThreadStore implements Store {
  private readonly worker: Worker;
  private readonly pending = new Map<number, Pending>();
  private readonly watches = new Map<number, ThreadWatch>();
  private nextId = 1;
  private dead: StoreError | undefined;
  private closing: Promise<void> | undefined;

  private constructor(worker: Worker) {
    this.worker = worker;
    worker.on('message', (m: FromWorker) => this.onMessage(m));
    worker.on('error', (e) => this.die(`failed: ${e.message}`));
    worker.on('exit', (code) => this.die(`exited with code ${code}`));
  }

  /**
   * Opens the datastore `url` (as openStore does, with `options`) on a new worker thread; rejects
   * with the backend's open error.
   */
  static async open(url: string, options: unknown): Promise<ThreadStore> {
    const worker = new Worker(new URL('./thread-store-worker.ts', import.meta.url), { workerData: { url, options } });
    const opened = new Promise<void>((resolve, reject) => {
      const onMessage = (m: FromWorker) => {
        if (m.kind === 'opened') resolve();
        else if (m.kind === 'openFailed') reject(fromWire(m.error, true));
        else return;
        worker.off('message', onMessage);
        worker.off('exit', onExit);
      };
      const onExit = (code: number) => reject(new StoreError('Unavailable', `datastore thread exited with code ${code} while opening`));
      worker.on('message', onMessage);
      worker.once('exit', onExit);
    });
    try {
      await opened;
    } catch (e) {
      await worker.terminate();
      throw e;
    }
    return new ThreadStore(worker);
  }

  private onMessage(m: FromWorker): void {
    if (m.kind === 'result') {
      const p = this.pending.get(m.id);
      if (!p) return;
      this.pending.delete(m.id);
      if (m.ok) p.resolve(m.value);
      else p.reject(fromWire(m.error));
    } else if (m.kind === 'events') {
      const w = this.watches.get(m.watch);
      if (!w || w.done) return;
      try {
        w.handlers.onEvents(m.events);
      } catch (e) {
        // A throwing handler is the caller's bug; surface it without breaking the other watches.
        process.nextTick(() => {
          throw e;
        });
      }
    } else if (m.kind === 'watchError') {
      const w = this.watches.get(m.watch);
      if (!w || w.done) return;
      w.done = true;
      this.watches.delete(m.watch);
      w.handlers.onError(fromWire(m.error) as StoreError);
    }
  }

  private die(why: string): void {
    if (this.dead) return;
    this.dead = new StoreError(this.closing ? 'Closed' : 'Unavailable', this.closing ? 'store is closed' : `datastore thread ${why}`);
    for (const p of this.pending.values()) p.reject(this.dead);
    this.pending.clear();
    for (const w of this.watches.values()) {
      if (w.done) continue;
      w.done = true;
      w.handlers.onError(this.dead);
    }
    this.watches.clear();
  }

  private call<T>(method: UnaryMethod, ...args: unknown[]): Promise<T> {
    if (this.dead) return Promise.reject(this.dead);
    if (this.closing) return Promise.reject(new StoreError('Closed', 'store is closed'));
    const id = this.nextId++;
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.worker.postMessage({ kind: 'call', id, method, args } satisfies ToWorker);
    });
  }

  currentRevision(): Promise<number> {
    return this.call('currentRevision');
  }
  get(key: string): Promise<KeyValue | undefined> {
    return this.call('get', key);
  }
  list(prefix: string, opts?: ListOptions): Promise<ListResult> {
    return this.call('list', prefix, opts);
  }
  count(prefix: string): Promise<number> {
    return this.call('count', prefix);
  }
  create(key: string, value: Uint8Array): Promise<number> {
    const bad = refusedValue(key, value);
    return bad ? Promise.reject(bad) : this.call('create', key, value);
  }
  update(key: string, value: Uint8Array, expectedRevision: number): Promise<number> {
    const bad = refusedValue(key, value);
    return bad ? Promise.reject(bad) : this.call('update', key, value, expectedRevision);
  }
  delete(key: string, expectedRevision?: number): Promise<DeleteResult> {
    return this.call('delete', key, expectedRevision);
  }
  compact(revision: number): Promise<void> {
    return this.call('compact', revision);
  }
  compactedRevision(): Promise<number> {
    return this.call('compactedRevision');
  }

  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Watcher {
    const id = this.nextId++;
    const w = new ThreadWatch(id, handlers, (x) => {
      this.watches.delete(x.id);
      if (!this.dead && !this.closing) this.worker.postMessage({ kind: 'cancel', watch: x.id } satisfies ToWorker);
    });
    if (this.dead || this.closing) {
      const err = this.dead ?? new StoreError('Closed', 'store is closed');
      queueMicrotask(() => {
        if (w.done) return;
        w.done = true;
        handlers.onError(err);
      });
      return w;
    }
    this.watches.set(id, w);
    this.worker.postMessage({ kind: 'watch', watch: id, prefix, after: afterRevision } satisfies ToWorker);
    return w;
  }

  close(): Promise<void> {
    if (this.dead) return Promise.resolve();
    this.closing ??= (async () => {
      const id = this.nextId++;
      const closed = new Promise<unknown>((resolve, reject) => this.pending.set(id, { resolve, reject }));
      this.worker.postMessage({ kind: 'close', id } satisfies ToWorker);
      try {
        await closed;
      } finally {
        await this.worker.terminate();
      }
    })();
    return this.closing;
  }
}

/**
 * Checked on this side of the thread: a value of the wrong type would not cross as itself, and
 * backends answer it differently (a TypeError here, whatever the backend behind).
 */
function refusedValue(key: string, value: Uint8Array): Error | undefined {
  if (!(value instanceof Uint8Array)) return new TypeError('value must be a Uint8Array');
  if (value.byteLength > MAX_VALUE_BYTES) {
    return new StoreError('ValueTooLarge', `value for key ${JSON.stringify(key)} is ${value.byteLength} bytes, more than the limit of ${MAX_VALUE_BYTES}`);
  }
  return undefined;
}
