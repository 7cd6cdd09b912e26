// EtcdStore: the Store on a real etcd v3 cluster, through its gRPC API (etcd-rpc.ts).
//
// Mapping (one transaction per write, so etcd checks every precondition atomically):
//   create  Txn(create_revision(key) == 0 ? put : range)            → KeyExists with the value
//   update  Txn(mod_revision(key) == expected ? put : range)        → Conflict / NotFound
//   delete  Txn(mod_revision == expected | create_revision > 0 ? delete(prev_kv) : range)
//   list    Range(key = max(prefix, startKey), range_end = prefix end, limit, revision)
//   watch   Watch(start_revision = after + 1, prev_kv), resumed on another member from the last
//           delivered revision when a stream breaks, so no event is lost or repeated
//   compact Compact(revision, physical) and the revision recorded in the key "compact_rev_key"
//           (the key kube-apiserver uses), which compactedRevision() reads back.
// gRPC failures become StoreErrors here; nothing above this file sees a driver error.

import * as grpc from '@grpc/grpc-js';
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
import {
  EtcdConnection,
  RpcError,
  type EtcdConnectionOptions,
  type PbCompare,
  type PbKeyValue,
  type PbRequestOp,
  type PbTxnResponse,
  type PbWatchResponse,
} from './etcd-rpc.ts';

export interface EtcdStoreOptions extends EtcdConnectionOptions {
  /** How long a broken watch keeps trying to resume before it fails with Unavailable. Default 30 s. */
  watchRetryTimeoutMs?: number;
  /**
   * The scheduled compactor, as kube-apiserver's: every interval it compacts to the revision it
   * saw at the previous tick, so one interval of history stays. 0 disables it. Default 5 minutes.
   */
  compactIntervalMs?: number;
}

/** The key recording the compacted revision (decimal), shared with kube-apiserver's compactor. */
export const COMPACT_REV_KEY = 'compact_rev_key';

const ALL_KEYS = Buffer.from([0]);

/** The exclusive end of the byte range of keys starting with prefix ("\0" = no end). */
export function rangeEnd(prefix: Uint8Array): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return ALL_KEYS;
}

function toKv(kv: PbKeyValue): KeyValue {
  return { key: kv.key.toString('utf8'), value: kv.value, createRevision: kv.create_revision, modRevision: kv.mod_revision };
}

function translate(e: unknown, what: string): StoreError {
  if (e instanceof StoreError) return e;
  if (!(e instanceof RpcError)) return new StoreError('Unavailable', `etcd: ${what}: ${(e as Error)?.message ?? String(e)}`);
  const d = e.details;
  if (d.includes('required revision has been compacted')) return new StoreError('Compacted', `etcd: ${what}: ${d}`);
  if (d.includes('required revision is a future revision')) return new StoreError('FutureRevision', `etcd: ${what}: ${d}`);
  if (d.includes('request is too large') || e.code === grpc.status.RESOURCE_EXHAUSTED) {
    return new StoreError('ValueTooLarge', `etcd: ${what}: ${d}`);
  }
  if (e.code === grpc.status.CANCELLED && d === 'connection closed') return new StoreError('Closed', 'store is closed');
  return new StoreError('Unavailable', `etcd: ${what}: ${d}`);
}

function checkSize(key: string, value: Uint8Array): void {
  if (!(value instanceof Uint8Array)) throw new TypeError('value must be a Uint8Array');
  if (value.byteLength > MAX_VALUE_BYTES) {
    throw new StoreError('ValueTooLarge', `value for key ${JSON.stringify(key)} is ${value.byteLength} bytes, more than the limit of ${MAX_VALUE_BYTES}`);
  }
}

export class EtcdStore implements Store {
  private readonly conn: EtcdConnection;
  private readonly opts: EtcdStoreOptions;
  private knownCompacted = 0;
  private closed = false;
  private readonly watches = new Set<EtcdWatch>();
  private compactTimer: NodeJS.Timeout | undefined;
  private previousTickRevision = 0;

  private constructor(conn: EtcdConnection, opts: EtcdStoreOptions) {
    this.conn = conn;
    this.opts = opts;
    const interval = opts.compactIntervalMs ?? 5 * 60 * 1000;
    if (interval > 0) {
      this.compactTimer = setInterval(() => void this.scheduledCompaction(), interval);
      this.compactTimer.unref();
    }
  }

  private async scheduledCompaction(): Promise<void> {
    try {
      const now = await this.currentRevision();
      const target = this.previousTickRevision;
      this.previousTickRevision = now;
      if (target > 0) await this.compact(target);
    } catch {
      // the next tick tries again; there is no caller to report to
    }
  }

  /**
   * Connects to the comma-separated endpoints (http://h:p or https://h:p) and checks that one of
   * them answers; fails with StoreError('Unavailable') otherwise.
   */
  static async open(endpoints: string, opts: EtcdStoreOptions = {}): Promise<EtcdStore> {
    const conn = new EtcdConnection(endpoints, opts);
    const store = new EtcdStore(conn, opts);
    try {
      await store.compactedRevision();
    } catch (e) {
      conn.close();
      throw e;
    }
    return store;
  }

  /** The connection, for tests and diagnostics. */
  get connection(): EtcdConnection {
    return this.conn;
  }

  private async rpc<T>(what: string, f: () => Promise<T>): Promise<T> {
    if (this.closed) throw new StoreError('Closed', 'store is closed');
    try {
      return await f();
    } catch (e) {
      throw translate(e, what);
    }
  }

  currentRevision(): Promise<number> {
    return this.rpc('current revision', async () => {
      const res = await this.conn.call('Range', { key: Buffer.from(COMPACT_REV_KEY), count_only: true }, false);
      return res.header.revision;
    });
  }

  get(key: string): Promise<KeyValue | undefined> {
    return this.rpc(`get ${key}`, async () => {
      const res = await this.conn.call('Range', { key: Buffer.from(key) }, false);
      return res.kvs.length > 0 ? toKv(res.kvs[0]) : undefined;
    });
  }

  list(prefix: string, opts: ListOptions = {}): Promise<ListResult> {
    return this.rpc(`list ${prefix}`, async () => {
      const p = Buffer.from(prefix);
      const end = rangeEnd(p);
      let start: Buffer = p;
      if (opts.startKey !== undefined) {
        const sk = Buffer.from(opts.startKey);
        if (Buffer.compare(sk, p) > 0) start = sk;
      }
      if (opts.revision && opts.revision > 0 && opts.revision < this.knownCompacted) {
        throw new StoreError('Compacted', `etcd: revision ${opts.revision} has been compacted (compacted revision ${this.knownCompacted})`, {
          compactedRevision: this.knownCompacted,
        });
      }
      const res = await this.conn.call(
        'Range',
        { key: start.length > 0 ? start : ALL_KEYS, range_end: end, limit: opts.limit ?? 0, revision: opts.revision ?? 0 },
        false,
      );
      const kvs = res.kvs.map(toKv);
      // The header carries the store's current revision even for reads at an older one.
      const revision = opts.revision && opts.revision > 0 ? opts.revision : res.header.revision;
      return { kvs, revision, more: res.more, remaining: res.more ? res.count - kvs.length : 0 };
    });
  }

  count(prefix: string): Promise<number> {
    return this.rpc(`count ${prefix}`, async () => {
      const p = Buffer.from(prefix);
      const res = await this.conn.call('Range', { key: p.length > 0 ? p : ALL_KEYS, range_end: rangeEnd(p), count_only: true }, false);
      return res.count;
    });
  }

  private txn(compare: PbCompare[], success: PbRequestOp[], key: Buffer): Promise<PbTxnResponse> {
    return this.conn.call('Txn', { compare, success, failure: [{ request_range: { key } }] }, true);
  }

  /** A failed Txn's range result: the key's current value, or undefined if it does not exist. */
  private static current(res: PbTxnResponse): KeyValue | undefined {
    const kvs = res.responses[0]?.response_range?.kvs ?? [];
    return kvs.length > 0 ? toKv(kvs[0]) : undefined;
  }

  create(key: string, value: Uint8Array): Promise<number> {
    return this.rpc(`create ${key}`, async () => {
      checkSize(key, value);
      const k = Buffer.from(key);
      const res = await this.txn([{ key: k, target: 'CREATE', result: 'EQUAL', create_revision: 0 }], [{ request_put: { key: k, value } }], k);
      if (res.succeeded) return res.header.revision;
      throw new StoreError('KeyExists', `key ${JSON.stringify(key)} already exists`, { current: EtcdStore.current(res) });
    });
  }

  update(key: string, value: Uint8Array, expectedRevision: number): Promise<number> {
    return this.rpc(`update ${key}`, async () => {
      checkSize(key, value);
      const k = Buffer.from(key);
      const res = await this.txn(
        [
          { key: k, target: 'CREATE', result: 'GREATER', create_revision: 0 },
          { key: k, target: 'MOD', result: 'EQUAL', mod_revision: expectedRevision },
        ],
        [{ request_put: { key: k, value } }],
        k,
      );
      if (res.succeeded) return res.header.revision;
      const cur = EtcdStore.current(res);
      if (!cur) throw new StoreError('NotFound', `key ${JSON.stringify(key)} not found`);
      throw new StoreError('Conflict', `key ${JSON.stringify(key)} has revision ${cur.modRevision}, expected ${expectedRevision}`, { current: cur });
    });
  }

  delete(key: string, expectedRevision?: number): Promise<DeleteResult> {
    return this.rpc(`delete ${key}`, async () => {
      const k = Buffer.from(key);
      const compare: PbCompare[] = [{ key: k, target: 'CREATE', result: 'GREATER', create_revision: 0 }];
      if (expectedRevision !== undefined) compare.push({ key: k, target: 'MOD', result: 'EQUAL', mod_revision: expectedRevision });
      const res = await this.txn(compare, [{ request_delete_range: { key: k, prev_kv: true } }], k);
      if (res.succeeded) {
        const prev = res.responses[0]?.response_delete_range?.prev_kvs?.[0];
        if (!prev) throw new StoreError('Unavailable', `etcd: delete ${key}: no previous value in the response`);
        return { revision: res.header.revision, prev: toKv(prev) };
      }
      const cur = EtcdStore.current(res);
      if (!cur) throw new StoreError('NotFound', `key ${JSON.stringify(key)} not found`);
      throw new StoreError('Conflict', `key ${JSON.stringify(key)} has revision ${cur.modRevision}, expected ${expectedRevision}`, { current: cur });
    });
  }

  watch(prefix: string, afterRevision: number, handlers: WatchHandlers): Watcher {
    const w = new EtcdWatch(this.conn, prefix, Math.max(0, afterRevision), handlers, this.opts.watchRetryTimeoutMs ?? 30_000, (x) =>
      this.watches.delete(x),
    );
    if (this.closed) {
      queueMicrotask(() => w.fail(new StoreError('Closed', 'store is closed')));
    } else if (afterRevision < this.knownCompacted) {
      const c = this.knownCompacted;
      queueMicrotask(() =>
        w.fail(new StoreError('Compacted', `etcd: revision ${afterRevision} has been compacted (compacted revision ${c})`, { compactedRevision: c })),
      );
    } else {
      this.watches.add(w);
      w.start();
    }
    return w;
  }

  private async readCompactKey(): Promise<{ revision: number; modRevision: number }> {
    const res = await this.conn.call('Range', { key: Buffer.from(COMPACT_REV_KEY) }, false);
    const kv = res.kvs[0];
    const revision = kv ? Number(kv.value.toString('utf8')) || 0 : 0;
    if (revision > this.knownCompacted) this.knownCompacted = revision;
    return { revision, modRevision: kv ? kv.mod_revision : 0 };
  }

  compactedRevision(): Promise<number> {
    return this.rpc('compacted revision', async () => {
      await this.readCompactKey();
      return this.knownCompacted;
    });
  }

  compact(revision: number): Promise<void> {
    return this.rpc(`compact ${revision}`, async () => {
      const rec = await this.readCompactKey();
      if (revision <= rec.revision) return;
      try {
        await this.conn.call('Compact', { revision, physical: true }, true);
      } catch (e) {
        // Someone compacted past this revision already: nothing is left to do.
        if (!(e instanceof RpcError && e.details.includes('required revision has been compacted'))) throw e;
      }
      this.knownCompacted = Math.max(this.knownCompacted, revision);
      // Record it, unless a concurrent compactor recorded a higher one meanwhile.
      let seen = rec;
      for (let i = 0; i < 5 && seen.revision < revision; i++) {
        const k = Buffer.from(COMPACT_REV_KEY);
        const res = await this.conn.call(
          'Txn',
          {
            compare: [{ key: k, target: 'MOD', result: 'EQUAL', mod_revision: seen.modRevision }],
            success: [{ request_put: { key: k, value: Buffer.from(String(revision)) } }],
            failure: [],
          },
          true,
        );
        if (res.succeeded) return;
        seen = await this.readCompactKey();
      }
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.compactTimer) clearInterval(this.compactTimer);
    const err = new StoreError('Closed', 'store is closed');
    for (const w of [...this.watches]) w.fail(err);
    this.conn.close();
  }
}

/** One Store watch: a gRPC Watch stream, re-established from the last delivered revision. */
class EtcdWatch implements Watcher {
  private readonly conn: EtcdConnection;
  private readonly key: Buffer;
  private readonly end: Buffer;
  private readonly handlers: WatchHandlers;
  private readonly retryTimeoutMs: number;
  private readonly onDone: (w: EtcdWatch) => void;
  private lastRev: number;
  private done = false;
  private stream: grpc.ClientDuplexStream<unknown, PbWatchResponse> | undefined;
  private failingSince: number | undefined;
  private retries = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(conn: EtcdConnection, prefix: string, after: number, handlers: WatchHandlers, retryTimeoutMs: number, onDone: (w: EtcdWatch) => void) {
    this.conn = conn;
    const p = Buffer.from(prefix);
    this.key = p.length > 0 ? p : ALL_KEYS;
    this.end = rangeEnd(p);
    this.lastRev = after;
    this.handlers = handlers;
    this.retryTimeoutMs = retryTimeoutMs;
    this.onDone = onDone;
  }

  start(): void {
    if (this.done) return;
    const ep = this.conn.currentEndpoint();
    const stream = (ep.watch as unknown as { Watch(md: grpc.Metadata): grpc.ClientDuplexStream<unknown, PbWatchResponse> }).Watch(
      EtcdConnection.metadata(),
    );
    this.stream = stream;
    let broken = false;
    const broke = (why: string) => {
      if (broken || this.stream !== stream) return;
      broken = true;
      this.stream = undefined;
      stream.removeAllListeners('data');
      stream.on('error', () => undefined);
      stream.cancel();
      this.conn.rotate(ep);
      this.retry(why);
    };
    stream.on('data', (res: PbWatchResponse) => {
      if (this.done || broken) return;
      if (res.canceled) {
        if (res.compact_revision > 0) {
          this.fail(
            new StoreError('Compacted', `etcd: revision ${this.lastRev} has been compacted (compacted revision ${res.compact_revision})`, {
              compactedRevision: res.compact_revision,
            }),
          );
        } else {
          broke(res.cancel_reason || 'watch canceled by the server');
        }
        return;
      }
      if (res.created) {
        this.failingSince = undefined;
        this.retries = 0;
      }
      if (res.events.length === 0) return;
      const events: WatchEvent[] = [];
      for (const ev of res.events) {
        // Resuming on another member starts at lastRev + 1; never repeat an event.
        if (ev.kv.mod_revision <= this.lastRev) continue;
        events.push(toEvent(ev.type, ev.kv, ev.prev_kv ?? undefined));
      }
      if (events.length === 0) return;
      this.lastRev = events[events.length - 1].kv.modRevision;
      try {
        this.handlers.onEvents(events);
      } catch (e) {
        // A throwing handler is the caller's bug; surface it without breaking the stream.
        process.nextTick(() => {
          throw e;
        });
      }
    });
    stream.on('error', (e: grpc.ServiceError) => broke(e.details ?? e.message));
    stream.on('end', () => broke('watch stream ended'));
    stream.write({
      create_request: { key: this.key, range_end: this.end, start_revision: this.lastRev + 1, prev_kv: true, progress_notify: true },
    });
  }

  private retry(why: string): void {
    if (this.done) return;
    const now = Date.now();
    this.failingSince ??= now;
    if (now - this.failingSince > this.retryTimeoutMs) {
      this.fail(new StoreError('Unavailable', `etcd: watch could not be resumed: ${why}`));
      return;
    }
    const delay = this.retries === 0 ? 0 : Math.min(1000, 25 * 2 ** Math.min(this.retries, 6));
    this.retries++;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.start();
    }, delay);
  }

  fail(err: StoreError): void {
    if (this.done) return;
    this.stop();
    this.handlers.onError(err);
  }

  private stop(): void {
    this.done = true;
    this.onDone(this);
    if (this.timer) clearTimeout(this.timer);
    const s = this.stream;
    this.stream = undefined;
    if (s) {
      s.removeAllListeners('data');
      s.on('error', () => undefined);
      s.cancel();
    }
  }

  cancel(): void {
    if (this.done) return;
    this.stop();
  }
}

function toEvent(type: 'PUT' | 'DELETE', kv: PbKeyValue, prev: PbKeyValue | undefined): WatchEvent {
  const prevKv = prev && prev.key.length > 0 ? toKv(prev) : undefined;
  if (type === 'DELETE') {
    // etcd's delete event carries only the key and revision; the Store contract wants the value.
    return {
      type: 'DELETE',
      kv: {
        key: kv.key.toString('utf8'),
        value: prevKv?.value ?? new Uint8Array(0),
        createRevision: prevKv?.createRevision ?? 0,
        modRevision: kv.mod_revision,
      },
      prevKv,
    };
  }
  const ev: WatchEvent = { type: 'PUT', kv: toKv(kv) };
  if (prevKv) ev.prevKv = prevKv;
  return ev;
}
