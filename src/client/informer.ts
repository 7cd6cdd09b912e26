// Shared informers: one list-then-watch per resource feeding an indexed cache and any number of
// event handlers, as client-go's reflector and sharedIndexInformer do.
//
// The loop (the reflector):
// 1. list, page by page, at the newest revision; the cache becomes exactly the list, and handlers
//    hear the difference (adds, updates of objects whose resourceVersion changed, deletes);
// 2. watch from the list's resourceVersion with bookmarks, applying each event in order;
// 3. when the watch ends (the server's timeout), watch again from the last resourceVersion seen
//    (an event's or a bookmark's), so nothing is lost and nothing is listed again;
// 4. when the connection breaks, back off (800 ms doubling to 30 s, jittered) and resume as in 3;
// 5. when the server says the resourceVersion is too old (410 Expired/Gone), or refuses the watch
//    with another Status, list again (1.) and deliver the difference.
//
// Contracts:
// - Handlers run synchronously, in event order, one at a time; they receive frozen objects that
//   are shared with the cache and every other handler, and must not block (enqueue a key). A
//   handler that throws is logged and does not stop delivery.
// - onDelete gets the last state known; finalStateUnknown is true when the delete was inferred
//   from a relist (upstream's DeletedFinalStateUnknown), not seen as an event.
// - hasSynced() turns true once the first list has been applied; handlers added later get an
//   onAdd (isInInitialList true) for every cached object first.
import { StatusError } from '../api/errors.ts';
import { deepFreeze, type KList, type KObject, type WatchEvent } from '../api/meta.ts';
import { statusErrorFrom, type WatchHandle } from '../api/transport.ts';
import type { Client, ListOptions, WatchCallbacks } from './client.ts';
import { realClock, type Clock, type Timer } from './clock.ts';
import { Indexer, Lister, metaNamespaceKey, type IndexFunc } from './store.ts';

export interface EventHandler<T> {
  onAdd?(obj: T, isInInitialList: boolean): void;
  onUpdate?(oldObj: T, newObj: T): void;
  onDelete?(obj: T, finalStateUnknown: boolean): void;
}

export interface HandlerRegistration {
  remove(): void;
}

/** What an informer lists and watches through; a ResourceClient is one. */
export interface ListerWatcher<T> {
  list(opts: ListOptions & { signal?: AbortSignal }): Promise<KList<T>>;
  watch(opts: ListOptions & { signal?: AbortSignal }, cb: WatchCallbacks<T>): WatchHandle;
}

export interface InformerOptions<T> {
  clock?: Clock;
  /** Re-deliver every cached object as onUpdate(obj, obj) this often (ms); 0 = never (default). */
  resyncPeriodMs?: number;
  indexers?: Record<string, IndexFunc<T>>;
  labelSelector?: string;
  fieldSelector?: string;
  /** List page size (default 500, as client-go). */
  pageSize?: number;
  /** Watches ask the server to end after a random time between this and twice it (default 300 s). */
  minWatchTimeoutSeconds?: number;
  backoffInitialMs?: number;
  backoffMaxMs?: number;
  random?: () => number;
  log?: (msg: string) => void;
  /** For logs: e.g. "deployments.apps". */
  name?: string;
}

interface Registered<T> {
  handler: EventHandler<T>;
  resyncMs: number;
  timer?: Timer;
}

type WatchOutcome = { kind: 'ended' } | { kind: 'expired'; err: StatusError } | { kind: 'status'; err: StatusError } | { kind: 'broken'; err: Error } | { kind: 'stopped' };

export class SharedInformer<T extends KObject = KObject> {
  readonly indexer: Indexer<T>;
  readonly name: string;
  private readonly lw: ListerWatcher<T>;
  private readonly clock: Clock;
  private readonly opts: InformerOptions<T>;
  private readonly handlers = new Set<Registered<T>>();
  private readonly log: (msg: string) => void;
  private readonly random: () => number;
  private started = false;
  private stopped = false;
  private synced = false;
  private syncWaiters: ((ok: boolean) => void)[] = [];
  private lastRV = '';
  private readonly stopper = new AbortController();
  private watchHandle?: WatchHandle;
  private failures = 0;
  private lastFailureAt = 0;
  /** Counters for tests and metrics. */
  readonly stats = { lists: 0, watches: 0, relistsAfterExpired: 0 };

  constructor(lw: ListerWatcher<T>, opts: InformerOptions<T> = {}) {
    this.lw = lw;
    this.opts = opts;
    this.clock = opts.clock ?? realClock;
    this.indexer = new Indexer<T>(opts.indexers ?? {});
    this.name = opts.name ?? 'informer';
    this.log = opts.log ?? ((m) => console.error(`rudder client: ${m}`));
    this.random = opts.random ?? Math.random;
  }

  /** Read access to the cache. */
  lister(): Lister<T> {
    return new Lister(this.indexer);
  }

  addIndexers(indexers: Record<string, IndexFunc<T>>): void {
    this.indexer.addIndexers(indexers);
  }

  /**
   * Registers a handler. If the informer already has objects, the handler first gets onAdd for
   * each (isInInitialList true). resyncPeriodMs overrides the informer's resync for this handler.
   */
  addEventHandler(handler: EventHandler<T>, resyncPeriodMs?: number): HandlerRegistration {
    const reg: Registered<T> = { handler, resyncMs: resyncPeriodMs ?? this.opts.resyncPeriodMs ?? 0 };
    this.handlers.add(reg);
    for (const obj of this.indexer.list()) this.call(reg, 'onAdd', () => handler.onAdd?.(obj, true));
    if (this.started && !this.stopped) this.armResync(reg);
    return {
      remove: () => {
        reg.timer?.cancel();
        this.handlers.delete(reg);
      },
    };
  }

  hasSynced(): boolean {
    return this.synced;
  }

  /** Resolves true once synced; false if the informer stops or the signal aborts first. */
  waitForSync(signal?: AbortSignal): Promise<boolean> {
    if (this.synced) return Promise.resolve(true);
    if (this.stopped || signal?.aborted) return Promise.resolve(false);
    return new Promise((resolve) => {
      const done = (ok: boolean) => {
        signal?.removeEventListener('abort', onAbort);
        resolve(ok);
      };
      const onAbort = () => {
        this.syncWaiters = this.syncWaiters.filter((w) => w !== done);
        resolve(false);
      };
      signal?.addEventListener('abort', onAbort, { once: true });
      this.syncWaiters.push(done);
    });
  }

  /** The resourceVersion the cache reflects (of the last list, event or bookmark). */
  lastSyncResourceVersion(): string {
    return this.lastRV;
  }

  isStarted(): boolean {
    return this.started;
  }

  /** Starts the list-and-watch loop; idempotent. */
  start(): void {
    if (this.started || this.stopped) return;
    this.started = true;
    for (const reg of this.handlers) this.armResync(reg);
    void this.run();
  }

  /** Stops the loop and resync timers; the cache keeps its last contents. */
  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    this.stopper.abort();
    this.watchHandle?.close();
    this.watchHandle = undefined;
    for (const reg of this.handlers) reg.timer?.cancel();
    for (const w of this.syncWaiters.splice(0)) w(false);
  }

  // ------------------------------------------------------------------------------ the loop

  private async run(): Promise<void> {
    let needList = true;
    while (!this.stopped) {
      if (needList) {
        try {
          await this.listAndReplace();
          needList = false;
        } catch (e) {
          if (this.stopped) return;
          this.log(`${this.name}: list failed: ${(e as Error).message}`);
          await this.backoff();
          continue;
        }
      }
      const out = await this.watchOnce();
      switch (out.kind) {
        case 'stopped':
          return;
        case 'ended':
          break;
        case 'expired':
          // The server no longer has events from our resourceVersion: list again and deliver the difference.
          this.stats.relistsAfterExpired++;
          needList = true;
          break;
        case 'status':
          this.log(`${this.name}: watch failed: ${out.err.message}`);
          needList = true;
          await this.backoff();
          break;
        case 'broken':
          this.log(`${this.name}: watch broke: ${out.err.message}`);
          await this.backoff();
          break;
      }
    }
  }

  /** Sleeps the reflector's back-off: 800 ms doubling to 30 s, ×(1..2) jitter; reset after 2 quiet minutes. */
  private async backoff(): Promise<void> {
    const now = this.clock.now();
    if (now - this.lastFailureAt > 120_000) this.failures = 0;
    this.lastFailureAt = now;
    const base = Math.min(this.opts.backoffMaxMs ?? 30_000, (this.opts.backoffInitialMs ?? 800) * 2 ** this.failures);
    this.failures++;
    try {
      await this.clock.after(base * (1 + this.random()), this.stopper.signal);
    } catch {
      /* stopped */
    }
  }

  private async listAndReplace(): Promise<void> {
    this.stats.lists++;
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    const base: ListOptions = { labelSelector: this.opts.labelSelector, fieldSelector: this.opts.fieldSelector };
    for (;;) {
      let page: KList<T>;
      try {
        page = await this.lw.list({ ...base, limit: this.opts.pageSize ?? 500, continue: cont, signal: this.stopper.signal });
      } catch (e) {
        if (cont && e instanceof StatusError && e.code === 410) {
          // the continue token expired between pages: take one unpaginated list instead
          items.length = 0;
          page = await this.lw.list({ ...base, signal: this.stopper.signal });
          cont = undefined;
          rv = page.metadata.resourceVersion ?? '';
          for (const it of page.items) items.push(withTypeMeta(it, page));
          break;
        }
        throw e;
      }
      if (!cont) rv = page.metadata.resourceVersion ?? '';
      for (const it of page.items) items.push(withTypeMeta(it, page));
      cont = page.metadata.continue || undefined;
      if (!cont) break;
    }
    if (this.stopped) return;
    this.replace(items, rv);
  }

  /** Makes the cache exactly `items` and tells handlers what changed. */
  private replace(items: T[], rv: string): void {
    const initial = !this.synced;
    const seen = new Set<string>();
    for (const raw of items) {
      const obj = deepFreeze(raw);
      const key = metaNamespaceKey(obj);
      seen.add(key);
      const old = this.indexer.get(key);
      if (old && old.metadata.resourceVersion === obj.metadata.resourceVersion) continue;
      this.indexer.upsert(key, obj);
      if (old) this.notify('onUpdate', (h) => h.onUpdate?.(old, obj));
      else this.notify('onAdd', (h) => h.onAdd?.(obj, initial));
    }
    for (const key of this.indexer.listKeys()) {
      if (seen.has(key)) continue;
      const old = this.indexer.remove(key)!;
      this.notify('onDelete', (h) => h.onDelete?.(old, true));
    }
    this.lastRV = rv;
    if (!this.synced) {
      this.synced = true;
      for (const w of this.syncWaiters.splice(0)) w(true);
    }
  }

  private watchOnce(): Promise<WatchOutcome> {
    if (this.stopped) return Promise.resolve({ kind: 'stopped' });
    this.stats.watches++;
    const min = this.opts.minWatchTimeoutSeconds ?? 300;
    const timeoutSeconds = Math.floor(min * (1 + this.random()));
    return new Promise<WatchOutcome>((resolve) => {
      let settled = false;
      let handle: WatchHandle | undefined;
      const finish = (o: WatchOutcome) => {
        if (settled) return;
        settled = true;
        this.stopper.signal.removeEventListener('abort', onStop);
        this.watchHandle = undefined;
        handle?.close();
        resolve(o);
      };
      const onStop = () => finish({ kind: 'stopped' });
      this.stopper.signal.addEventListener('abort', onStop, { once: true });
      let delivered = false;
      handle = this.lw.watch(
        {
          labelSelector: this.opts.labelSelector,
          fieldSelector: this.opts.fieldSelector,
          resourceVersion: this.lastRV,
          allowWatchBookmarks: true,
          timeoutSeconds,
        },
        {
          onEvent: (ev) => {
            if (settled) return;
            const r = this.apply(ev as WatchEvent<T>);
            if (r) finish(r);
            else if (!delivered && ev.type !== 'BOOKMARK') {
              // a watch that delivers is a healthy connection: the next failure backs off from the start
              delivered = true;
              this.failures = 0;
            }
          },
          onClose: (err) => {
            if (!err) finish({ kind: 'ended' });
            else if (err instanceof StatusError) finish(err.code === 410 ? { kind: 'expired', err } : { kind: 'status', err });
            else finish({ kind: 'broken', err });
          },
        },
      );
      if (settled) handle.close();
      else this.watchHandle = handle;
    });
  }

  /** Applies one watch event; answers an outcome when the event ends the watch. */
  private apply(ev: WatchEvent<T>): WatchOutcome | undefined {
    switch (ev.type) {
      case 'BOOKMARK': {
        const rv = (ev.object as KObject | undefined)?.metadata?.resourceVersion;
        if (rv) this.lastRV = rv;
        return undefined;
      }
      case 'ERROR': {
        const err = statusErrorFrom(Number((ev.object as { code?: number })?.code) || 500, ev.object);
        return err.code === 410 ? { kind: 'expired', err } : { kind: 'status', err };
      }
      case 'ADDED':
      case 'MODIFIED': {
        const obj = deepFreeze(ev.object);
        const key = metaNamespaceKey(obj);
        const old = this.indexer.upsert(key, obj);
        if (obj.metadata?.resourceVersion) this.lastRV = obj.metadata.resourceVersion;
        if (old) this.notify('onUpdate', (h) => h.onUpdate?.(old, obj));
        else this.notify('onAdd', (h) => h.onAdd?.(obj, false));
        return undefined;
      }
      case 'DELETED': {
        const obj = deepFreeze(ev.object);
        const key = metaNamespaceKey(obj);
        const old = this.indexer.remove(key);
        if (obj.metadata?.resourceVersion) this.lastRV = obj.metadata.resourceVersion;
        if (old) this.notify('onDelete', (h) => h.onDelete?.(obj, false));
        return undefined;
      }
      default:
        this.log(`${this.name}: unexpected watch event type ${String((ev as { type?: unknown }).type)}`);
        return undefined;
    }
  }

  private notify(what: string, fn: (h: EventHandler<T>) => void): void {
    for (const reg of this.handlers) this.call(reg, what, () => fn(reg.handler));
  }

  private call(_reg: Registered<T>, what: string, fn: () => void): void {
    try {
      fn();
    } catch (e) {
      this.log(`${this.name}: event handler ${what} threw: ${(e as Error)?.stack ?? e}`);
    }
  }

  private armResync(reg: Registered<T>): void {
    if (reg.resyncMs <= 0 || !this.handlers.has(reg)) return;
    reg.timer?.cancel();
    reg.timer = this.clock.setTimeout(() => {
      if (this.stopped || !this.handlers.has(reg)) return;
      if (this.synced) for (const obj of this.indexer.list()) this.call(reg, 'onUpdate', () => reg.handler.onUpdate?.(obj, obj));
      this.armResync(reg);
    }, reg.resyncMs);
  }
}

/**
 * Upstream servers leave kind and apiVersion out of list items; watched objects carry them.
 * Cached objects always carry them (a shallow copy when missing: the item itself is read-only).
 */
function withTypeMeta<T extends KObject>(item: T, list: KList<T>): T {
  if (item.kind && item.apiVersion) return item;
  const kind = list.kind?.endsWith('List') ? list.kind.slice(0, -4) : item.kind;
  return { ...item, kind: item.kind || kind, apiVersion: item.apiVersion || list.apiVersion };
}

export interface FactoryOptions {
  clock?: Clock;
  /** Default resync for every informer (ms); 0 = never. */
  resyncPeriodMs?: number;
  /** Only this namespace's objects (namespaced resources); all namespaces when absent. */
  namespace?: string;
  labelSelector?: string;
  fieldSelector?: string;
  log?: (msg: string) => void;
  /** Passed to every informer (tests shorten these). */
  informer?: Pick<InformerOptions<KObject>, 'backoffInitialMs' | 'backoffMaxMs' | 'minWatchTimeoutSeconds' | 'pageSize' | 'random'>;
}

/**
 * One informer per resource, however many controllers ask for it: informerFor() returns the same
 * instance for the same group and plural; start() starts every informer created so far.
 */
export class SharedInformerFactory {
  private readonly client: Client;
  private readonly opts: FactoryOptions;
  private readonly informers = new Map<string, SharedInformer<KObject>>();
  private stopped = false;

  constructor(client: Client, opts: FactoryOptions = {}) {
    this.client = client;
    this.opts = opts;
  }

  /** The shared informer of a resource; indexers are added to it (same-named ones must be the same function). */
  informerFor<T extends KObject = KObject>(group: string, plural: string, opts: { indexers?: Record<string, IndexFunc<T>> } = {}): SharedInformer<T> {
    const id = `${group}/${plural}`;
    let inf = this.informers.get(id) as SharedInformer<T> | undefined;
    if (!inf) {
      let rc = this.client.resource<T>(group, plural);
      if (this.opts.namespace !== undefined && rc.decl.namespaced) rc = rc.namespace(this.opts.namespace);
      inf = new SharedInformer<T>(rc, {
        ...this.opts.informer,
        clock: this.opts.clock,
        resyncPeriodMs: this.opts.resyncPeriodMs,
        labelSelector: this.opts.labelSelector,
        fieldSelector: this.opts.fieldSelector,
        log: this.opts.log,
        name: group ? `${plural}.${group}` : plural,
      });
      this.informers.set(id, inf as unknown as SharedInformer<KObject>);
    }
    if (opts.indexers) inf.addIndexers(opts.indexers);
    return inf;
  }

  /** Starts every informer not yet started (call again after asking for more). */
  start(): void {
    if (this.stopped) return;
    for (const inf of this.informers.values()) inf.start();
  }

  /** Resolves true when every started informer has synced; false if any stopped or the signal aborted. */
  async waitForCacheSync(signal?: AbortSignal): Promise<boolean> {
    const results = await Promise.all([...this.informers.values()].filter((i) => i.isStarted()).map((i) => i.waitForSync(signal)));
    return results.every(Boolean);
  }

  shutdown(): void {
    this.stopped = true;
    for (const inf of this.informers.values()) inf.stop();
  }
}
