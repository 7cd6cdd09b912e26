// One list/watch shared by many kubelets in one process (`rudder sim`): a single informer over the
// API, and, for each kubelet, a Transport that answers that kubelet's own list and watch of the
// resource from it — filtered by a key (a pod's spec.nodeName; '' for every object) — and sends
// everything else to the kubelet's own connection. A thousand hollow nodes then hold one pod watch
// and one copy of each pod instead of a thousand.
//
// What the kubelets' informers see keeps the API's watch contract:
// - a list answers the objects with the key, at a feed revision (the resourceVersion of the list);
// - a watch from that revision delivers every later change for the key, in order: ADDED when an
//   object comes to have the key (a pod bound to the node), MODIFIED, DELETED when it is deleted or
//   loses the key — as the API server's own filtered watches do;
// - a watch from a revision older than the feed remembers answers 410 Expired (the informer lists
//   again). Objects are shared, read-only, as the Transport contract says.
import { encodeQuery, type Transport, type TransportRequest, type TransportResponse, type WatchHandle, type WatchHandlers } from '../api/transport.ts';
import type { KObject, WatchEvent } from '../api/meta.ts';
import type { Client } from '../client/client.ts';
import type { Clock } from '../client/clock.ts';
import { SharedInformer } from '../client/informer.ts';

type EventType = 'ADDED' | 'MODIFIED' | 'DELETED';
interface Logged {
  seq: number;
  type: EventType;
  object: KObject;
}

const KEY_INDEX = 'feed-key';
/** Events kept per key for watches that start a little behind (a list, then a watch). */
const RETAINED_PER_KEY = 256;

export interface SharedFeedOptions {
  client: Client;
  group: string;
  plural: string;
  /** The key a kubelet's request selects by, from the object (undefined: no kubelet's). */
  keyOf: (obj: KObject) => string | undefined;
  clock?: Clock;
  log?: (msg: string) => void;
}

export class SharedFeed {
  readonly informer: SharedInformer<KObject>;
  readonly group: string;
  readonly plural: string;
  readonly #keyOf: (obj: KObject) => string | undefined;
  #seq = 0;
  readonly #logs = new Map<string, { events: Logged[]; droppedUpTo: number }>();
  readonly #watchers = new Map<string, Set<(e: Logged) => void>>();
  /** Counters for tests and the sim's report. */
  readonly stats = { lists: 0, watches: 0, expired: 0 };

  constructor(o: SharedFeedOptions) {
    this.group = o.group;
    this.plural = o.plural;
    this.#keyOf = o.keyOf;
    this.informer = new SharedInformer<KObject>(o.client.resource(o.group, o.plural), {
      clock: o.clock,
      log: o.log,
      name: `shared ${o.plural}`,
      indexers: { [KEY_INDEX]: (obj) => [o.keyOf(obj) ?? ''] },
    });
    this.informer.addEventHandler({
      onAdd: (obj) => this.#emit(this.#keyOf(obj), 'ADDED', obj),
      onUpdate: (old, obj) => {
        const was = this.#keyOf(old);
        const now = this.#keyOf(obj);
        if (was === now) this.#emit(now, 'MODIFIED', obj);
        else {
          this.#emit(was, 'DELETED', old);
          this.#emit(now, 'ADDED', obj);
        }
      },
      onDelete: (obj) => this.#emit(this.#keyOf(obj), 'DELETED', obj),
    });
  }

  start(): void {
    this.informer.start();
  }

  waitForSync(signal?: AbortSignal): Promise<boolean> {
    return this.informer.waitForSync(signal);
  }

  stop(): void {
    this.informer.stop();
    for (const ws of this.#watchers.values()) ws.clear();
  }

  /** The objects with `key` ('' for all) and the feed revision they are at. */
  list(key: string): { items: KObject[]; resourceVersion: string } {
    this.stats.lists++;
    const items = key === '' ? this.informer.indexer.list() : this.informer.indexer.byIndex(KEY_INDEX, key);
    return { items, resourceVersion: String(this.#seq) };
  }

  /** Watches `key` ('' for all) from a feed revision. */
  watch(key: string, fromRv: string, handlers: WatchHandlers): WatchHandle {
    this.stats.watches++;
    const from = /^\d+$/.test(fromRv) ? Number(fromRv) : this.#seq;
    const log = this.#logs.get(key);
    let closed = false;
    if (from < (log?.droppedUpTo ?? 0) || from > this.#seq) {
      this.stats.expired++;
      queueMicrotask(() => {
        if (closed) return;
        handlers.onEvent({ type: 'ERROR', object: { kind: 'Status', apiVersion: 'v1', metadata: {}, status: 'Failure', message: `too old resource version: ${from} (${log?.droppedUpTo ?? this.#seq})`, reason: 'Expired', code: 410 } } as WatchEvent);
        handlers.onClose();
      });
      return { close: () => void (closed = true) };
    }
    // Replay what happened since `from`, then follow; delivery is synchronous with the informer's
    // handler, so nothing falls between the two.
    for (const e of log?.events ?? []) if (e.seq > from) handlers.onEvent({ type: e.type, object: e.object } as WatchEvent);
    const w = (e: Logged) => {
      if (!closed) handlers.onEvent({ type: e.type, object: e.object } as WatchEvent);
    };
    let set = this.#watchers.get(key);
    if (!set) this.#watchers.set(key, (set = new Set()));
    set.add(w);
    return {
      close: () => {
        closed = true;
        this.#watchers.get(key)?.delete(w);
      },
    };
  }

  #emit(key: string | undefined, type: EventType, object: KObject): void {
    const seq = ++this.#seq;
    for (const k of key === undefined || key === '' ? [''] : [key, '']) {
      let log = this.#logs.get(k);
      if (!log) this.#logs.set(k, (log = { events: [], droppedUpTo: 0 }));
      const e = { seq, type, object };
      log.events.push(e);
      if (log.events.length > RETAINED_PER_KEY) log.droppedUpTo = log.events.shift()!.seq;
      for (const w of this.#watchers.get(k) ?? []) w(e);
    }
  }
}

/** The key a request selects by, when it is one a feed answers: `spec.nodeName=<x>` for pods, none for services. */
export interface FeedRoute {
  feed: SharedFeed;
  /** The request's path, e.g. /api/v1/pods. */
  path: string;
  /** The key a request's query selects, or undefined when the feed cannot answer it. */
  keyOf(query: Record<string, unknown>): string | undefined;
}

const isEmpty = (v: unknown) => v === undefined || v === '';

/** Routes for a pod feed keyed by node name and a service feed (unkeyed). */
export function podRoute(feed: SharedFeed): FeedRoute {
  return {
    feed,
    path: '/api/v1/pods',
    keyOf: (q) => {
      if (!isEmpty(q.labelSelector)) return undefined;
      const m = /^spec\.nodeName=([^,]+)$/.exec(String(q.fieldSelector ?? ''));
      return m ? m[1] : undefined;
    },
  };
}

export function serviceRoute(feed: SharedFeed): FeedRoute {
  return { feed, path: '/api/v1/services', keyOf: (q) => (isEmpty(q.labelSelector) && isEmpty(q.fieldSelector) ? '' : undefined) };
}

/**
 * A kubelet's transport: its list and watch requests that a feed can answer go to the feed (only
 * for the key that kubelet may read — a node asks for its own pods), the rest to `own`.
 */
export class FeedTransport implements Transport {
  readonly #own: Transport;
  readonly #routes: FeedRoute[];
  constructor(own: Transport, routes: FeedRoute[]) {
    this.#own = own;
    this.#routes = routes;
  }

  #route(req: TransportRequest): { route: FeedRoute; key: string } | undefined {
    if (req.method !== 'GET') return undefined;
    const route = this.#routes.find((r) => r.path === req.path);
    if (!route) return undefined;
    const q = (req.query ?? {}) as Record<string, unknown>;
    const key = route.keyOf(q);
    return key === undefined ? undefined : { route, key };
  }

  async request(req: TransportRequest): Promise<TransportResponse> {
    const r = this.#route(req);
    const q = (req.query ?? {}) as Record<string, unknown>;
    if (!r || q.watch === 'true' || q.watch === true) return this.#own.request(req);
    const { items, resourceVersion } = r.route.feed.list(r.key);
    const kind = r.route.feed.plural === 'pods' ? 'PodList' : 'ServiceList';
    return { status: 200, headers: { 'content-type': 'application/json' }, body: { kind, apiVersion: 'v1', metadata: { resourceVersion }, items } };
  }

  watch(req: TransportRequest, handlers: WatchHandlers): WatchHandle {
    const r = this.#route(req);
    if (!r) return this.#own.watch(req, handlers);
    const q = (req.query ?? {}) as Record<string, unknown>;
    return r.route.feed.watch(r.key, String(q.resourceVersion ?? ''), handlers);
  }

  close(): Promise<void> {
    return this.#own.close();
  }
}

/** For logs: the query of a request as a string. */
export function describeRequest(req: TransportRequest): string {
  const q = encodeQuery(req.query);
  return `${req.method} ${req.path}${q ? `?${q}` : ''}`;
}
