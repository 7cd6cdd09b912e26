// The watch cache: one decoded, frozen copy of every stored object, fed by a single store watch
// over /registry/. Lists, gets and watches are served from it; the store is read directly only for
// lists at an exact older revision and for continuing a paginated list after the cache moved on.
//
// Contracts:
// - `revision` is the highest store revision whose events have all been applied to every
//   resource cache. waitFor(rev) resolves once revision >= rev (read-your-writes for consistent reads).
// - Cached objects are deep-frozen and shared with every reader; nobody mutates them. Their JSON
//   encoding is computed once, on first use, and the same bytes go to every list and watcher.
// - Each resource keeps a ring of recent events; a watch from a revision inside the ring replays it,
//   from an older one fails with 410 Expired (the client relists), as upstream's cacher does.
import { deepFreeze, type KObject } from '../api/meta.ts';
import { resourceExpired } from '../api/errors.ts';
import type { Store, Watcher, WatchEvent as StoreEvent } from '../storage/store.ts';

export interface Entry {
  key: string;
  namespace: string;
  name: string;
  obj: KObject;
  rev: number;
  /** Lazily computed JSON bytes of obj (with resourceVersion). */
  jsonCache?: Buffer;
}

export function entryJson(e: Entry): Buffer {
  return (e.jsonCache ??= ownedUtf8(JSON.stringify(e.obj)));
}

/**
 * The UTF-8 bytes of `s` in memory of their own. Node carves small Buffers (under 4 KiB, as most
 * objects' JSON is) out of shared 8 KiB slabs, and one kept slice keeps its whole slab alive: kept
 * for as long as an object stays in the cache, pooled bytes cost up to twice their size.
 */
export function ownedUtf8(s: string): Buffer {
  const b = Buffer.from(s);
  if (b.byteOffset === 0 && b.buffer.byteLength === b.length) return b;
  const own = Buffer.allocUnsafeSlow(b.length);
  b.copy(own);
  return own;
}

/**
 * Encodings of recently delivered entries, by entry and a caller's key (event type and version),
 * for at most `capacity` entries: the oldest entry's encodings are dropped first. Shared by the
 * watchers an event goes to in one dispatch; a watcher replaying older history encodes again.
 */
export class RecentEncodings {
  readonly #byEntry = new Map<Entry, Map<string, Buffer | Uint8Array>>();
  readonly #capacity: number;

  constructor(capacity: number) {
    this.#capacity = capacity;
  }

  /** The encodings kept for `e` (an empty map the caller fills when it has none). */
  of<T extends Buffer | Uint8Array>(e: Entry): Map<string, T> {
    let m = this.#byEntry.get(e);
    if (m === undefined) {
      if (this.#byEntry.size >= this.#capacity) this.#byEntry.delete(this.#byEntry.keys().next().value!);
      this.#byEntry.set(e, (m = new Map()));
    }
    return m as Map<string, T>;
  }

  get size(): number {
    return this.#byEntry.size;
  }
}

export type CacheEventType = 'ADDED' | 'MODIFIED' | 'DELETED';

export interface CacheEvent {
  type: CacheEventType;
  /** For DELETED: the last state of the object, with the delete's revision as resourceVersion. */
  entry: Entry;
  prev?: Entry;
  rev: number;
}

export interface CacheWatcher {
  /** Called with each event of the resource in revision order. Must not throw. */
  onEvent(ev: CacheEvent): void;
  /** The cache's revision advanced (batch boundary); used for bookmarks. */
  onProgress?(rev: number): void;
}

const RING = 10_000;

export class ResourceCache {
  readonly prefix: string;
  readonly namespaced: boolean;
  readonly items = new Map<string, Entry>();
  private sorted: string[] | null = null;
  private readonly byNs = new Map<string, { items: Map<string, Entry>; sorted: string[] | null }>();
  private readonly ring: CacheEvent[] = [];
  private ringStart = 0;
  /** Events with revision > oldest are all in the ring. */
  private oldest: number;
  readonly watchers = new Set<CacheWatcher>();
  private readonly decode: (key: string, value: Uint8Array, rev: number) => KObject;

  constructor(prefix: string, namespaced: boolean, startRev: number, decode: (key: string, value: Uint8Array, rev: number) => KObject) {
    this.prefix = prefix;
    this.namespaced = namespaced;
    this.oldest = startRev;
    this.decode = decode;
  }

  private split(key: string): { namespace: string; name: string } {
    const rest = key.slice(this.prefix.length);
    if (!this.namespaced) return { namespace: '', name: rest };
    const i = rest.indexOf('/');
    return { namespace: rest.slice(0, i), name: rest.slice(i + 1) };
  }

  /** Loads the initial state (from a list at the start revision). */
  load(key: string, value: Uint8Array, rev: number): void {
    const { namespace, name } = this.split(key);
    const e: Entry = { key, namespace, name, obj: deepFreeze(this.decode(key, value, rev)), rev };
    this.put(e);
  }

  private put(e: Entry): Entry | undefined {
    const prev = this.items.get(e.key);
    this.items.set(e.key, e);
    if (!prev) this.sorted = null;
    if (this.namespaced) {
      let m = this.byNs.get(e.namespace);
      if (!m) this.byNs.set(e.namespace, (m = { items: new Map(), sorted: null }));
      m.items.set(e.key, e);
      if (!prev) m.sorted = null;
    }
    return prev;
  }

  private remove(key: string): Entry | undefined {
    const prev = this.items.get(key);
    if (!prev) return undefined;
    this.items.delete(key);
    this.sorted = null;
    if (this.namespaced) {
      const m = this.byNs.get(prev.namespace);
      if (m) {
        m.items.delete(key);
        m.sorted = null;
        if (m.items.size === 0) this.byNs.delete(prev.namespace);
      }
    }
    return prev;
  }

  apply(ev: StoreEvent): void {
    const key = ev.kv.key;
    const rev = ev.kv.modRevision;
    let ce: CacheEvent;
    if (ev.type === 'PUT') {
      const { namespace, name } = this.split(key);
      const e: Entry = { key, namespace, name, obj: deepFreeze(this.decode(key, ev.kv.value, rev)), rev };
      const prev = this.put(e);
      ce = { type: prev ? 'MODIFIED' : 'ADDED', entry: e, prev, rev };
    } else {
      const prev = this.remove(key);
      const { namespace, name } = this.split(key);
      // The DELETED event carries the last state with the delete's revision, as upstream's watch does.
      const lastValue = ev.prevKv?.value ?? ev.kv.value;
      const obj = deepFreeze(this.decode(key, lastValue, rev));
      ce = { type: 'DELETED', entry: { key, namespace, name, obj, rev }, prev, rev };
    }
    this.record(ce);
    for (const w of this.watchers) w.onEvent(ce);
  }

  private record(ce: CacheEvent): void {
    if (this.ring.length - this.ringStart >= RING) {
      this.oldest = this.ring[this.ringStart]!.rev;
      this.ringStart++;
      if (this.ringStart > RING) {
        this.ring.splice(0, this.ringStart);
        this.ringStart = 0;
      }
    }
    this.ring.push(ce);
  }

  /**
   * The events with revision > rev, for resuming a watch. Throws 410 Expired when rev is older
   * than what the ring holds.
   */
  eventsAfter(rev: number): CacheEvent[] {
    if (rev < this.oldest) {
      throw resourceExpired(`too old resource version: ${rev} (${this.oldest})`);
    }
    const out: CacheEvent[] = [];
    // binary search for the first event with revision > rev
    let lo = this.ringStart;
    let hi = this.ring.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.ring[mid]!.rev <= rev) lo = mid + 1;
      else hi = mid;
    }
    for (let i = lo; i < this.ring.length; i++) out.push(this.ring[i]!);
    return out;
  }

  get(key: string): Entry | undefined {
    return this.items.get(key);
  }

  /** The number of entries (in one namespace, when given). */
  size(namespace?: string): number {
    if (namespace !== undefined && this.namespaced) return this.byNs.get(namespace)?.items.size ?? 0;
    return this.items.size;
  }

  /**
   * Entries in key order, optionally only one namespace's, starting at startKey (inclusive).
   * Sorted key arrays are kept per namespace and rebuilt only after keys come or go, so a page of
   * a large list costs a binary search plus the page.
   */
  list(namespace: string | undefined, startKey?: string, limit = 0): Entry[] {
    let keys: string[];
    let items: Map<string, Entry>;
    if (namespace !== undefined && this.namespaced) {
      const m = this.byNs.get(namespace);
      if (!m) return [];
      m.sorted ??= [...m.items.keys()].sort();
      keys = m.sorted;
      items = m.items;
    } else {
      this.sorted ??= [...this.items.keys()].sort();
      keys = this.sorted;
      items = this.items;
    }
    let i = 0;
    if (startKey) {
      let lo = 0;
      let hi = keys.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (keys[mid]! < startKey) lo = mid + 1;
        else hi = mid;
      }
      i = lo;
    }
    const end = limit > 0 ? Math.min(keys.length, i + limit) : keys.length;
    const out: Entry[] = new Array(end - i);
    for (let j = i; j < end; j++) out[j - i] = items.get(keys[j]!)!;
    return out;
  }

  /** How many entries come at or after startKey (for remainingItemCount). */
  countFrom(namespace: string | undefined, startKey: string): number {
    const keys = namespace !== undefined && this.namespaced ? (this.byNs.get(namespace)?.sorted ?? []) : (this.sorted ?? []);
    let lo = 0;
    let hi = keys.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (keys[mid]! < startKey) lo = mid + 1;
      else hi = mid;
    }
    return keys.length - lo;
  }
}

/**
 * All resource caches, fed by one store watch. Keys that belong to no declared resource are
 * ignored (they are not ours to serve).
 */
export class WatchCache {
  readonly caches = new Map<string, ResourceCache>();
  revision = 0;
  private waiters: { rev: number; resolve: () => void }[] = [];
  private watcher?: Watcher;
  private failed?: Error;
  private readonly store: Store;

  constructor(store: Store) {
    this.store = store;
  }

  /** Registers a resource's cache; call before start(). */
  add(prefix: string, namespaced: boolean, decode: (key: string, value: Uint8Array, rev: number) => KObject): ResourceCache {
    const p = prefix.endsWith('/') ? prefix : prefix + '/';
    const c = new ResourceCache(p, namespaced, 0, decode);
    this.caches.set(p, c);
    return c;
  }

  cacheFor(key: string): ResourceCache | undefined {
    // Prefixes have two or three segments (/registry/pods/, /registry/services/specs/).
    let i = key.indexOf('/', 10); // after "/registry/"
    if (i < 0) return undefined;
    const two = key.slice(0, i + 1);
    const j = key.indexOf('/', i + 1);
    if (j >= 0) {
      const three = this.caches.get(key.slice(0, j + 1));
      if (three) return three;
    }
    return this.caches.get(two);
  }

  /** Lists everything under /registry/ at one revision, then watches from it. */
  async start(onFatal: (err: Error) => void): Promise<void> {
    let startKey: string | undefined;
    let rev = 0;
    for (;;) {
      const page = await this.store.list('/registry/', { revision: rev || undefined, limit: 5000, startKey });
      rev = page.revision;
      for (const kv of page.kvs) this.cacheFor(kv.key)?.load(kv.key, kv.value, kv.modRevision);
      if (!page.more || page.kvs.length === 0) break;
      startKey = page.kvs[page.kvs.length - 1]!.key + '\0';
    }
    for (const c of this.caches.values()) (c as unknown as { oldest: number }).oldest = rev;
    this.revision = rev;
    this.watcher = this.store.watch('/registry/', rev, {
      onEvents: (evs) => {
        for (const ev of evs) this.cacheFor(ev.kv.key)?.apply(ev);
        const last = evs[evs.length - 1]!.kv.modRevision;
        if (last > this.revision) this.advance(last);
      },
      onError: (err) => {
        this.failed = err;
        onFatal(err);
      },
    });
  }

  private advance(rev: number): void {
    this.revision = rev;
    for (const c of this.caches.values()) for (const w of c.watchers) w.onProgress?.(rev);
    if (this.waiters.length) {
      const still: typeof this.waiters = [];
      for (const w of this.waiters) (w.rev <= rev ? w.resolve() : still.push(w));
      this.waiters = still;
    }
  }

  /** Resolves once the cache has applied every event up to rev; rejects after timeoutMs. */
  waitFor(rev: number, timeoutMs = 3000): Promise<boolean> {
    if (this.failed) return Promise.reject(this.failed);
    if (this.revision >= rev) return Promise.resolve(true);
    return new Promise((resolve) => {
      const t = setTimeout(() => {
        this.waiters = this.waiters.filter((w) => w !== entry);
        resolve(false);
      }, timeoutMs);
      const entry = {
        rev,
        resolve: () => {
          clearTimeout(t);
          resolve(true);
        },
      };
      this.waiters.push(entry);
    });
  }

  /** Brings the cache up to the store's current revision (a consistent read). */
  async sync(): Promise<number> {
    const rev = await this.store.currentRevision();
    if (!(await this.waitFor(rev))) throw new Error(`watch cache did not reach revision ${rev}`);
    return Math.max(rev, this.revision);
  }

  stop(): void {
    this.watcher?.cancel();
  }
}
