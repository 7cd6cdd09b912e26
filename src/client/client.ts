// The typed client: one ResourceClient per declared resource (src/api/resources.ts), speaking
// through any Transport. Paths, query parameters and bodies follow the Kubernetes REST API as
// client-go's dynamic client sends them; every non-2xx answer becomes the StatusError the server
// sent, so callers test `e.code === 409` or `e.reason === 'NotFound'`.
//
// Objects returned are read-only (the Transport's ownership contract): clone before changing.
import { StatusError } from '../api/errors.ts';
import type { KList, KObject, WatchEvent } from '../api/meta.ts';
import { groupVersion, resourceByPlural, type ResourceDecl } from '../api/resources.ts';
import { statusErrorFrom, type HttpMethod, type Query, type Transport, type TransportResponse, type WatchHandle } from '../api/transport.ts';

export interface ListOptions {
  labelSelector?: string;
  fieldSelector?: string;
  limit?: number;
  continue?: string;
  resourceVersion?: string;
  resourceVersionMatch?: 'Exact' | 'NotOlderThan';
  timeoutSeconds?: number;
  allowWatchBookmarks?: boolean;
  sendInitialEvents?: boolean;
}

export interface GetOptions {
  resourceVersion?: string;
}

export interface WriteOptions {
  /** Aborting rejects the pending call. */
  signal?: AbortSignal;
  /** Server-side dry run (dryRun=All). */
  dryRun?: boolean;
  fieldManager?: string;
  fieldValidation?: 'Strict' | 'Warn' | 'Ignore';
}

export type PatchType = 'json' | 'merge' | 'strategic' | 'apply';

export const PATCH_CONTENT_TYPES: Record<PatchType, string> = {
  json: 'application/json-patch+json',
  merge: 'application/merge-patch+json',
  strategic: 'application/strategic-merge-patch+json',
  apply: 'application/apply-patch+yaml',
};

export interface PatchOptions extends WriteOptions {
  /** Apply only: take over conflicting fields. */
  force?: boolean;
  /** e.g. 'status' or 'scale'. */
  subresource?: string;
}

export interface Preconditions {
  uid?: string;
  resourceVersion?: string;
}

export interface DeleteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  preconditions?: Preconditions;
  dryRun?: boolean;
  signal?: AbortSignal;
}

/** autoscaling/v1 Scale. */
export interface Scale extends KObject {
  spec?: { replicas?: number };
  status?: { replicas: number; selector?: string };
}

export interface WatchCallbacks<T> {
  /** ADDED, MODIFIED, DELETED, BOOKMARK, and ERROR (object: a Status). Objects are read-only. */
  onEvent(ev: WatchEvent<T>): void;
  /** As WatchHandlers.onClose in src/api/transport.ts. */
  onClose(err?: Error): void;
}

export interface ClientOptions {
  /** Namespace for namespaced calls that name none (the kubeconfig context's; default "default"). */
  namespace?: string;
}

/** Clients for every resource, over one Transport. */
export class Client {
  readonly transport: Transport;
  readonly namespace: string;

  constructor(transport: Transport, opts: ClientOptions = {}) {
    this.transport = transport;
    this.namespace = opts.namespace ?? 'default';
  }

  /**
   * The client for a declared resource, e.g. resource('apps', 'deployments'). For a namespaced
   * resource, call .namespace(ns) for single-object verbs; list/watch/deleteCollection on the
   * unscoped client cover all namespaces.
   */
  resource<T extends KObject = KObject>(group: string, plural: string, version?: string): ResourceClient<T> {
    const decl = resourceByPlural(group, plural);
    if (!decl) throw new Error(`unknown resource ${group ? `${plural}.${group}` : plural}`);
    return new ResourceClient<T>(this, decl, version ?? decl.versions[0]!, undefined);
  }

  /** A request that must succeed (2xx); otherwise rejects with the server's StatusError. */
  async request(method: HttpMethod, path: string, opts: { query?: Query; body?: unknown; contentType?: string; signal?: AbortSignal; headers?: Record<string, string> } = {}): Promise<unknown> {
    const res = await this.transport.request({ method, path, ...opts });
    return checked(method, res);
  }
}

function checked(method: string, res: TransportResponse): unknown {
  if (res.status >= 200 && res.status < 300) return res.body;
  throw statusErrorFrom(res.status, res.body, method);
}

function listQuery(o: ListOptions | undefined): Query {
  if (!o) return {};
  return {
    labelSelector: o.labelSelector || undefined,
    fieldSelector: o.fieldSelector || undefined,
    limit: o.limit || undefined,
    continue: o.continue || undefined,
    resourceVersion: o.resourceVersion,
    resourceVersionMatch: o.resourceVersionMatch,
    timeoutSeconds: o.timeoutSeconds,
    allowWatchBookmarks: o.allowWatchBookmarks || undefined,
    sendInitialEvents: o.sendInitialEvents,
  };
}

function writeQuery(o: WriteOptions | undefined): Query {
  if (!o) return {};
  return { dryRun: o.dryRun ? 'All' : undefined, fieldManager: o.fieldManager, fieldValidation: o.fieldValidation };
}

function deleteBody(o: DeleteOptions | undefined): unknown {
  if (!o || (o.gracePeriodSeconds === undefined && !o.propagationPolicy && !o.preconditions && !o.dryRun)) return undefined;
  const body: Record<string, unknown> = { kind: 'DeleteOptions', apiVersion: 'v1' };
  if (o.gracePeriodSeconds !== undefined) body.gracePeriodSeconds = o.gracePeriodSeconds;
  if (o.propagationPolicy) body.propagationPolicy = o.propagationPolicy;
  if (o.preconditions) body.preconditions = o.preconditions;
  if (o.dryRun) body.dryRun = ['All'];
  return body;
}

/** Verbs on one resource, optionally scoped to a namespace. */
export class ResourceClient<T extends KObject = KObject> {
  readonly client: Client;
  readonly decl: ResourceDecl;
  readonly version: string;
  /** undefined: not scoped (cluster-scoped resource, or all namespaces). */
  readonly ns: string | undefined;

  constructor(client: Client, decl: ResourceDecl, version: string, ns: string | undefined) {
    this.client = client;
    this.decl = decl;
    this.version = version;
    this.ns = ns;
  }

  /** The same resource in one namespace. */
  namespace(ns: string): ResourceClient<T> {
    if (!this.decl.namespaced) throw new Error(`${this.decl.plural} is not namespaced`);
    return new ResourceClient<T>(this.client, this.decl, this.version, ns);
  }

  get apiVersion(): string {
    return groupVersion(this.decl.group, this.version);
  }

  /** The collection path; `name` and `sub` extend it. Single-object paths of namespaced resources need a namespace. */
  path(name?: string, sub?: string): string {
    const base = this.decl.group ? `/apis/${this.decl.group}/${this.version}` : `/api/${this.version}`;
    let p = base;
    if (this.decl.namespaced) {
      if (this.ns !== undefined) p += `/namespaces/${encodeURIComponent(this.ns)}`;
      else if (name !== undefined) throw new Error(`${this.decl.plural} is namespaced: use .namespace(ns) to name one`);
    }
    p += `/${this.decl.plural}`;
    if (name !== undefined) {
      if (!name) throw new Error('resource name may not be empty');
      p += `/${encodeURIComponent(name)}`;
    }
    if (sub) p += `/${sub}`;
    return p;
  }

  private scopeFor(obj: KObject): ResourceClient<T> {
    if (this.decl.namespaced && this.ns === undefined) {
      return this.namespace(obj.metadata?.namespace || this.client.namespace);
    }
    return this;
  }

  private async call(method: HttpMethod, path: string, query: Query, body?: unknown, contentType?: string, signal?: AbortSignal): Promise<unknown> {
    const res = await this.client.transport.request({ method, path, query, body, contentType, signal });
    return checked(method, res);
  }

  async get(name: string, opts: GetOptions & { signal?: AbortSignal } = {}): Promise<T> {
    return (await this.call('GET', this.path(name), { resourceVersion: opts.resourceVersion }, undefined, undefined, opts.signal)) as T;
  }

  async list(opts: ListOptions & { signal?: AbortSignal } = {}): Promise<KList<T>> {
    return (await this.call('GET', this.path(), listQuery(opts), undefined, undefined, opts.signal)) as KList<T>;
  }

  /**
   * Every item, following continue tokens page by page (pageSize, default 500). A continue token
   * that expired mid-way (410) restarts as one unpaginated list, as upstream's pager does.
   * Answers the items and the resourceVersion of the list (of the first page).
   */
  async listAll(opts: Omit<ListOptions, 'limit' | 'continue'> & { pageSize?: number; signal?: AbortSignal } = {}): Promise<{ items: T[]; resourceVersion: string }> {
    const { pageSize = 500, ...rest } = opts;
    const items: T[] = [];
    let cont: string | undefined;
    let rv = '';
    for (;;) {
      let page: KList<T>;
      try {
        page = await this.list({ ...rest, limit: pageSize, continue: cont, resourceVersion: cont ? undefined : rest.resourceVersion, resourceVersionMatch: cont ? undefined : rest.resourceVersionMatch });
      } catch (e) {
        if (cont && e instanceof StatusError && e.code === 410) {
          const full = await this.list({ ...rest });
          return { items: full.items, resourceVersion: full.metadata.resourceVersion ?? '' };
        }
        throw e;
      }
      if (!cont) rv = page.metadata.resourceVersion ?? '';
      for (const it of page.items) items.push(it);
      cont = page.metadata.continue;
      if (!cont) return { items, resourceVersion: rv };
    }
  }

  /** A watch (watch=true). The caller closes the handle; see WatchCallbacks. */
  watch(opts: ListOptions & { signal?: AbortSignal }, cb: WatchCallbacks<T>): WatchHandle {
    return this.client.transport.watch(
      { method: 'GET', path: this.path(), query: { ...listQuery(opts), watch: 'true' }, signal: opts.signal },
      cb as WatchCallbacks<unknown>,
    );
  }

  async create(obj: T, opts: WriteOptions = {}): Promise<T> {
    const c = this.scopeFor(obj);
    return (await this.call('POST', c.path(), writeQuery(opts), obj, undefined, opts.signal)) as T;
  }

  async update(obj: T, opts: WriteOptions = {}): Promise<T> {
    const c = this.scopeFor(obj);
    return (await this.call('PUT', c.path(nameOf(obj)), writeQuery(opts), obj, undefined, opts.signal)) as T;
  }

  async updateStatus(obj: T, opts: WriteOptions = {}): Promise<T> {
    const c = this.scopeFor(obj);
    return (await this.call('PUT', c.path(nameOf(obj), 'status'), writeQuery(opts), obj, undefined, opts.signal)) as T;
  }

  /** A patch of any type; `patch` is a JSON value (an array of operations for 'json'). */
  async patch(name: string, type: PatchType, patch: unknown, opts: PatchOptions = {}): Promise<T> {
    if (type === 'apply' && !opts.fieldManager) throw new Error('fieldManager is required for apply patches');
    const q: Query = { ...writeQuery(opts), force: type === 'apply' && opts.force ? true : undefined };
    return (await this.call('PATCH', this.path(name, opts.subresource), q, patch, PATCH_CONTENT_TYPES[type], opts.signal)) as T;
  }

  /** Server-side apply of a (partial) object under fieldManager. */
  async apply(obj: Partial<T> & { metadata: { name?: string; namespace?: string } }, opts: PatchOptions & { fieldManager: string }): Promise<T> {
    const c = this.scopeFor(obj as T);
    return c.patch(nameOf(obj as T), 'apply', obj, opts);
  }

  /** Deletes one object. Answers what the server answers: the object (finalizers/grace pending, or as deleted) or a Status. */
  async delete(name: string, opts?: DeleteOptions): Promise<T | Record<string, unknown>> {
    return (await this.call('DELETE', this.path(name), {}, deleteBody(opts), undefined, opts?.signal)) as T;
  }

  /** Deletes every object the list options select; answers the list of deleted objects. */
  async deleteCollection(listOpts: ListOptions = {}, opts?: DeleteOptions): Promise<KList<T>> {
    return (await this.call('DELETE', this.path(), listQuery(listOpts), deleteBody(opts), undefined, opts?.signal)) as KList<T>;
  }

  async getScale(name: string): Promise<Scale> {
    if (!this.decl.scale) throw new Error(`${this.decl.plural} has no scale subresource`);
    return (await this.call('GET', this.path(name, 'scale'), {})) as Scale;
  }

  async updateScale(name: string, scale: Scale, opts: WriteOptions = {}): Promise<Scale> {
    if (!this.decl.scale) throw new Error(`${this.decl.plural} has no scale subresource`);
    return (await this.call('PUT', this.path(name, 'scale'), writeQuery(opts), scale, undefined, opts.signal)) as Scale;
  }
}

function nameOf(obj: KObject): string {
  const n = obj.metadata?.name;
  if (!n) throw new Error('object has no metadata.name');
  return n;
}
