// A Transport across a MessagePort: the scheduler in a worker thread speaks to the API server's
// in-process transport on the main thread. The main thread only forwards (servePort); every
// request still runs the server's whole handler chain there (authorization, admission, the
// registry). Bodies, answers and watch events cross by structured clone: the worker gets its own
// copies (the Transport ownership contract — read-only — still applies to them).
//
// Protocol (one port, both directions; ids are the worker's):
//   worker → main  {t:'req', id, req}   {t:'abort', id}   {t:'watch', id, req}   {t:'unwatch', id}
//   main → worker  {t:'res', id, status, body | json, headers}   {t:'fail', id, name, message}
//                  {t:'events', id, json}   {t:'closed', id, err?}
// Each side posts what it has to send in one array per turn of its event loop (setImmediate):
// every postMessage wakes the other thread and costs the sender a few microseconds more than the
// copy. A watch's events of one delivery burst travel in one entry, in the server's order. JSON
// values cross as one JSON string (V8's JSON.stringify and a string's copy cost the main thread
// about a third of what a structured clone of the object does); raw bytes as themselves.
import { StatusError, type Status } from '../api/errors.ts';
import type { WatchEvent } from '../api/meta.ts';
import { statusErrorFrom, type Transport, type TransportRequest, type TransportResponse, type WatchHandle, type WatchHandlers } from '../api/transport.ts';

/** The part of a MessagePort both sides use (node:worker_threads' MessagePort and parentPort have it). */
export interface Port {
  postMessage(msg: unknown): void;
  on(event: 'message', fn: (msg: unknown) => void): unknown;
  off(event: 'message', fn: (msg: unknown) => void): unknown;
}

/** A request as it crosses: everything but the AbortSignal (an abort is its own message). */
type WireRequest = Omit<TransportRequest, 'signal'>;

type ToMain =
  | { t: 'req'; id: number; req: WireRequest }
  | { t: 'abort'; id: number }
  | { t: 'watch'; id: number; req: WireRequest }
  | { t: 'unwatch'; id: number };

/** A watch's end: a StatusError crosses as its Status, another Error as its message. */
type WireClose = { status: Status } | { message: string } | undefined;

type ToWorker =
  | { t: 'res'; id: number; status: number; body?: Uint8Array; json?: string; headers: TransportResponse['headers'] }
  | { t: 'fail'; id: number; name: string; message: string }
  | { t: 'events'; id: number; json: string }
  | { t: 'closed'; id: number; err: WireClose };

/** send() queues a message; the queue goes out as one array at the end of this event-loop turn, or at flush(). */
function batchedSender<M>(port: Port): { send(m: M): void; flush(): void } {
  let queue: M[] = [];
  let timer: ReturnType<typeof setImmediate> | undefined;
  const flush = () => {
    if (timer) clearImmediate(timer);
    timer = undefined;
    if (!queue.length) return;
    const q = queue;
    queue = [];
    port.postMessage(q);
  };
  return {
    send(m) {
      queue.push(m);
      timer ??= setImmediate(flush);
    },
    flush,
  };
}

function wire(req: TransportRequest): WireRequest {
  const { signal: _s, ...rest } = req;
  return rest;
}

export interface ServePortOptions {
  /**
   * Leave metadata.managedFields out of watched objects and of listed items (what informers
   * receive), as upstream's kube-scheduler trims them from its pod informer: a client that never
   * reads them does not pay for copying them across. Single-object answers keep them.
   */
  dropManagedFields?: boolean;
}

type Obj = { metadata?: { managedFields?: unknown } } & Record<string, unknown>;

/** `o` without metadata.managedFields: a shallow copy (`o` itself is read-only) or `o` when it has none. */
export function withoutManagedFields<T>(o: T): T {
  const m = (o as Obj | null)?.metadata;
  if (!m || m.managedFields === undefined) return o;
  const { managedFields: _, ...metadata } = m;
  return { ...(o as Obj), metadata } as T;
}

function trimList(body: unknown): unknown {
  const items = (body as { items?: unknown } | null)?.items;
  if (!Array.isArray(items)) return body;
  return { ...(body as object), items: items.map(withoutManagedFields) };
}

/**
 * Main-thread side: answers the requests and watches arriving on `port` through `transport`
 * (the server's in-process one). close() ends every watch it opened and stops listening.
 */
export function servePort(port: Port, transport: Transport, o: ServePortOptions = {}): { close(): void } {
  const trim = !!o.dropManagedFields;
  const aborts = new Map<number, AbortController>();
  const watches = new Map<number, WatchHandle>();
  const out = batchedSender<ToWorker>(port);
  const send = out.send;
  const onMessage = (raw: unknown) => {
    for (const m of raw as ToMain[]) onOne(m);
  };
  const onOne = (m: ToMain) => {
    switch (m.t) {
      case 'req': {
        const ac = new AbortController();
        aborts.set(m.id, ac);
        transport.request({ ...m.req, signal: ac.signal }).then(
          (r) => {
            aborts.delete(m.id);
            const body = trim && m.req.method === 'GET' ? trimList(r.body) : r.body;
            if (body instanceof Uint8Array) send({ t: 'res', id: m.id, status: r.status, body, headers: r.headers });
            else send({ t: 'res', id: m.id, status: r.status, ...(body === undefined ? {} : { json: JSON.stringify(body) }), headers: r.headers });
          },
          (e: Error) => {
            aborts.delete(m.id);
            send({ t: 'fail', id: m.id, name: e?.name ?? 'Error', message: e?.message ?? String(e) });
          },
        );
        return;
      }
      case 'abort':
        aborts.get(m.id)?.abort();
        return;
      case 'watch': {
        // One message per delivery burst: the in-process transport hands a burst over in one
        // synchronous loop, so a microtask queued at its first event runs after its last.
        let batch: WatchEvent[] = [];
        const post = () => {
          const events = batch;
          batch = [];
          if (events.length && watches.has(m.id)) send({ t: 'events', id: m.id, json: JSON.stringify(events) });
        };
        const h = transport.watch(m.req, {
          onEvent(ev) {
            if (batch.push(trim ? { type: ev.type, object: withoutManagedFields(ev.object) } : ev) === 1) queueMicrotask(post);
          },
          onClose(err) {
            post();
            if (!watches.delete(m.id)) return;
            send({ t: 'closed', id: m.id, err: err === undefined ? undefined : err instanceof StatusError ? { status: err.status } : { message: err.message } });
          },
        });
        watches.set(m.id, h);
        return;
      }
      case 'unwatch': {
        const h = watches.get(m.id);
        watches.delete(m.id);
        h?.close();
        return;
      }
    }
  };
  port.on('message', onMessage);
  return {
    close() {
      out.flush();
      port.off('message', onMessage);
      for (const ac of aborts.values()) ac.abort();
      aborts.clear();
      for (const h of watches.values()) h.close();
      watches.clear();
    },
  };
}

/** Worker side: a Transport whose requests and watches are answered by servePort on the other end of `port`. */
export function portTransport(port: Port): Transport {
  let seq = 0;
  let closed = false;
  const pending = new Map<number, { resolve(r: TransportResponse): void; reject(e: Error): void }>();
  const watches = new Map<number, WatchHandlers>();
  const out = batchedSender<ToMain>(port);
  const send = out.send;
  const onMessage = (raw: unknown) => {
    for (const m of raw as ToWorker[]) onOne(m);
  };
  const onOne = (m: ToWorker) => {
    switch (m.t) {
      case 'res': {
        const p = pending.get(m.id);
        pending.delete(m.id);
        p?.resolve({ status: m.status, body: m.json !== undefined ? JSON.parse(m.json) : m.body, headers: m.headers });
        return;
      }
      case 'fail': {
        const p = pending.get(m.id);
        pending.delete(m.id);
        p?.reject(Object.assign(new Error(m.message), { name: m.name }));
        return;
      }
      case 'events': {
        const h = watches.get(m.id);
        if (!h) return;
        for (const ev of JSON.parse(m.json) as WatchEvent[]) {
          h.onEvent(ev);
          // a handler may have closed its watch part-way through the burst
          if (!watches.has(m.id)) return;
        }
        return;
      }
      case 'closed': {
        const h = watches.get(m.id);
        watches.delete(m.id);
        if (!h) return;
        h.onClose(m.err === undefined ? undefined : 'status' in m.err ? statusErrorFrom(m.err.status.code, m.err.status) : new Error(m.err.message));
        return;
      }
    }
  };
  port.on('message', onMessage);
  return {
    request(req: TransportRequest): Promise<TransportResponse> {
      if (closed) return Promise.reject(new Error('transport closed'));
      const id = ++seq;
      return new Promise((resolve, reject) => {
        if (req.signal?.aborted) {
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
          return;
        }
        const onAbort = () => {
          if (!pending.delete(id)) return;
          send({ t: 'abort', id });
          reject(Object.assign(new Error('aborted'), { name: 'AbortError' }));
        };
        req.signal?.addEventListener('abort', onAbort, { once: true });
        pending.set(id, {
          resolve: (r) => {
            req.signal?.removeEventListener('abort', onAbort);
            resolve(r);
          },
          reject: (e) => {
            req.signal?.removeEventListener('abort', onAbort);
            reject(e);
          },
        });
        send({ t: 'req', id, req: wire(req) });
      });
    },
    watch(req: TransportRequest, handlers: WatchHandlers): WatchHandle {
      const id = ++seq;
      const handle: WatchHandle = {
        close() {
          if (!watches.delete(id)) return;
          send({ t: 'unwatch', id });
        },
      };
      if (closed) {
        queueMicrotask(() => handlers.onClose(new Error('transport closed')));
        return { close() {} };
      }
      watches.set(id, handlers);
      req.signal?.addEventListener('abort', () => handle.close(), { once: true });
      send({ t: 'watch', id, req: wire(req) });
      return handle;
    },
    async close() {
      closed = true;
      for (const id of watches.keys()) send({ t: 'unwatch', id });
      watches.clear();
      out.flush();
      for (const p of pending.values()) p.reject(new Error('transport closed'));
      pending.clear();
      port.off('message', onMessage);
    },
  };
}
