// The event recorder: core/v1 Events as upstream client-go's tools/record writes them, so
// `kubectl describe` and `kubectl get events` read the same thing from rudder as from Kubernetes.
//
// - event(obj, type, reason, message) never blocks and never throws: it builds the Event and
//   queues it (at most 1000 queued; beyond that events are dropped, as upstream's broadcaster).
// - Events are named `<object name>.<hex nanoseconds>`, live in the object's namespace
//   ("default" for cluster-scoped objects), and carry source {component, host} and
//   reportingComponent/reportingInstance from the recorder's source.
// - The correlator (upstream's EventCorrelator, same defaults) runs on each event, in order:
//   * aggregation: once 10 events that differ only in message arrive for the same object and
//     reason within 10 minutes, further ones become a single
//     "(combined from similar events): <message>" event;
//   * de-duplication: an event identical to one already written (same source, object, type,
//     reason, message) is a PATCH of that Event's count, lastTimestamp and message instead of a
//     new Event;
//   * spam filtering: per source+object (and type), a token bucket of 25 events refilled at one
//     per 5 minutes; events beyond it are dropped.
// - Writes go out one at a time. A write the server rejects (a Status) is dropped; a write that
//   got no answer is retried up to 12 times, 10 s apart (the first wait randomized). A patch of an
//   Event that is gone creates it again.
import { randomUUID } from 'node:crypto';
import { StatusError } from '../api/errors.ts';
import { rfc3339, type KObject } from '../api/meta.ts';
import { isDNS1123Subdomain } from '../api/validation/names.ts';
import type { Client, ResourceClient } from './client.ts';
import { realClock, type Clock } from './clock.ts';
import { BucketRateLimiter } from './workqueue.ts';

export const EVENT_TYPE_NORMAL = 'Normal';
export const EVENT_TYPE_WARNING = 'Warning';

export interface EventSource {
  component: string;
  host?: string;
}

export interface ObjectReference {
  kind?: string;
  namespace?: string;
  name?: string;
  uid?: string;
  apiVersion?: string;
  resourceVersion?: string;
  fieldPath?: string;
}

/** A core/v1 Event as the recorder writes it. */
export interface CoreEvent extends KObject {
  involvedObject: ObjectReference;
  reason: string;
  message: string;
  source: EventSource;
  firstTimestamp: string;
  lastTimestamp: string;
  count: number;
  type: string;
  reportingComponent?: string;
  reportingInstance?: string;
}

export interface EventRecorder {
  /** Records an event about obj (an API object, or an ObjectReference). Never blocks or throws. */
  event(obj: KObject | ObjectReference, type: string, reason: string, message: string): void;
  annotatedEvent(obj: KObject | ObjectReference, annotations: Record<string, string>, type: string, reason: string, message: string): void;
}

export interface CorrelatorOptions {
  lruCacheSize?: number;
  burstSize?: number;
  qps?: number;
  maxEvents?: number;
  maxIntervalSeconds?: number;
  clock?: Clock;
}

// ------------------------------------------------------------------------------ correlator

/** A map that forgets its least recently used entries beyond `size` (upstream's lru.Cache). */
class Lru<V> {
  private readonly m = new Map<string, V>();
  private readonly size: number;
  constructor(size: number) {
    this.size = size;
  }
  get(k: string): V | undefined {
    const v = this.m.get(k);
    if (v !== undefined) {
      this.m.delete(k);
      this.m.set(k, v);
    }
    return v;
  }
  set(k: string, v: V): void {
    this.m.delete(k);
    this.m.set(k, v);
    if (this.m.size > this.size) this.m.delete(this.m.keys().next().value!);
  }
}

const SEP = '\u0000';

/** Identical events: source, object (with fieldPath), type, reason and message. */
export function eventKey(e: CoreEvent): string {
  const o = e.involvedObject;
  return [e.source.component, e.source.host ?? '', o.kind, o.namespace, o.name, o.fieldPath, o.uid, o.apiVersion, e.type, e.reason, e.message].map((x) => x ?? '').join(SEP);
}

/** The spam filter's unit: source, object and type. */
export function spamKey(e: CoreEvent): string {
  const o = e.involvedObject;
  return [e.source.component, e.source.host ?? '', o.kind, o.namespace, o.name, o.uid, o.apiVersion, e.type].map((x) => x ?? '').join(SEP);
}

/** Similar events (aggregated when many): everything but the message. */
function aggregateKey(e: CoreEvent): string {
  const o = e.involvedObject;
  return [e.source.component, e.source.host ?? '', o.kind, o.namespace, o.name, o.uid, o.apiVersion, e.type, e.reason, e.reportingComponent, e.reportingInstance].map((x) => x ?? '').join(SEP);
}

/** upstream's GenerateEventName: `<name>.<hex nanoseconds>`, or a UUID when that is no valid name. */
export function eventName(refName: string, unixNanos: bigint): string {
  const name = `${refName}.${unixNanos.toString(16)}`;
  return isDNS1123Subdomain(name).length ? randomUUID() : name;
}

export interface CorrelateResult {
  event?: CoreEvent;
  /** When set, PATCH the existing Event with this (strategic merge) instead of creating one. */
  patch?: Record<string, unknown>;
  skip: boolean;
}

interface Observation {
  count: number;
  firstTimestamp: string;
  name: string;
  resourceVersion: string;
}

export class EventCorrelator {
  private readonly clock: Clock;
  private readonly maxEvents: number;
  private readonly maxIntervalMs: number;
  private readonly burst: number;
  private readonly qps: number;
  private readonly aggregates: Lru<{ localKeys: Set<string>; last: number }>;
  private readonly observations: Lru<Observation>;
  private readonly spam: Lru<BucketRateLimiter<string>>;
  private nanoSeq = 0n;
  private lastNanoMs = -1;

  constructor(o: CorrelatorOptions = {}) {
    const size = o.lruCacheSize ?? 4096;
    this.clock = o.clock ?? realClock;
    this.maxEvents = o.maxEvents ?? 10;
    this.maxIntervalMs = (o.maxIntervalSeconds ?? 600) * 1000;
    this.burst = o.burstSize ?? 25;
    this.qps = o.qps ?? 1 / 300;
    this.aggregates = new Lru(size);
    this.observations = new Lru(size);
    this.spam = new Lru(size);
  }

  /**
   * A nanosecond timestamp for names: the clock's milliseconds, made unique within a process
   * by a counter in the sub-millisecond digits (upstream reads a nanosecond clock).
   */
  nowNanos(): bigint {
    const ms = this.clock.now();
    if (ms !== this.lastNanoMs) {
      this.lastNanoMs = ms;
      this.nanoSeq = 0n;
    }
    return BigInt(ms) * 1_000_000n + this.nanoSeq++;
  }

  correlate(ev: CoreEvent): CorrelateResult {
    const { event: aggregated, key } = this.aggregate(ev);
    const { event, patch } = this.observe(aggregated, key);
    if (this.filtered(event)) return { skip: true };
    return { event, patch, skip: false };
  }

  private aggregate(ev: CoreEvent): { event: CoreEvent; key: string } {
    const now = this.clock.now();
    const full = eventKey(ev);
    const aggKey = aggregateKey(ev);
    let rec = this.aggregates.get(aggKey);
    if (!rec || now - rec.last > this.maxIntervalMs) rec = { localKeys: new Set(), last: 0 };
    rec.localKeys.add(ev.message);
    rec.last = now;
    this.aggregates.set(aggKey, rec);
    if (rec.localKeys.size < this.maxEvents) return { event: ev, key: full };
    // keep the set from growing: drop one (any) message
    rec.localKeys.delete(rec.localKeys.values().next().value!);
    const t = rfc3339(new Date(now));
    const combined: CoreEvent = {
      apiVersion: 'v1',
      kind: 'Event',
      metadata: { name: eventName(ev.involvedObject.name ?? '', this.nowNanos()), namespace: ev.metadata.namespace },
      involvedObject: ev.involvedObject,
      reason: ev.reason,
      message: `(combined from similar events): ${ev.message}`,
      source: ev.source,
      firstTimestamp: t,
      lastTimestamp: t,
      count: 1,
      type: ev.type,
    };
    return { event: combined, key: aggKey };
  }

  private observe(ev: CoreEvent, key: string): { event: CoreEvent; patch?: Record<string, unknown> } {
    const last = this.observations.get(key);
    let event = ev;
    let patch: Record<string, unknown> | undefined;
    if (last && last.count > 0) {
      event = {
        ...ev,
        metadata: { ...ev.metadata, name: last.name, resourceVersion: last.resourceVersion },
        firstTimestamp: last.firstTimestamp,
        count: last.count + 1,
      };
      // what upstream's two-way merge patch of these fields yields
      patch = { count: event.count, lastTimestamp: event.lastTimestamp };
      if (event.message) patch.message = event.message;
    }
    this.observations.set(key, { count: event.count, firstTimestamp: event.firstTimestamp, name: event.metadata.name!, resourceVersion: event.metadata.resourceVersion ?? '' });
    return { event, patch };
  }

  private filtered(ev: CoreEvent): boolean {
    const k = spamKey(ev);
    let limiter = this.spam.get(k);
    if (!limiter) limiter = new BucketRateLimiter<string>(this.qps, this.burst, this.clock);
    this.spam.set(k, limiter);
    return !limiter.tryAccept();
  }

  /** Records what the server answered (name, resourceVersion, count) for later patches. */
  updateState(ev: CoreEvent): void {
    this.observations.set(eventKey(ev), {
      count: ev.count ?? 1,
      firstTimestamp: ev.firstTimestamp,
      name: ev.metadata.name!,
      resourceVersion: ev.metadata.resourceVersion ?? '',
    });
  }
}

// ----------------------------------------------------------------------------- broadcaster

export interface EventBroadcasterOptions {
  client: Client;
  clock?: Clock;
  random?: () => number;
  log?: (msg: string) => void;
  /** Wait between retries of a write that got no answer (default 10 s). */
  sleepMs?: number;
  /** Events waiting to be written before new ones are dropped (default 1000). */
  maxQueued?: number;
  correlator?: Omit<CorrelatorOptions, 'clock'>;
}

const MAX_TRIES_PER_EVENT = 12;
/** Event writes in flight at once. */
const WRITERS = 8;
/** At most one "dropped event" log line this often. */
const DROP_LOG_INTERVAL_MS = 1000;

function isReference(o: KObject | ObjectReference): o is ObjectReference {
  return !(o as KObject).metadata;
}

function referenceOf(o: KObject | ObjectReference): ObjectReference {
  if (isReference(o)) return { ...o };
  const ref: ObjectReference = { kind: o.kind, namespace: o.metadata.namespace, name: o.metadata.name, uid: o.metadata.uid, apiVersion: o.apiVersion, resourceVersion: o.metadata.resourceVersion };
  for (const k of Object.keys(ref) as (keyof ObjectReference)[]) if (ref[k] === undefined || ref[k] === '') delete ref[k];
  return ref;
}

/**
 * Writes the events of every recorder it made through one correlator and one sequential writer,
 * as upstream's broadcaster with StartRecordingToSink.
 */
export class EventBroadcaster {
  private readonly events: ResourceClient<CoreEvent>;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly log: (msg: string) => void;
  private readonly sleepMs: number;
  private readonly maxQueued: number;
  readonly correlator: EventCorrelator;
  private readonly queue: CoreEvent[] = [];
  private busy = false;
  private idleWaiters: (() => void)[] = [];
  private readonly stopper = new AbortController();
  private nextDropLogAt = -Infinity;
  private dropsNotLogged = 0;
  /** Counters for tests and metrics. */
  readonly stats = { dropped: 0, created: 0, patched: 0, skipped: 0, failed: 0 };

  constructor(o: EventBroadcasterOptions) {
    this.events = o.client.resource<CoreEvent>('', 'events');
    this.clock = o.clock ?? realClock;
    this.random = o.random ?? Math.random;
    this.log = o.log ?? ((m) => console.error(`rudder events: ${m}`));
    this.sleepMs = o.sleepMs ?? 10_000;
    this.maxQueued = o.maxQueued ?? 1000;
    this.correlator = new EventCorrelator({ ...o.correlator, clock: this.clock });
  }

  newRecorder(source: EventSource): EventRecorder {
    return {
      event: (obj, type, reason, message) => this.generate(source, obj, undefined, type, reason, message),
      annotatedEvent: (obj, annotations, type, reason, message) => this.generate(source, obj, annotations, type, reason, message),
    };
  }

  private generate(source: EventSource, obj: KObject | ObjectReference, annotations: Record<string, string> | undefined, type: string, reason: string, message: string): void {
    try {
      if (this.stopper.signal.aborted) return;
      if (type !== EVENT_TYPE_NORMAL && type !== EVENT_TYPE_WARNING) {
        this.log(`Unsupported event type: '${type}'`);
        return;
      }
      const ref = referenceOf(obj);
      const t = rfc3339(new Date(this.clock.now()));
      const ev: CoreEvent = {
        apiVersion: 'v1',
        kind: 'Event',
        metadata: { name: eventName(ref.name ?? '', this.correlator.nowNanos()), namespace: ref.namespace || 'default', ...(annotations ? { annotations: { ...annotations } } : {}) },
        involvedObject: ref,
        reason,
        message,
        source: source.host ? { component: source.component, host: source.host } : { component: source.component },
        firstTimestamp: t,
        lastTimestamp: t,
        count: 1,
        type,
        reportingComponent: source.component,
        reportingInstance: source.host ?? '',
      };
      if (this.queue.length >= this.maxQueued) {
        this.stats.dropped++;
        this.logDrop(`${ev.metadata.namespace}/${ev.metadata.name}`);
        return;
      }
      this.queue.push(ev);
      if (!this.busy) {
        // writing starts after the caller's turn: event() itself does no I/O
        this.busy = true;
        queueMicrotask(() => void this.drain());
      }
    } catch (e) {
      this.log(`could not record event: ${(e as Error).message}`);
    }
  }

  /**
   * Upstream logs every dropped event; here at most one line a second says so, counting the
   * drops it stood for. Drops come in bursts of thousands (a scheduler binding faster than the
   * API takes events), and a synchronous log line each cost the server 2% of its time.
   */
  private logDrop(what: string): void {
    const now = this.clock.now();
    if (now < this.nextDropLogAt) {
      this.dropsNotLogged++;
      return;
    }
    const more = this.dropsNotLogged;
    this.dropsNotLogged = 0;
    this.nextDropLogAt = now + DROP_LOG_INTERVAL_MS;
    this.log(`unable to record event: too many queued events, dropped event ${what}${more ? ` (and ${more} more since the last such message)` : ''}`);
  }

  /** Resolves when every queued event has been written or given up. */
  flush(): Promise<void> {
    if (!this.busy && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  /** Stops writing: queued events and pending retries are dropped. */
  shutdown(): void {
    this.stopper.abort();
    this.queue.length = 0;
    if (!this.busy) for (const w of this.idleWaiters.splice(0)) w();
  }

  /**
   * Writes queued events with up to WRITERS requests in flight (one at a time fell behind a
   * scheduler binding a thousand pods a second), never two of one aggregation group (source,
   * object, type, reason) at once, so an Event's create — combined ones included — always lands
   * before its count patches.
   */
  private async drain(): Promise<void> {
    const inFlight = new Set<string>();
    const next = (): CoreEvent | undefined => {
      const scan = Math.min(this.queue.length, 64);
      for (let i = 0; i < scan; i++) {
        const k = aggregateKey(this.queue[i]!);
        if (!inFlight.has(k)) return this.queue.splice(i, 1)[0];
      }
      return undefined;
    };
    const worker = async () => {
      for (;;) {
        if (this.stopper.signal.aborted) return;
        const ev = next();
        if (!ev) return;
        const k = aggregateKey(ev);
        inFlight.add(k);
        try {
          await this.writeOne(ev);
        } finally {
          inFlight.delete(k);
        }
      }
    };
    try {
      while (this.queue.length && !this.stopper.signal.aborted) {
        await Promise.all(Array.from({ length: Math.min(WRITERS, this.queue.length) }, worker));
      }
    } finally {
      this.busy = false;
      for (const w of this.idleWaiters.splice(0)) w();
    }
  }

  private async writeOne(ev: CoreEvent): Promise<void> {
    const result = this.correlator.correlate(ev);
    if (result.skip) {
      this.stats.skipped++;
      return;
    }
    const event = result.event!;
    for (let tries = 1; ; tries++) {
      if (await this.record(event, result.patch)) return;
      if (tries >= MAX_TRIES_PER_EVENT) {
        this.stats.failed++;
        this.log(`unable to write event ${event.metadata.namespace}/${event.metadata.name} (retry limit exceeded!)`);
        return;
      }
      // The first wait is randomized so that clients do not all retry in step after an outage.
      const delay = tries === 1 ? this.sleepMs * this.random() : this.sleepMs;
      try {
        await this.clock.after(delay, this.stopper.signal);
      } catch {
        return;
      }
    }
  }

  /** One attempt; true when done (written, or rejected for good), false to retry. */
  private async record(event: CoreEvent, patch: Record<string, unknown> | undefined): Promise<boolean> {
    const ns = this.events.namespace(event.metadata.namespace!);
    let saved: CoreEvent | undefined;
    let err: unknown;
    try {
      if (event.count > 1 && patch) {
        try {
          saved = await ns.patch(event.metadata.name!, 'strategic', patch);
          this.stats.patched++;
        } catch (e) {
          if (!(e instanceof StatusError && e.code === 404)) throw e;
        }
      }
      if (!saved) {
        const { resourceVersion: _rv, ...meta } = event.metadata;
        saved = await ns.create({ ...event, metadata: meta });
        this.stats.created++;
      }
    } catch (e) {
      err = e;
    }
    if (saved) {
      this.correlator.updateState(saved);
      return true;
    }
    if (err instanceof StatusError) {
      if (err.code !== 409) this.log(`server rejected event ${event.metadata.namespace}/${event.metadata.name} (will not retry!): ${err.message}`);
      this.stats.failed++;
      return true;
    }
    this.log(`unable to write event ${event.metadata.namespace}/${event.metadata.name} (may retry after sleeping): ${(err as Error)?.message}`);
    return false;
  }
}
