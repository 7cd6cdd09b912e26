// An in-memory API behind the Transport interface, for unit tests of clients, informers and
// controllers without a server. It keeps objects per declared resource with a global revision,
// serves get/list (label selectors, metadata.name/namespace field selectors, limit/continue)/
// watch (history, bookmarks, 410 for compacted revisions)/create/update/patch (json, merge;
// strategic is treated as merge)/delete/deletecollection, and hands back deep-frozen objects the
// way the in-process transport does, so code that mutates what it received fails loudly.
//
// It is not the apiserver: no defaulting, validation, admission, finalizers or grace periods.
// Test controls: offline (connections refused), breakWatches/endWatches, compact (older watches
// get 410), bookmark, reactors (answer chosen requests yourself), and a request log.
import { alreadyExists, conflict, notFound, notFoundPath, OBJECT_MODIFIED, resourceExpired, StatusError, badRequest, unsupportedMediaType } from '../api/errors.ts';
import { matchesLabels, parseLabelSelector } from '../api/labels.ts';
import { deepFreeze, rfc3339, type KObject, type WatchEvent } from '../api/meta.ts';
import { applyJsonPatch } from '../api/patch/jsonpatch.ts';
import { applyMergePatch } from '../api/patch/mergepatch.ts';
import { groupVersion, resourceByPlural, type ResourceDecl } from '../api/resources.ts';
import { statusErrorFrom, type Query, type Transport, type TransportRequest, type TransportResponse, type WatchHandle, type WatchHandlers } from '../api/transport.ts';
import { realClock, type Clock } from './clock.ts';

interface Target {
  decl: ResourceDecl;
  version: string;
  namespace?: string;
  name?: string;
  sub?: string;
}

interface HistoryEntry {
  rev: number;
  type: 'ADDED' | 'MODIFIED' | 'DELETED';
  resource: string;
  namespace: string;
  obj: KObject;
}

interface ActiveWatch {
  resource: string;
  namespace?: string;
  name?: string;
  labels?: ReturnType<typeof parseLabelSelector>;
  bookmarks: boolean;
  handlers: WatchHandlers;
  closed: boolean;
}

export type Reactor = (req: TransportRequest) => TransportResponse | Error | undefined | Promise<TransportResponse | Error | undefined>;

function q(query: Query | undefined, k: string): string | undefined {
  const v = query?.[k];
  if (v === undefined) return undefined;
  return Array.isArray(v) ? v[0] : String(v);
}

function errorResponse(e: StatusError): TransportResponse {
  return { status: e.code, body: e.status, headers: { 'content-type': 'application/json' } };
}

function ok(status: number, body: unknown): TransportResponse {
  return { status, body, headers: { 'content-type': 'application/json' } };
}

export class FakeTransport implements Transport {
  /** Every request and watch, in order. */
  readonly requests: TransportRequest[] = [];
  /** While true, requests reject and watches end with a connection-refused error. */
  offline = false;
  private readonly clock: Clock;
  private rev: number;
  private compacted = 0;
  private readonly objects = new Map<string, KObject>();
  private history: HistoryEntry[] = [];
  private readonly watches = new Set<ActiveWatch>();
  private readonly reactors: Reactor[] = [];
  private uid = 0;

  constructor(opts: { clock?: Clock; startRevision?: number } = {}) {
    this.clock = opts.clock ?? realClock;
    this.rev = opts.startRevision ?? 1;
  }

  /** The newest revision. */
  get revision(): number {
    return this.rev;
  }

  /** Reactors run first, newest first; one that answers (a response, or an Error to reject with) ends the request. */
  react(r: Reactor): () => void {
    this.reactors.unshift(r);
    return () => {
      const i = this.reactors.indexOf(r);
      if (i >= 0) this.reactors.splice(i, 1);
    };
  }

  /** Forgets history up to now: watches from older revisions get 410 Expired. */
  compact(): void {
    this.compacted = this.rev;
    this.history = [];
  }

  /** Ends every open watch as a broken connection would. */
  breakWatches(err: Error = Object.assign(new Error('connection reset by peer'), { code: 'ECONNRESET' })): void {
    for (const w of [...this.watches]) this.endWatch(w, err);
  }

  /** Ends every open watch as the server's timeout does (no error). */
  endWatches(): void {
    for (const w of [...this.watches]) this.endWatch(w);
  }

  /** Sends a BOOKMARK at the newest revision to watches that asked for bookmarks. */
  bookmark(): void {
    for (const w of this.watches) {
      if (!w.bookmarks) continue;
      const decl = this.declOf(w.resource);
      const obj = { kind: decl.kind, apiVersion: groupVersion(decl.group, decl.versions[0]!), metadata: { resourceVersion: String(this.rev) } };
      this.deliver(w, { type: 'BOOKMARK', object: deepFreeze(obj) });
    }
  }

  /** Open watches. */
  watchCount(): number {
    return this.watches.size;
  }

  /** Stores an object directly (as a create would), for test setup. */
  seed(group: string, plural: string, obj: KObject): KObject {
    const decl = resourceByPlural(group, plural);
    if (!decl) throw new Error(`unknown resource ${plural}.${group}`);
    const r = this.create({ decl, version: decl.versions[0]!, namespace: decl.namespaced ? obj.metadata.namespace || 'default' : undefined }, obj);
    return r;
  }

  /** The stored object, for assertions. */
  object(group: string, plural: string, namespace: string, name: string): KObject | undefined {
    return this.objects.get(`${group}/${plural}/${namespace}/${name}`);
  }

  /** Every stored object of a resource, in key order (not logged as a request). */
  objectsOf(group: string, plural: string): KObject[] {
    const prefix = `${group}/${plural}/`;
    return [...this.objects.entries()].filter(([k]) => k.startsWith(prefix)).sort((a, b) => (a[0] < b[0] ? -1 : 1)).map(([, v]) => v);
  }

  async close(): Promise<void> {
    this.endWatches();
  }

  private declOf(resource: string): ResourceDecl {
    const i = resource.indexOf('/');
    return resourceByPlural(resource.slice(0, i), resource.slice(i + 1))!;
  }

  private parse(path: string): Target {
    const segs = path.split('/').filter(Boolean);
    let i: number;
    let group: string;
    let version: string;
    if (segs[0] === 'api') {
      group = '';
      version = segs[1] ?? '';
      i = 2;
    } else if (segs[0] === 'apis') {
      group = segs[1] ?? '';
      version = segs[2] ?? '';
      i = 3;
    } else throw notFoundPath();
    let namespace: string | undefined;
    if (segs[i] === 'namespaces' && segs.length >= i + 3) {
      const d = resourceByPlural(group, segs[i + 2]!);
      if (d?.namespaced) {
        namespace = decodeURIComponent(segs[i + 1]!);
        i += 2;
      }
    }
    const decl = resourceByPlural(group, segs[i] ?? '');
    if (!decl) throw notFoundPath();
    const name = segs[i + 1] !== undefined ? decodeURIComponent(segs[i + 1]!) : undefined;
    return { decl, version, namespace, name, sub: segs[i + 2] };
  }

  private key(t: Target, name: string): string {
    return `${t.decl.group}/${t.decl.plural}/${t.namespace ?? ''}/${name}`;
  }

  private gr(t: Target) {
    return { group: t.decl.group, resource: t.decl.plural };
  }

  private record(t: Target, type: HistoryEntry['type'], obj: KObject): void {
    const resource = `${t.decl.group}/${t.decl.plural}`;
    const ns = obj.metadata.namespace ?? '';
    this.history.push({ rev: this.rev, type, resource, namespace: ns, obj });
    for (const w of this.watches) if (this.matches(w, resource, obj)) this.deliver(w, { type, object: obj });
  }

  private matches(w: ActiveWatch, resource: string, obj: KObject): boolean {
    if (w.resource !== resource) return false;
    if (w.namespace !== undefined && (obj.metadata.namespace ?? '') !== w.namespace) return false;
    if (w.name !== undefined && obj.metadata.name !== w.name) return false;
    if (w.labels && !matchesLabels(w.labels, obj.metadata.labels)) return false;
    return true;
  }

  private deliver(w: ActiveWatch, ev: WatchEvent): void {
    queueMicrotask(() => {
      if (!w.closed) w.handlers.onEvent(ev);
    });
  }

  private endWatch(w: ActiveWatch, err?: Error): void {
    if (w.closed) return;
    this.watches.delete(w);
    queueMicrotask(() => {
      if (w.closed) return;
      w.closed = true;
      w.handlers.onClose(err);
    });
  }

  private create(t: Target, body: KObject): KObject {
    const meta = { ...(body.metadata ?? {}) };
    if (!meta.name && meta.generateName) meta.name = meta.generateName + Math.random().toString(36).slice(2, 7);
    if (!meta.name) throw badRequest('name or generateName is required');
    if (t.decl.namespaced) meta.namespace = t.namespace ?? meta.namespace ?? 'default';
    else delete meta.namespace;
    const key = this.key({ ...t, namespace: meta.namespace }, meta.name);
    if (this.objects.has(key)) throw alreadyExists(this.gr(t), meta.name);
    this.rev++;
    meta.uid = `fake-uid-${++this.uid}`;
    meta.resourceVersion = String(this.rev);
    meta.creationTimestamp = rfc3339(new Date(this.clock.now()));
    delete meta.generateName;
    const obj = deepFreeze({ ...body, apiVersion: groupVersion(t.decl.group, t.version), kind: t.decl.kind, metadata: meta } as KObject);
    this.objects.set(key, obj);
    this.record(t, 'ADDED', obj);
    return obj;
  }

  private update(t: Target, name: string, body: KObject): KObject {
    const key = this.key(t, name);
    const cur = this.objects.get(key);
    if (!cur) throw notFound(this.gr(t), name);
    const rv = body.metadata?.resourceVersion;
    if (rv && rv !== cur.metadata.resourceVersion) throw conflict(this.gr(t), name, OBJECT_MODIFIED);
    this.rev++;
    const meta = { ...(body.metadata ?? {}), name, uid: cur.metadata.uid, creationTimestamp: cur.metadata.creationTimestamp, resourceVersion: String(this.rev) };
    if (t.decl.namespaced) meta.namespace = cur.metadata.namespace;
    const obj = deepFreeze({ ...body, apiVersion: cur.apiVersion, kind: cur.kind, metadata: meta } as KObject);
    this.objects.set(key, obj);
    this.record(t, 'MODIFIED', obj);
    return obj;
  }

  private remove(t: Target, name: string, opts: Record<string, unknown> | undefined): KObject {
    const key = this.key(t, name);
    const cur = this.objects.get(key);
    if (!cur) throw notFound(this.gr(t), name);
    const pre = opts?.preconditions as { uid?: string; resourceVersion?: string } | undefined;
    if (pre?.uid && pre.uid !== cur.metadata.uid) {
      throw conflict(this.gr(t), name, `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.metadata.uid}`);
    }
    if (pre?.resourceVersion && pre.resourceVersion !== cur.metadata.resourceVersion) {
      throw conflict(this.gr(t), name, `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.metadata.resourceVersion}`);
    }
    this.rev++;
    this.objects.delete(key);
    const obj = deepFreeze({ ...cur, metadata: { ...cur.metadata, resourceVersion: String(this.rev) } });
    this.record(t, 'DELETED', obj);
    return obj;
  }

  private select(t: Target, query: Query | undefined): KObject[] {
    const prefix = `${t.decl.group}/${t.decl.plural}/${t.namespace !== undefined ? `${t.namespace}/` : ''}`;
    const ls = q(query, 'labelSelector');
    const sel = ls ? parseLabelSelector(ls) : undefined;
    const fs = q(query, 'fieldSelector');
    const fields: Record<string, string> = {};
    if (fs) {
      for (const part of fs.split(',')) {
        const m = /^(metadata\.name|metadata\.namespace)(?:==?)(.*)$/.exec(part.trim());
        if (!m) throw badRequest(`fake transport: unsupported field selector ${part}`);
        fields[m[1]!] = m[2]!;
      }
    }
    const out: KObject[] = [];
    for (const [k, o] of [...this.objects.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0))) {
      if (!k.startsWith(prefix)) continue;
      if (sel && !matchesLabels(sel, o.metadata.labels)) continue;
      if (fields['metadata.name'] !== undefined && o.metadata.name !== fields['metadata.name']) continue;
      if (fields['metadata.namespace'] !== undefined && (o.metadata.namespace ?? '') !== fields['metadata.namespace']) continue;
      out.push(o);
    }
    return out;
  }

  private list(t: Target, query: Query | undefined): unknown {
    let items = this.select(t, query);
    const limit = Number(q(query, 'limit') ?? 0);
    const cont = q(query, 'continue');
    let next: string | undefined;
    let rv = String(this.rev);
    if (cont) {
      const c = JSON.parse(Buffer.from(cont, 'base64').toString()) as { rv: string; after: string };
      if (Number(c.rv) < this.compacted) throw resourceExpired('The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter, or use the continue token in this response to retrieve the remainder of the results. Continuing with the provided token results in an inconsistent list - objects that were created, modified, or deleted between the time the first chunk was returned and now may show up in the list.');
      rv = c.rv;
      items = items.filter((o) => `${o.metadata.namespace ?? ''}/${o.metadata.name}` > c.after);
    }
    if (limit > 0 && items.length > limit) {
      items = items.slice(0, limit);
      const last = items[items.length - 1]!;
      next = Buffer.from(JSON.stringify({ rv, after: `${last.metadata.namespace ?? ''}/${last.metadata.name}` })).toString('base64');
    }
    return { kind: `${t.decl.kind}List`, apiVersion: groupVersion(t.decl.group, t.version), metadata: { resourceVersion: rv, ...(next ? { continue: next } : {}) }, items };
  }

  private async handle(req: TransportRequest): Promise<TransportResponse> {
    const t = this.parse(req.path);
    const body = req.body as KObject | undefined;
    switch (req.method) {
      case 'GET': {
        if (t.name === undefined) return ok(200, this.list(t, req.query));
        const o = this.objects.get(this.key(t, t.name));
        if (!o) throw notFound(this.gr(t), t.name);
        return ok(200, o);
      }
      case 'POST':
        if (t.name !== undefined) throw notFoundPath();
        return ok(201, this.create(t, body!));
      case 'PUT':
        if (t.name === undefined) throw notFoundPath();
        return ok(200, this.update(t, t.name, body!));
      case 'PATCH': {
        if (t.name === undefined) throw notFoundPath();
        const cur = this.objects.get(this.key(t, t.name));
        if (!cur) throw notFound(this.gr(t), t.name);
        let next: unknown;
        const ct = req.contentType ?? '';
        if (ct === 'application/json-patch+json') next = applyJsonPatch(cur, body);
        else if (ct === 'application/merge-patch+json' || ct === 'application/strategic-merge-patch+json') next = applyMergePatch(cur, body);
        else throw unsupportedMediaType(ct);
        const n = next as KObject;
        return ok(200, this.update(t, t.name, { ...n, metadata: { ...n.metadata, resourceVersion: (body as KObject | undefined)?.metadata?.resourceVersion } }));
      }
      case 'DELETE': {
        if (t.name !== undefined) return ok(200, this.remove(t, t.name, body as Record<string, unknown> | undefined));
        const items = this.select(t, req.query).map((o) => this.remove({ ...t, namespace: o.metadata.namespace }, o.metadata.name!, undefined));
        return ok(200, { kind: `${t.decl.kind}List`, apiVersion: groupVersion(t.decl.group, t.version), metadata: { resourceVersion: String(this.rev) }, items });
      }
      default:
        throw new StatusError({ reason: 'MethodNotAllowed', code: 405, message: `${req.method} is not supported` });
    }
  }

  async request(req: TransportRequest): Promise<TransportResponse> {
    this.requests.push(req);
    await Promise.resolve();
    if (req.signal?.aborted) throw req.signal.reason;
    for (const r of this.reactors) {
      const out = await r(req);
      if (out instanceof Error) throw out;
      if (out) return out;
    }
    if (this.offline) throw Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
    try {
      return await this.handle(req);
    } catch (e) {
      if (e instanceof StatusError) return errorResponse(e);
      throw e;
    }
  }

  watch(req: TransportRequest, handlers: WatchHandlers): WatchHandle {
    this.requests.push(req);
    const w: ActiveWatch = { resource: '', bookmarks: q(req.query, 'allowWatchBookmarks') === 'true', handlers, closed: false };
    const handle = {
      close: () => {
        w.closed = true;
        this.watches.delete(w);
      },
    };
    req.signal?.addEventListener('abort', handle.close, { once: true });
    queueMicrotask(async () => {
      if (w.closed) return;
      try {
        // A reactor answering a watch refuses it: with its Error, or with its (non-2xx) response's Status.
        for (const r of this.reactors) {
          const out = await r(req);
          if (!out || w.closed) continue;
          w.closed = true;
          handlers.onClose(out instanceof Error ? out : statusErrorFrom(out.status, out.body, req.method));
          return;
        }
        if (w.closed) return;
        if (this.offline) {
          w.closed = true;
          handlers.onClose(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
          return;
        }
        const t = this.parse(req.path);
        w.resource = `${t.decl.group}/${t.decl.plural}`;
        w.namespace = t.namespace;
        const fs = q(req.query, 'fieldSelector');
        const m = fs ? /^metadata\.name==?(.*)$/.exec(fs) : null;
        if (m) w.name = m[1];
        const ls = q(req.query, 'labelSelector');
        if (ls) w.labels = parseLabelSelector(ls);
        const rvText = q(req.query, 'resourceVersion');
        this.watches.add(w);
        if (!rvText || rvText === '0') {
          for (const o of this.select(t, req.query)) this.deliver(w, { type: 'ADDED', object: o });
          return;
        }
        const rv = Number(rvText);
        if (rv < this.compacted) {
          // as the apiserver: 200, then one ERROR event carrying the 410
          const e = resourceExpired(`too old resource version: ${rv} (${this.compacted})`);
          this.deliver(w, { type: 'ERROR', object: e.status });
          this.endWatch(w);
          return;
        }
        for (const h of this.history) if (h.rev > rv && this.matches(w, h.resource, h.obj)) this.deliver(w, { type: h.type, object: h.obj });
      } catch (e) {
        if (!w.closed) {
          this.watches.delete(w);
          w.closed = true;
          handlers.onClose(e instanceof StatusError ? e : (e as Error));
        }
      }
    });
    return handle;
  }
}

/**
 * Wraps any Transport with faults a test controls: `down` refuses new requests and watches as an
 * unreachable server would; breakWatches() ends the open watches as a broken connection would.
 * Counts what passes through.
 */
export class FaultyTransport implements Transport {
  down = false;
  readonly inner: Transport;
  readonly requests: TransportRequest[] = [];
  private readonly open = new Set<{ handle: WatchHandle; handlers: WatchHandlers; closed: boolean }>();

  constructor(inner: Transport) {
    this.inner = inner;
  }

  private refused(): Error {
    return Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' });
  }

  request(req: TransportRequest): Promise<TransportResponse> {
    this.requests.push(req);
    if (this.down) return Promise.reject(this.refused());
    return this.inner.request(req);
  }

  watch(req: TransportRequest, handlers: WatchHandlers): WatchHandle {
    this.requests.push(req);
    const w = { handle: { close() {} } as WatchHandle, handlers, closed: false };
    if (this.down) {
      queueMicrotask(() => {
        if (!w.closed) {
          w.closed = true;
          handlers.onClose(this.refused());
        }
      });
      return { close: () => void (w.closed = true) };
    }
    this.open.add(w);
    w.handle = this.inner.watch(req, {
      onEvent: (ev) => {
        if (!w.closed) handlers.onEvent(ev);
      },
      onClose: (err) => {
        this.open.delete(w);
        if (w.closed) return;
        w.closed = true;
        handlers.onClose(err);
      },
    });
    return {
      close: () => {
        w.closed = true;
        this.open.delete(w);
        w.handle.close();
      },
    };
  }

  /** Ends every open watch with a connection error (the server side sees a cancelled stream). */
  breakWatches(err: Error = Object.assign(new Error('connection reset by peer'), { code: 'ECONNRESET' })): void {
    for (const w of [...this.open]) {
      this.open.delete(w);
      w.handle.close();
      if (!w.closed) {
        w.closed = true;
        w.handlers.onClose(err);
      }
    }
  }

  /** Watches open through this wrapper. */
  watchCount(): number {
    return this.open.size;
  }

  close(): Promise<void> {
    return this.inner.close();
  }
}
