// The generic registry: every verb of every declared resource, served from its ResourceDecl,
// a per-kind strategy and the shared hooks (defaulting, validation, admission). This is the only
// place that writes objects to the store.
//
// Contracts:
// - Objects returned are frozen cache entries or fresh objects; callers never mutate either.
// - resourceVersion is never stored inside a value: it is the store's modRevision, set on decode.
// - Writes use optimistic concurrency against the revision read; a lost race with a client's
//   resourceVersion is a 409 Conflict, a lost race on an internal read-modify-write retries.
import { randomUUID } from 'node:crypto';
import {
  StatusError,
  alreadyExists,
  badRequest,
  conflict,
  field,
  forbidden,
  internalError,
  invalid,
  notFound,
  OBJECT_MODIFIED,
  requestEntityTooLarge,
  resourceExpired,
  timeout,
  type FieldError,
  type GroupResource,
} from '../api/errors.ts';
import { clone, deepFreeze, jsonEqual, rfc3339, type KObject } from '../api/meta.ts';
import { groupVersion, storagePrefix, type ResourceDecl } from '../api/resources.ts';
import { StoreError, type KeyValue, type Store } from '../storage/store.ts';
import { entryJson, type CacheEvent, type Entry, type ResourceCache, type WatchCache } from './cache.ts';
import type { Strategy } from './strategy.ts';
import type { Encryption } from './encryption.ts';

export interface Hooks {
  defaults(group: string, version: string, kind: string, obj: KObject): void;
  /** Create-only preparation that needs server-assigned metadata (a Job's generated selector). */
  prepareForCreate(group: string, version: string, kind: string, obj: KObject): void;
  validateCreate(group: string, version: string, kind: string, obj: KObject): FieldError[];
  validateUpdate(group: string, version: string, kind: string, obj: KObject, old: KObject): FieldError[];
  validateStatusUpdate(group: string, version: string, kind: string, obj: KObject, old: KObject): FieldError[];
}

/** What admission plugins see; mutating plugins may change `object` in place. */
export interface AdmissionAttributes {
  operation: 'CREATE' | 'UPDATE' | 'DELETE' | 'CONNECT';
  resource: ResourceDecl;
  subresource: string;
  namespace: string;
  name: string;
  object?: KObject;
  oldObject?: KObject;
  dryRun: boolean;
  user?: UserInfo;
  /** Warnings for the client (Warning headers); plugins append. */
  warnings?: string[];
  /** Annotations for the audit event; plugins set. */
  auditAnnotations?: Record<string, string>;
}

export interface UserInfo {
  name: string;
  uid?: string;
  groups: string[];
  extra?: Record<string, string[]>;
}

export interface AdmissionPlugin {
  name: string;
  /** Throws a StatusError to refuse. */
  admit(a: AdmissionAttributes, reg: Registry): Promise<void> | void;
}

export interface WriteOptions {
  dryRun?: boolean;
  fieldManager?: string;
  user?: UserInfo;
  subresource?: string;
  /**
   * The server's own bookkeeping writes (the `kubernetes` endpoints) skip field validation, so a
   * loopback --advertise-address works for single-machine use. Never set from a request.
   */
  internal?: boolean;
  /** The request's User-Agent (the field manager of a write without fieldManager). */
  userAgent?: string;
  /** The object's managedFields were already computed by server-side apply. */
  applied?: boolean;
  /** Where admission's warnings go (the request's Warning headers). */
  warnings?: string[];
  /**
   * The caller only reads the written object and drops it (it answers a request and is done):
   * the watch cache may take that very object, frozen, instead of decoding the stored bytes
   * again. Never set for callers that may change what a write returns.
   */
  handOff?: boolean;
  /**
   * create() keeps the JSON it stored for takeCreatedJson (with handOff; the caller must take it,
   * or it lives as long as the object).
   */
  keepJson?: boolean;
}

export interface DeleteOptions extends WriteOptions {
  gracePeriodSeconds?: number;
  propagationPolicy?: 'Orphan' | 'Background' | 'Foreground';
  /** The deprecated orphanDependents option, when the request set it. */
  orphanDependents?: boolean;
  preconditions?: { uid?: string; resourceVersion?: string };
}

export interface ListQuery {
  namespace?: string;
  /** Entry filter (label and field selectors compiled by the caller). */
  filter?: (obj: KObject) => boolean;
  /** true when any selector is given (remainingItemCount is then not reported, as upstream). */
  selective?: boolean;
  limit?: number;
  continueToken?: string;
  resourceVersion?: string;
  resourceVersionMatch?: string;
}

export interface ListPage {
  items: Entry[];
  resourceVersion: string;
  continue?: string;
  remainingItemCount?: number;
}

interface ContinueToken {
  v: string;
  rv: number;
  start: string;
}

function encodeContinue(rv: number, start: string): string {
  return Buffer.from(JSON.stringify({ v: 'meta.k8s.io/v1', rv, start } satisfies ContinueToken)).toString('base64url');
}

function decodeContinue(s: string): ContinueToken {
  try {
    const t = JSON.parse(Buffer.from(s, 'base64url').toString('utf8')) as ContinueToken;
    if (t.v !== 'meta.k8s.io/v1' || typeof t.rv !== 'number' || typeof t.start !== 'string') throw new Error('bad');
    return t;
  } catch {
    throw badRequest('continue key is not valid: invalid continue token');
  }
}

const MAX_OBJECT_BYTES = 1.5 * 1024 * 1024;

/** One served resource: storage key layout, cache, strategy. */
export class ResourceRegistry {
  readonly decl: ResourceDecl;
  readonly gr: GroupResource;
  readonly prefix: string;
  readonly cache: ResourceCache;
  readonly strategy: Strategy;
  private readonly reg: Registry;

  constructor(reg: Registry, decl: ResourceDecl, cache: ResourceCache, strategy: Strategy) {
    this.reg = reg;
    this.decl = decl;
    this.gr = { group: decl.group, resource: decl.plural };
    this.prefix = storagePrefix(decl);
    this.cache = cache;
    this.strategy = strategy;
  }

  get storageVersion(): string {
    return this.decl.versions[0]!;
  }

  get storageApiVersion(): string {
    return groupVersion(this.decl.group, this.storageVersion);
  }

  key(namespace: string, name: string): string {
    return this.decl.namespaced ? `${this.prefix}/${namespace}/${name}` : `${this.prefix}/${name}`;
  }

  private get store(): Store {
    return this.reg.store;
  }

  // ------------------------------------------------------------------------------------ reads

  /** A consistent read of one object (the cache brought up to the store's current revision). */
  async get(namespace: string, name: string, resourceVersion?: string): Promise<Entry> {
    let e: Entry | undefined;
    if (!resourceVersion) e = await this.current(namespace, name); // as upstream: a quorum read, never a wait
    else {
      if (resourceVersion !== '0' || !this.reg.watchCache.revision) await this.syncCache(resourceVersion);
      e = this.cache.get(this.key(namespace, name));
    }
    if (!e) throw notFound(this.gr, name);
    return e;
  }

  /**
   * The current entry or undefined: a consistent read. From the cache when it has caught up with
   * the store's current revision, else from the store itself: a lagging watch (etcd under load)
   * makes this read cost a store round trip, never a wait for the cache or its 3 s failure.
   */
  async current(namespace: string, name: string): Promise<Entry | undefined> {
    const rev = await this.store.currentRevision();
    if (this.reg.watchCache.revision >= rev) return this.cache.get(this.key(namespace, name));
    return this.readLive(namespace, name);
  }

  /** One object read from the store (not the cache): upstream's live lookup behind a lister. */
  async readLive(namespace: string, name: string): Promise<Entry | undefined> {
    const key = this.key(namespace, name);
    const kv = await this.store.get(key);
    if (!kv) return undefined;
    return { key, namespace: this.decl.namespaced ? namespace : '', name, obj: deepFreeze(this.reg.decode(kv.key, kv.value, kv.modRevision)), rev: kv.modRevision };
  }

  /** A namespace's objects read from the store (not the cache), in key order. */
  async listLive(namespace: string): Promise<Entry[]> {
    const prefix = this.key(namespace, '');
    const out: Entry[] = [];
    let startKey: string | undefined;
    for (;;) {
      const page = await this.store.list(prefix, { limit: 1000, startKey });
      for (const kv of page.kvs) {
        const name = kv.key.slice(prefix.length);
        out.push({ key: kv.key, namespace, name, obj: deepFreeze(this.reg.decode(kv.key, kv.value, kv.modRevision)), rev: kv.modRevision });
      }
      if (!page.more || page.kvs.length === 0) return out;
      startKey = page.kvs[page.kvs.length - 1]!.key + '\0';
    }
  }

  private async syncCache(resourceVersion?: string): Promise<number> {
    const wc = this.reg.watchCache;
    if (resourceVersion && resourceVersion !== '0') {
      const rv = parseRV(resourceVersion);
      if (rv > wc.revision && !(await wc.waitFor(rv, 3000))) {
        throw timeout(`Too large resource version: ${rv}, current: ${wc.revision}`, 1);
      }
      return wc.revision;
    }
    return wc.sync();
  }

  async list(q: ListQuery): Promise<ListPage> {
    const limit = q.limit && q.limit > 0 ? q.limit : 0;
    const ns = this.decl.namespaced && q.namespace ? q.namespace : undefined;
    const nsPrefix = ns !== undefined ? `${this.prefix}/${ns}/` : `${this.prefix}/`;
    if (q.continueToken) {
      if (q.resourceVersion && q.resourceVersion !== '0') {
        throw badRequest('specifying resource version is not allowed when using continue');
      }
      const t = decodeContinue(q.continueToken);
      const startKey = nsPrefix + t.start;
      if (t.rv === this.reg.watchCache.revision) return this.listFromCache(ns, q, limit, startKey, t.rv);
      return this.listFromStore(nsPrefix, q, limit, startKey, t.rv, true);
    }
    const match = q.resourceVersionMatch;
    if (match && match !== 'Exact' && match !== 'NotOlderThan') {
      throw badRequest(`resourceVersionMatch: Unsupported value: "${match}": supported values: "Exact", "NotOlderThan"`);
    }
    if (match && !q.resourceVersion) {
      throw invalidListOptions('resourceVersionMatch', 'resourceVersionMatch is forbidden unless resourceVersion is provided');
    }
    if (match === 'Exact') {
      const rv = parseRV(q.resourceVersion!);
      if (rv === 0) throw invalidListOptions('resourceVersionMatch', 'resourceVersionMatch "exact" is forbidden for resourceVersion "0"');
      if (rv !== this.reg.watchCache.revision) return this.listFromStore(nsPrefix, q, limit, nsPrefix, rv, false);
    }
    const rv = q.resourceVersion === '0' ? this.reg.watchCache.revision : await this.syncCache(q.resourceVersion);
    return this.listFromCache(ns, q, limit, undefined, rv);
  }

  private listFromCache(ns: string | undefined, q: ListQuery, limit: number, startKey: string | undefined, rv: number): ListPage {
    const base = ns !== undefined ? `${this.prefix}/${ns}/` : `${this.prefix}/`;
    const items: Entry[] = [];
    let more = false;
    let lastKey = '';
    if (!q.filter) {
      // Unfiltered: take the page directly, one more to know whether there is a next one.
      const page = this.cache.list(ns, startKey, limit ? limit + 1 : 0);
      if (limit && page.length > limit) {
        more = true;
        page.length = limit;
      }
      items.push(...page);
      if (items.length) lastKey = items[items.length - 1]!.key;
    } else {
      // Filtered: scan in chunks until the page is full or the entries end.
      let from = startKey;
      for (;;) {
        const chunk = this.cache.list(ns, from, limit ? Math.max(limit * 2, 256) : 0);
        let i = 0;
        for (; i < chunk.length; i++) {
          const e = chunk[i]!;
          if (limit && items.length === limit) {
            more = true;
            break;
          }
          if (q.filter(e.obj)) items.push(e);
        }
        if (more || !limit || chunk.length === 0 || i < chunk.length) break;
        const last = chunk[chunk.length - 1]!.key;
        from = last + '\0';
        if (chunk.length < Math.max(limit * 2, 256)) break;
      }
      if (items.length) lastKey = items[items.length - 1]!.key;
    }
    const page: ListPage = { items, resourceVersion: String(rv) };
    if (more && lastKey) {
      page.continue = encodeContinue(rv, lastKey.slice(base.length) + '\0');
      if (!q.selective) page.remainingItemCount = this.cache.countFrom(ns, lastKey + '\0');
    }
    return page;
  }

  private async listFromStore(prefix: string, q: ListQuery, limit: number, startKey: string, rv: number, isContinue: boolean): Promise<ListPage> {
    const items: Entry[] = [];
    let start = startKey;
    let more = false;
    let remaining: number | undefined;
    try {
      for (;;) {
        const want = limit ? Math.max(limit - items.length, 1) : 0;
        const r = await this.store.list(prefix, { revision: rv, limit: want, startKey: start });
        for (const kv of r.kvs) {
          const obj = deepFreeze(this.reg.decode(kv.key, kv.value, kv.modRevision));
          if (q.filter && !q.filter(obj)) continue;
          const rest = kv.key.slice(this.prefix.length + 1);
          const slash = this.decl.namespaced ? rest.indexOf('/') : -1;
          items.push({ key: kv.key, namespace: slash >= 0 ? rest.slice(0, slash) : '', name: slash >= 0 ? rest.slice(slash + 1) : rest, obj, rev: kv.modRevision });
        }
        more = r.more;
        remaining = r.remaining;
        if (!r.more || r.kvs.length === 0) break;
        start = r.kvs[r.kvs.length - 1]!.key + '\0';
        if (limit && items.length >= limit) break;
      }
    } catch (e) {
      if (e instanceof StoreError && e.code === 'Compacted') {
        if (isContinue) {
          throw new StatusError({
            reason: 'Expired',
            code: 410,
            message:
              'The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter.',
          });
        }
        throw resourceExpired('The resourceVersion for the provided list is too old.');
      }
      throw e;
    }
    const page: ListPage = { items, resourceVersion: String(rv) };
    if (limit && more && items.length > 0) {
      const last = items[items.length - 1]!;
      page.continue = encodeContinue(rv, last.key.slice(prefix.length) + '\0');
      if (!q.selective && remaining !== undefined) page.remainingItemCount = remaining;
    }
    return page;
  }

  // ----------------------------------------------------------------------------------- writes

  /** The stored bytes of a plaintext value under a key: encrypted when the resource is configured so. */
  seal(key: string, plain: Buffer): Buffer {
    return this.reg.encryption ? this.reg.encryption.encrypt(this.encryptionResource, key, plain) : plain;
  }

  /** The bytes to store for an object: encoded, size-checked and sealed. */
  encodeValue(key: string, obj: KObject): Buffer {
    return this.seal(key, this.encode(obj));
  }

  /**
   * Rewrites one stored value with the current write key when it was sealed with another (the
   * object itself is unchanged; watchers see a MODIFIED event with a new resourceVersion).
   * Returns whether it rewrote. Races with other writers retry.
   */
  async reseal(key: string): Promise<boolean> {
    const enc = this.reg.encryption;
    if (!enc) return false;
    for (let attempt = 0; attempt < 20; attempt++) {
      const kv = await this.store.get(key);
      if (!kv) return false;
      const stored = Buffer.from(kv.value);
      if (enc.current(this.encryptionResource, stored)) return false;
      const plain = stored[0] === 0x6b ? enc.decrypt(this.encryptionResource, key, stored) : stored;
      try {
        await this.store.update(key, this.seal(key, plain), kv.modRevision);
        return true;
      } catch (e) {
        if (e instanceof StoreError && e.code === 'Conflict') continue;
        if (e instanceof StoreError && e.code === 'NotFound') return false;
        throw e;
      }
    }
    return false;
  }

  /** "secrets", "deployments.apps": the name EncryptionConfiguration uses for this resource. */
  get encryptionResource(): string {
    return this.decl.group ? `${this.decl.plural}.${this.decl.group}` : this.decl.plural;
  }

  /**
   * Whether encode(obj) would be the stored object's own encoding (the object as read, already
   * normalized): a no-op update. Compared as values, without encoding the stored object; neither
   * side's resourceVersion counts. Call after encode(obj) (which normalizes obj).
   */
  sameAsStored(obj: KObject, stored: KObject): boolean {
    const { resourceVersion: _a, ...ma } = obj.metadata;
    const { resourceVersion: _b, ...mb } = stored.metadata;
    return jsonEqual({ ...obj, metadata: ma }, { ...stored, metadata: mb });
  }

  /** Encodes an object as plaintext: storage version, no resourceVersion, size-checked. */
  encode(obj: KObject): Buffer {
    pruneEmptyMetadata(obj);
    const rv = obj.metadata.resourceVersion;
    if (rv !== undefined) delete obj.metadata.resourceVersion;
    const b = Buffer.from(JSON.stringify(obj));
    if (rv !== undefined) obj.metadata.resourceVersion = rv;
    if (b.length > MAX_OBJECT_BYTES) throw requestEntityTooLarge('Request entity too large: limit is 3145728');
    return b;
  }

  /**
   * What encode returns for an object without a resourceVersion (a create's), plus the byte
   * offset of its metadata's closing brace: where a resourceVersion set afterwards lands in
   * JSON.stringify of the object (a key added last comes last).
   */
  private encodeNew(obj: KObject): { plain: Buffer; metaEnd: number } {
    pruneEmptyMetadata(obj);
    // As encode, but not put back: the create sets the new one, last.
    if (obj.metadata.resourceVersion !== undefined) delete obj.metadata.resourceVersion;
    const { json, metaEnd } = stringifySplit(obj);
    const plain = Buffer.from(json);
    if (plain.length > MAX_OBJECT_BYTES) throw requestEntityTooLarge('Request entity too large: limit is 3145728');
    // Byte offset: the text before the brace may hold multi-byte characters.
    return { plain, metaEnd: plain.length === json.length ? metaEnd : Buffer.byteLength(json.slice(0, metaEnd)) };
  }

  /**
   * The JSON of an object create() just returned, as byte ranges to be sent in order, when it is
   * byte-for-byte JSON.stringify of that object in its storage version: the plaintext stored
   * (before any encryption) with the resourceVersion put where the object has it. Taken once;
   * undefined when not recorded (without keepJson, in-process callers, dry runs) or when the object's
   * resourceVersion is not the one recorded. The caller must not have changed the object since.
   */
  takeCreatedJson(obj: KObject): Buffer[] | undefined {
    const c = this.createdJson.get(obj);
    if (!c) return undefined;
    this.createdJson.delete(obj);
    if (obj.metadata.resourceVersion !== c.rv || c.metaEnd < 0) return undefined;
    const { plain, metaEnd } = c;
    // `{` just before the brace: metadata was empty, the resourceVersion is its only key.
    const rvPart = Buffer.from(`${plain[metaEnd - 1] === 0x7b ? '' : ','}"resourceVersion":${JSON.stringify(c.rv)}`);
    return [plain.subarray(0, metaEnd), rvPart, plain.subarray(metaEnd)];
  }

  private readonly createdJson = new WeakMap<KObject, { plain: Buffer; metaEnd: number; rv: string }>();

  private checkName(obj: KObject): void {
    if (!obj.metadata.name) {
      if (obj.metadata.generateName) {
        // upstream's SimpleNameGenerator: base cut to 58 characters, then 5 random ones
        obj.metadata.name = obj.metadata.generateName.slice(0, 58) + randomSuffix(5);
      }
    }
  }

  /**
   * Creates an object. `obj` is owned by the call (decoded from the request, already converted to
   * the storage version); it is defaulted, validated, admitted and written.
   */
  async create(namespace: string, obj: KObject, opts: WriteOptions): Promise<KObject> {
    const m = (obj.metadata ??= {});
    if (this.decl.namespaced) {
      if (m.namespace && namespace && m.namespace !== namespace) {
        throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
      }
      m.namespace = namespace || m.namespace;
    } else {
      delete m.namespace;
    }
    this.checkName(obj);
    // System fields are the server's.
    m.uid = randomUUID();
    m.creationTimestamp = rfc3339(this.reg.now());
    delete m.deletionTimestamp;
    delete m.deletionGracePeriodSeconds;
    delete m.resourceVersion;
    delete m.selfLink;
    if (m.generateName === '') delete m.generateName;
    this.strategy.prepareForCreate(obj, this.reg);
    this.reg.hooks.prepareForCreate(this.decl.group, this.storageVersion, this.decl.kind, obj);
    this.reg.hooks.defaults(this.decl.group, this.storageVersion, this.decl.kind, obj);
    // Field ownership is the request's: computed before mutating admission and the server's own
    // additions (a Service's allocated addresses), as upstream's create handler does, so that what
    // admission adds (a pod's service account token volume, tolerations) is owned by nobody.
    if (!opts.applied) this.reg.managedFields?.(this, undefined, obj, opts);
    await this.reg.admit({
      operation: 'CREATE',
      resource: this.decl,
      subresource: '',
      namespace: m.namespace ?? '',
      name: m.name ?? '',
      object: obj,
      dryRun: !!opts.dryRun,
      user: opts.user,
      warnings: opts.warnings,
    });
    const errs = opts.internal ? [] : this.reg.hooks.validateCreate(this.decl.group, this.storageVersion, this.decl.kind, obj);
    if (errs.length) throw invalid({ group: this.decl.group, kind: this.decl.kind }, m.name ?? '', errs);
    // Server-side checks with side effects (address allocation) come last; afterCreateFailed undoes them.
    const serverErrs = this.strategy.validate(obj, undefined, this.reg);
    if (serverErrs.length) throw invalid({ group: this.decl.group, kind: this.decl.kind }, m.name ?? '', serverErrs);
    const key = this.key(m.namespace ?? '', m.name!);
    let rev: number;
    let encoded: { plain: Buffer; metaEnd: number };
    try {
      await this.strategy.beforeCreate?.(obj, this.reg, !!opts.dryRun);
      if (opts.dryRun) {
        if (this.cache.get(key)) throw alreadyExists(this.gr, m.name!);
        this.strategy.afterCreateFailed?.(obj, this.reg);
        return obj;
      }
      // No resourceVersion here (deleted above): the response's JSON is the stored plaintext's.
      const { plain, metaEnd } = this.encodeNew(obj);
      encoded = { plain, metaEnd };
      const value = this.seal(key, plain);
      if (opts.handOff) this.reg.offerWritten(key, value, obj);
      rev = await this.store.create(key, value);
    } catch (e) {
      this.reg.withdrawWritten(key, obj);
      this.strategy.afterCreateFailed?.(obj, this.reg);
      if (e instanceof StoreError && e.code === 'KeyExists') throw alreadyExists(this.gr, m.name!);
      throw translateStoreError(e, this.gr, m.name!);
    }
    // Frozen already when the watch cache took the object (it set the same resourceVersion).
    if (m.resourceVersion !== String(rev)) m.resourceVersion = String(rev);
    this.strategy.afterWrite?.(obj, this.reg);
    // Only an HTTP answer serializes the object; nothing but the resourceVersion changed it
    // since it was encoded (afterWrite hooks only read it).
    if (opts.handOff && opts.keepJson) this.createdJson.set(obj, { ...encoded, rv: m.resourceVersion! });
    return obj;
  }

  /**
   * Replaces an object (PUT). With `allowCreate`, a missing object is created (upstream does so for
   * a few kinds only). Returns the written object and whether it was created.
   */
  async update(namespace: string, name: string, obj: KObject, opts: WriteOptions): Promise<{ obj: KObject; created: boolean }> {
    const sub = opts.subresource ?? '';
    const m = (obj.metadata ??= {});
    if (m.name && m.name !== name) {
      throw badRequest(`the name of the object (${m.name}) does not match the name on the URL (${name})`);
    }
    if (this.decl.namespaced && m.namespace && m.namespace !== namespace) {
      throw badRequest('the namespace of the provided object does not match the namespace sent on the request');
    }
    m.name = name;
    if (this.decl.namespaced) m.namespace = namespace;
    const cur = await this.current(namespace, name);
    if (!cur) {
      if (!this.strategy.allowCreateOnUpdate || sub) throw notFound(this.gr, name);
      if (m.resourceVersion) throw notFound(this.gr, name);
      return { obj: await this.create(namespace, obj, opts), created: true };
    }
    const wantRV = m.resourceVersion;
    if (!wantRV && !this.strategy.allowUnconditionalUpdate) {
      throw invalid({ group: this.decl.group, kind: this.decl.kind }, name, [
        field.invalid('metadata.resourceVersion', 0, 'must be specified for an update'),
      ]);
    }
    if (wantRV && wantRV !== String(cur.rev)) {
      throw conflict(this.gr, name, OBJECT_MODIFIED);
    }
    const out = await this.writeUpdate(cur, obj, opts, !!wantRV);
    return { obj: out, created: false };
  }

  /**
   * Read-modify-write of the current object: fn gets a private copy of the current object (or
   * throws); the result is written with the read revision and retried on races. `preconditionRV`
   * (from the client) turns races into 409 instead of retries.
   */
  async guaranteedUpdate(
    namespace: string,
    name: string,
    fn: (current: KObject) => KObject | Promise<KObject>,
    opts: WriteOptions & { preconditionRV?: string },
  ): Promise<KObject> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.current(namespace, name);
      if (!cur) throw notFound(this.gr, name);
      if (opts.preconditionRV && opts.preconditionRV !== String(cur.rev)) throw conflict(this.gr, name, OBJECT_MODIFIED);
      const next = await fn(clone(cur.obj));
      next.metadata ??= {};
      if (next.metadata.name !== undefined && next.metadata.name !== name) {
        throw invalid({ group: this.decl.group, kind: this.decl.kind }, name, [field.invalid('metadata.name', next.metadata.name, 'field is immutable')]);
      }
      next.metadata.name = name;
      if (this.decl.namespaced) next.metadata.namespace = namespace;
      // A patch may carry its own resourceVersion precondition.
      const rvIn = next.metadata.resourceVersion;
      if (rvIn && rvIn !== String(cur.rev)) throw conflict(this.gr, name, OBJECT_MODIFIED);
      try {
        return await this.writeUpdate(cur, next, opts, !!opts.preconditionRV || (!!rvIn && rvIn !== String(cur.rev)));
      } catch (e) {
        if (e instanceof RetryableConflict && attempt < 20) continue;
        throw e;
      }
    }
  }

  private async writeUpdate(cur: Entry, obj: KObject, opts: WriteOptions, clientRV: boolean): Promise<KObject> {
    const sub = opts.subresource ?? '';
    const old = cur.obj;
    const m = obj.metadata;
    // A write naming another incarnation of the object (same name, new uid) is refused, as
    // upstream's storage precondition does: a late status write never lands on a re-created pod.
    if (m.uid && m.uid !== old.metadata.uid) {
      throw conflict(this.gr, m.name ?? old.metadata.name ?? '', `Precondition failed: UID in precondition: ${m.uid}, UID in object meta: ${old.metadata.uid}`);
    }
    // System fields are carried over from the stored object.
    m.uid = old.metadata.uid;
    m.creationTimestamp = old.metadata.creationTimestamp;
    if (old.metadata.deletionTimestamp) {
      m.deletionTimestamp = old.metadata.deletionTimestamp;
      if (old.metadata.deletionGracePeriodSeconds !== undefined) m.deletionGracePeriodSeconds = old.metadata.deletionGracePeriodSeconds;
    } else {
      delete m.deletionTimestamp;
      delete m.deletionGracePeriodSeconds;
    }
    if (old.metadata.generation !== undefined) m.generation = old.metadata.generation;
    else delete m.generation;
    delete m.selfLink;
    obj.apiVersion = this.storageApiVersion;
    obj.kind = this.decl.kind;
    if (sub === 'status') this.strategy.prepareForStatusUpdate(obj, old);
    else this.strategy.prepareForUpdate(obj, old);
    this.reg.hooks.defaults(this.decl.group, this.storageVersion, this.decl.kind, obj);
    // Before mutating admission, as for a create (upstream's update handler alike).
    if (!opts.applied) this.reg.managedFields?.(this, old, obj, opts);
    await this.reg.admit({
      operation: 'UPDATE',
      resource: this.decl,
      subresource: sub,
      namespace: m.namespace ?? '',
      name: m.name ?? '',
      object: obj,
      oldObject: old,
      dryRun: !!opts.dryRun,
      user: opts.user,
      warnings: opts.warnings,
    });
    const errs = opts.internal
      ? []
      : sub === 'status'
        ? this.reg.hooks.validateStatusUpdate(this.decl.group, this.storageVersion, this.decl.kind, obj, old)
        : this.reg.hooks.validateUpdate(this.decl.group, this.storageVersion, this.decl.kind, obj, old);
    if (errs.length) throw invalid({ group: this.decl.group, kind: this.decl.kind }, m.name ?? '', errs);
    const serverErrs = this.strategy.validate(obj, old, this.reg);
    if (serverErrs.length) throw invalid({ group: this.decl.group, kind: this.decl.kind }, m.name ?? '', serverErrs);
    let value: Buffer;
    try {
      await this.strategy.beforeUpdate?.(obj, old, this.reg, !!opts.dryRun);
      // An update that changes nothing is not written (upstream skips the storage write).
      m.resourceVersion = String(cur.rev);
      value = this.encode(obj);
      if (opts.dryRun || this.sameAsStored(obj, old)) {
        this.strategy.afterCreateFailed?.(obj, this.reg);
        return obj;
      }
    } catch (e) {
      this.strategy.afterCreateFailed?.(obj, this.reg);
      throw e;
    }
    // Finalizers emptied on an object being deleted: the delete completes now.
    if (m.deletionTimestamp && (!m.finalizers || m.finalizers.length === 0) && !this.strategy.deletionPending?.(obj)) {
      try {
        const r = await this.store.delete(cur.key, cur.rev);
        m.resourceVersion = String(r.revision);
        return obj;
      } catch (e) {
        if (e instanceof StoreError && (e.code === 'Conflict' || e.code === 'NotFound')) {
          if (clientRV) throw conflict(this.gr, m.name!, OBJECT_MODIFIED);
          throw new RetryableConflict();
        }
        throw translateStoreError(e, this.gr, m.name!);
      }
    }
    try {
      const sealed = this.seal(cur.key, value);
      if (opts.handOff) this.reg.offerWritten(cur.key, sealed, obj);
      const rev = await this.store.update(cur.key, sealed, cur.rev);
      // Frozen already when the watch cache took the object (it set the same resourceVersion).
      if (m.resourceVersion !== String(rev)) m.resourceVersion = String(rev);
      this.strategy.afterWrite?.(obj, this.reg);
      return obj;
    } catch (e) {
      this.reg.withdrawWritten(cur.key, obj);
      this.strategy.afterCreateFailed?.(obj, this.reg);
      if (e instanceof StoreError && (e.code === 'Conflict' || e.code === 'NotFound')) {
        if (clientRV) throw conflict(this.gr, m.name!, OBJECT_MODIFIED);
        throw new RetryableConflict();
      }
      throw translateStoreError(e, this.gr, m.name!);
    }
  }

  /**
   * Deletes an object, gracefully when the strategy asks for it and while finalizers remain.
   * Returns the object as last seen and whether it is gone from the store.
   */
  async delete(namespace: string, name: string, opts: DeleteOptions): Promise<{ obj: KObject; deleted: boolean }> {
    for (let attempt = 0; ; attempt++) {
      const cur = await this.current(namespace, name);
      if (!cur) throw notFound(this.gr, name);
      const pre = opts.preconditions;
      if (pre?.uid && pre.uid !== cur.obj.metadata.uid) {
        throw conflict(
          this.gr,
          name,
          `Precondition failed: UID in precondition: ${pre.uid}, UID in object meta: ${cur.obj.metadata.uid}`,
        );
      }
      if (pre?.resourceVersion && pre.resourceVersion !== String(cur.rev)) {
        throw conflict(
          this.gr,
          name,
          `Precondition failed: ResourceVersion in precondition: ${pre.resourceVersion}, ResourceVersion in object meta: ${cur.rev}`,
        );
      }
      await this.reg.admit({
        operation: 'DELETE',
        resource: this.decl,
        subresource: '',
        namespace,
        name,
        oldObject: cur.obj,
        dryRun: !!opts.dryRun,
        user: opts.user,
      });
      const obj = clone(cur.obj);
      const m = obj.metadata;
      const finalizers = new Set(m.finalizers ?? []);
      const policy = opts.propagationPolicy ?? this.strategy.defaultPropagation ?? 'Background';
      // Graceful deletion: pods on a node are marked and left to the kubelet.
      const grace = this.strategy.gracePeriod?.(cur.obj, opts.gracePeriodSeconds) ?? 0;
      let changed = false;
      if (policy === 'Orphan' && !finalizers.has('orphan')) {
        finalizers.add('orphan');
        finalizers.delete('foregroundDeletion');
        changed = true;
      } else if (policy === 'Foreground' && !finalizers.has('foregroundDeletion')) {
        finalizers.add('foregroundDeletion');
        finalizers.delete('orphan');
        changed = true;
      }
      const pending = finalizers.size > 0 || grace > 0 || !!this.strategy.deletionPending?.(cur.obj);
      if (!pending) {
        if (opts.dryRun) return { obj: cur.obj, deleted: true };
        try {
          const r = await this.store.delete(cur.key, cur.rev);
          const out = clone(cur.obj);
          out.metadata.resourceVersion = String(r.revision);
          await this.strategy.afterDelete?.(out, this.reg);
          return { obj: out, deleted: true };
        } catch (e) {
          if (e instanceof StoreError && e.code === 'Conflict' && attempt < 20) continue;
          if (e instanceof StoreError && e.code === 'NotFound') throw notFound(this.gr, name);
          throw translateStoreError(e, this.gr, name);
        }
      }
      // Mark for deletion; the object stays until its finalizers are removed or its grace ends.
      const now = this.reg.now();
      if (!m.deletionTimestamp) {
        m.deletionTimestamp = rfc3339(new Date(now.getTime() + grace * 1000));
        m.deletionGracePeriodSeconds = grace;
        changed = true;
      } else if (grace < (m.deletionGracePeriodSeconds ?? 0)) {
        // A shorter grace period may shorten a pending graceful deletion.
        m.deletionTimestamp = rfc3339(new Date(now.getTime() + grace * 1000));
        m.deletionGracePeriodSeconds = grace;
        changed = true;
      }
      if (grace === 0 && finalizers.size === 0 && !this.strategy.deletionPending?.(cur.obj)) {
        // Grace period ended (force deletion) with no finalizers left.
        if (opts.dryRun) return { obj: cur.obj, deleted: true };
        try {
          const r = await this.store.delete(cur.key, cur.rev);
          const out = clone(cur.obj);
          out.metadata.resourceVersion = String(r.revision);
          return { obj: out, deleted: true };
        } catch (e) {
          if (e instanceof StoreError && e.code === 'Conflict' && attempt < 20) continue;
          throw translateStoreError(e, this.gr, name);
        }
      }
      m.finalizers = finalizers.size ? [...finalizers] : undefined;
      if (!m.finalizers) delete m.finalizers;
      this.strategy.prepareForDelete?.(obj);
      if (!changed && !this.strategy.prepareForDelete) return { obj: cur.obj, deleted: false };
      if (opts.dryRun) return { obj, deleted: false };
      try {
        const rev = await this.store.update(cur.key, this.encodeValue(cur.key, obj), cur.rev);
        m.resourceVersion = String(rev);
        return { obj: deepFreeze(obj), deleted: false };
      } catch (e) {
        if (e instanceof StoreError && e.code === 'Conflict' && attempt < 20) continue;
        throw translateStoreError(e, this.gr, name);
      }
    }
  }

  // ------------------------------------------------------------------------------------ watch

  /**
   * Starts a watch. Events before the watch starts (initial state or replay from a revision) are
   * delivered first, then live events, all through `send`, in order. Returns a stop function.
   */
  watch(
    opts: { namespace?: string; filter?: (o: KObject) => boolean; resourceVersion?: string; sendInitialEvents?: boolean; name?: string },
    send: (type: 'ADDED' | 'MODIFIED' | 'DELETED', e: Entry) => void,
    progress?: (rev: number) => void,
  ): { stop(): void; startRevision: number } {
    const ns = this.decl.namespaced && opts.namespace ? opts.namespace : undefined;
    const match = (e: Entry | undefined): boolean => {
      if (!e) return false;
      if (ns !== undefined && e.namespace !== ns) return false;
      if (opts.name !== undefined && e.name !== opts.name) return false;
      return !opts.filter || opts.filter(e.obj);
    };
    const deliver = (ev: CacheEvent) => {
      const now = ev.type !== 'DELETED' && match(ev.entry);
      const before = ev.type !== 'ADDED' && match(ev.type === 'DELETED' ? (ev.prev ?? ev.entry) : ev.prev);
      if (ev.type === 'DELETED') {
        if (before) send('DELETED', ev.entry);
      } else if (now && before) send('MODIFIED', ev.entry);
      else if (now) send('ADDED', ev.entry);
      else if (before) send('DELETED', ev.entry); // left the filtered set
    };
    const rvStr = opts.resourceVersion;
    let startRevision = this.reg.watchCache.revision;
    const initial = rvStr === undefined || rvStr === '' || rvStr === '0' || opts.sendInitialEvents;
    if (initial) {
      for (const e of this.cache.list(ns)) if (match(e)) send('ADDED', e);
    } else {
      const rv = parseRV(rvStr!);
      for (const ev of this.cache.eventsAfter(rv)) deliver(ev);
      startRevision = Math.max(rv, startRevision);
    }
    const w = { onEvent: deliver, onProgress: progress };
    this.cache.watchers.add(w);
    return { stop: () => this.cache.watchers.delete(w), startRevision };
  }
}

/** Thrown inside a read-modify-write when the store saw a concurrent write; the loop retries. */
class RetryableConflict extends Error {}

function invalidListOptions(f: string, msg: string): StatusError {
  return invalid({ group: 'meta.k8s.io', kind: 'ListOptions' }, '', [field.forbidden(f, msg)]);
}

export function parseRV(s: string): number {
  if (!/^\d+$/.test(s)) {
    throw badRequest(`invalid resource version "${s}"`);
  }
  return Number(s);
}

export function translateStoreError(e: unknown, gr: GroupResource, name: string): StatusError {
  if (e instanceof StatusError) return e;
  if (e instanceof StoreError) {
    switch (e.code) {
      case 'NotFound':
        return notFound(gr, name);
      case 'KeyExists':
        return alreadyExists(gr, name);
      case 'Conflict':
        return conflict(gr, name, OBJECT_MODIFIED);
      case 'ValueTooLarge':
        return requestEntityTooLarge('Request entity too large: limit is 3145728');
      case 'Compacted':
        return resourceExpired(e.message);
      case 'Unavailable':
        return new StatusError({ reason: 'ServiceUnavailable', code: 503, message: `storage is unavailable: ${e.message}` });
      default:
        return internalError(e);
    }
  }
  return internalError(e);
}

const ALPHANUMS = 'bcdfghjklmnpqrstvwxz2456789';
/** upstream's utilrand.String: consonants and digits that never spell words. */
export function randomSuffix(n: number): string {
  let s = '';
  for (let i = 0; i < n; i++) s += ALPHANUMS[randomByte() % ALPHANUMS.length];
  return s;
}

// Random bytes drawn from a pool refilled 4 KiB at a time: one getRandomValues call per pod for
// its token volume's name cost as much as a few percent of a create.
const pool = new Uint8Array(4096);
let poolAt = pool.length;

function randomByte(): number {
  if (poolAt >= pool.length) {
    crypto.getRandomValues(pool);
    poolAt = 0;
  }
  return pool[poolAt++]!;
}

/** The whole set of resources, the store, the cache and the shared hooks. */
export class Registry {
  readonly store: Store;
  readonly watchCache: WatchCache;
  readonly hooks: Hooks;
  readonly resources = new Map<string, ResourceRegistry>();
  admission: AdmissionPlugin[] = [];
  now: () => Date = () => new Date();
  /** Encryption at rest (EncryptionConfiguration); values of configured resources are sealed. */
  encryption?: Encryption;
  /** storage prefix ("/registry/secrets/") → the resource name encryption is configured by. */
  readonly encryptionNames = new Map<string, string>();
  /** Records field ownership on writes (server-side apply bookkeeping); set by the server. */
  managedFields?: (r: ResourceRegistry, old: KObject | undefined, obj: KObject, opts: WriteOptions) => void;

  constructor(store: Store, watchCache: WatchCache, hooks: Hooks) {
    this.store = store;
    this.watchCache = watchCache;
    this.hooks = hooks;
  }

  /** Objects being written by requests that only read them afterwards (WriteOptions.handOff), by key. */
  private readonly written = new Map<string, { value: Uint8Array; obj: KObject }>();

  /**
   * Offers the watch cache the object whose encoding `value` is being written under `key`, so
   * that decoding that value yields the object itself (frozen by the cache) instead of a parse
   * of the same bytes. From here on only its resourceVersion may change.
   */
  offerWritten(key: string, value: Uint8Array, obj: KObject): void {
    // Offers are settled by the watch; should it stall, they are only an optimization to drop.
    if (this.written.size >= 10_000) this.written.clear();
    this.written.set(key, { value, obj });
  }

  /** Takes back an offer whose write failed (a later value under the key is decoded as usual). */
  withdrawWritten(key: string, obj: KObject): void {
    if (this.written.get(key)?.obj === obj) this.written.delete(key);
  }

  decode(key: string, value: Uint8Array, rev: number): KObject {
    const w = this.written.get(key);
    if (w !== undefined) {
      // Whatever decodes this key first settles the offer: the same bytes (a store may hand back
      // its own copy) are the offered object; anything else is another write's value.
      this.written.delete(key);
      if (w.value === value || Buffer.from(value.buffer, value.byteOffset, value.byteLength).equals(w.value)) {
        const m = w.obj.metadata;
        if (!Object.isFrozen(m)) m.resourceVersion = String(rev);
        if (m.resourceVersion === String(rev)) return w.obj;
      }
    }
    let buf = Buffer.from(value.buffer, value.byteOffset, value.byteLength);
    // Sealed values start with "k8s:enc:"; plain JSON with "{".
    if (buf[0] === 0x6b && this.encryption) buf = this.encryption.decrypt(this.encryptionResourceOf(key), key, buf);
    const obj = JSON.parse(buf.toString('utf8')) as KObject;
    (obj.metadata ??= {}).resourceVersion = String(rev);
    void key;
    return obj;
  }

  get(group: string, plural: string): ResourceRegistry | undefined {
    return this.resources.get(`${group}/${plural}`);
  }

  private encryptionResourceOf(key: string): string {
    for (const [prefix, name] of this.encryptionNames) if (key.startsWith(prefix)) return name;
    return '';
  }

  /** The registry for a group/plural, or throws (programming error: the resource must be declared). */
  must(group: string, plural: string): ResourceRegistry {
    const r = this.get(group, plural);
    if (!r) throw new Error(`resource ${plural}.${group} is not registered`);
    return r;
  }

  async admit(a: AdmissionAttributes): Promise<void> {
    for (const p of this.admission) await p.admit(a, this);
  }
}

export { forbidden, entryJson };

/** Empty metadata collections are omitted, as Go's omitempty does (a removed last finalizer leaves no `finalizers: []` behind). */
function pruneEmptyMetadata(obj: KObject): void {
  const meta = obj.metadata as Record<string, unknown>;
  for (const f of ['labels', 'annotations', 'finalizers', 'ownerReferences', 'managedFields']) {
    const v = meta[f];
    if (v !== undefined && (Array.isArray(v) ? v.length === 0 : v !== null && typeof v === 'object' && Object.keys(v).length === 0)) delete meta[f];
  }
}

/**
 * JSON.stringify(obj), the same text, built member by member at the top level so that the
 * offset (in UTF-16 units) of the closing brace of its `metadata` object is known; -1 without one.
 * Members whose value has no JSON form (undefined, functions) are left out, as JSON.stringify does.
 */
export function stringifySplit(obj: object): { json: string; metaEnd: number } {
  let json = '{';
  let metaEnd = -1;
  for (const k of Object.keys(obj)) {
    const v = JSON.stringify((obj as Record<string, unknown>)[k]);
    if (v === undefined) continue;
    if (json.length > 1) json += ',';
    json += JSON.stringify(k) + ':' + v;
    if (k === 'metadata' && v[0] === '{') metaEnd = json.length - 1;
  }
  return { json: json + '}', metaEnd };
}
