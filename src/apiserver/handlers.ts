// Resource request handlers: one per verb, all driven by the ResourceDecl and the registry.
// Decoding, conversion between served and stored versions, strict field validation, patches and
// output transformations (Table, PartialObjectMetadata) happen here; storage semantics live in
// registry.ts.
import { constants as http2Constants } from 'node:http2';
import {
  StatusError,
  badRequest,
  field,
  invalid,
  methodNotSupported,
  notFound,
  notFoundPath,
  unsupportedMediaType,
} from '../api/errors.ts';
import { clone, rfc3339, type KObject } from '../api/meta.ts';
import { groupVersion, parseGroupVersion, resourceByPlural, type ResourceDecl } from '../api/resources.ts';
import { entryJson, RecentEncodings, type Entry } from './cache.ts';
import {
  JSON_TYPE,
  PROTOBUF_TYPE,
  decodeText,
  mediaType,
  negotiate,
  readBody,
  setWarnings,
  writeJsonParts,
  writeObject,
  type AcceptChoice,
  type Ctx,
} from './http.ts';
import type { DeleteOptions, ListQuery, Registry, ResourceRegistry, WriteOptions } from './registry.ts';

/** Pluggable codecs and transformations; the server wires the real ones. */
export interface Codecs {
  decodeProtobuf(body: Buffer): { apiVersion: string; kind: string; object: Record<string, unknown> };
  encodeProtobuf(obj: unknown): Uint8Array;
  encodeProtobufWatchEvent(type: string, obj: unknown): Uint8Array;
  /**
   * Problems under fieldValidation (unknown or duplicate fields), upstream's wording; prunes
   * unknown fields from obj in every mode. `body` is the raw request text (duplicates show there).
   */
  fieldProblems(group: string, version: string, kind: string, obj: Record<string, unknown>, body?: { text: string; mediaType: string }): string[];
  /** The Go-style typed-decoding error of a body (wrong JSON types, malformed quantities), or undefined. */
  decodeError(group: string, version: string, kind: string, obj: unknown): string | undefined;
  convert(obj: KObject, apiVersion: string): KObject;
  table(group: string, plural: string, objects: KObject[], opts: { includeObject: string; now: Date; resourceVersion?: string; continue?: string; remainingItemCount?: number }): unknown;
  labelFilter(selector: string): (labels: Record<string, string> | undefined) => boolean;
  fieldFilter(group: string, plural: string, selector: string): (obj: KObject) => boolean;
  /** Applies a patch to `current`, the caller's private copy, which it may consume; never changes `patch`. */
  patch(kind: 'json' | 'merge' | 'strategic', gvk: { group: string; version: string; kind: string }, current: KObject, patch: unknown): KObject;
  /** Server-side apply; the result carries its managedFields. `subresource` for status/scale applies. */
  apply(args: { live?: KObject; applied: KObject; manager: string; force: boolean; gvk: { group: string; version: string; kind: string }; now: Date; subresource?: string; resetFields?: string[][] }): KObject;
}

export interface HandlerDeps {
  reg: Registry;
  codecs: Codecs;
  /** Subresource handlers served elsewhere (log, exec, …), keyed by "<group>/<plural>/<sub>". */
  connect: Map<string, (ctx: Ctx, r: ResourceRegistry) => Promise<void>>;
  /** Create-only review kinds (SelfSubjectAccessReview …), keyed by "<group>/<plural>". */
  reviews: Map<string, (ctx: Ctx, obj: KObject) => Promise<KObject> | KObject>;
  minRequestTimeoutSeconds: number;
  /** Aborted when the server shuts down: every open watch ends. */
  closing?: AbortSignal;
  log?: (msg: string) => void;
}

/**
 * A watch that stays more than this far behind (bytes written and not yet taken by its client)
 * for WATCH_BEHIND_GRACE_MS is closed, as upstream closes a watcher that does not keep up: a
 * client that stops reading would otherwise have the server hold every later event for it, while
 * a slow one only lags in bursts. A watch's first burst (its initial events or replay) counts
 * against twice its own size if that is more.
 */
export const WATCH_BEHIND_LIMIT_BYTES = 16 * 2 ** 20;
export const WATCH_BEHIND_GRACE_MS = 5_000;

const { NGHTTP2_CANCEL } = http2Constants;

const PATCH_TYPES: Record<string, 'json' | 'merge' | 'strategic' | 'apply'> = {
  'application/json-patch+json': 'json',
  'application/merge-patch+json': 'merge',
  'application/strategic-merge-patch+json': 'strategic',
  'application/apply-patch+yaml': 'apply',
  'application/apply-patch+cbor': 'apply',
};

export function createResourceHandler(d: HandlerDeps): (ctx: Ctx) => Promise<void> {
  const { reg, codecs } = d;

  // --------------------------------------------------------------------------- helpers

  const servedVersion = (decl: ResourceDecl, version: string) => decl.versions.includes(version);

  /** The object as served in the request's group/version. */
  const present = (r: ResourceRegistry, decl: ResourceDecl, version: string, obj: KObject): KObject => {
    const want = groupVersion(decl.group, version);
    if (obj.apiVersion === want && obj.kind === decl.kind) return obj;
    return codecs.convert(obj, want);
  };

  const presentEntryJson = (r: ResourceRegistry, decl: ResourceDecl, version: string, e: Entry): Buffer => {
    const want = groupVersion(decl.group, version);
    if (e.obj.apiVersion === want && e.obj.kind === decl.kind) return entryJson(e);
    return Buffer.from(JSON.stringify(codecs.convert(e.obj, want)));
  };

  /**
   * A JSON watch event's bytes, made once per event, type and version and shared by every watcher
   * of it (a hundred watchers of one resource otherwise each concatenate their own copy: that was a
   * fifth of the server's time delivering to them). Entries are immutable, so the bytes never go stale.
   * Only the most recent events keep theirs: every watcher of an event gets it in the same dispatch,
   * and an encoding kept for as long as its object stays in the cache would double the memory of
   * every watched object (a node's kubelet watches each of its pods).
   */
  const sharedEvents = new RecentEncodings(1024);
  const watchEventJson = (r: ResourceRegistry, decl: ResourceDecl, version: string, type: string, e: Entry): Buffer => {
    const m = sharedEvents.of<Buffer>(e);
    const k = `${type}/${version}`;
    let b = m.get(k);
    if (!b) {
      b = Buffer.concat([Buffer.from(`{"type":"${type}","object":`), presentEntryJson(r, decl, version, e), NL_CLOSE]);
      m.set(k, b);
    }
    return b;
  };
  const watchEventProtobuf = (r: ResourceRegistry, decl: ResourceDecl, version: string, type: string, e: Entry): Uint8Array => {
    const m = sharedEvents.of<Uint8Array>(e);
    const k = `pb/${type}/${version}`;
    let b = m.get(k);
    if (!b) m.set(k, (b = toBuffer(codecs.encodeProtobufWatchEvent(type, present(r, decl, version, e.obj)))));
    return b;
  };

  /** The request body as raw bytes (HTTP) or as a value (in-process; a private copy). */
  const requestBody = async (ctx: Ctx): Promise<{ raw?: Buffer; value?: unknown; type: string }> => {
    const type = mediaType(ctx.req.headers['content-type']);
    const wantAudit = ctx.audit && ctx.audit.decision.level !== 'Metadata';
    if (ctx.local) {
      const b = ctx.local.body;
      if (wantAudit) ctx.audit!.requestObject = b;
      if (b instanceof Uint8Array) return { raw: Buffer.from(b), type };
      return { value: b === undefined ? undefined : clone(b), type };
    }
    const raw = await readBody(ctx.req);
    if (wantAudit && (type === JSON_TYPE || type.endsWith('+json'))) ctx.audit!.requestObject = raw;
    return { raw, type };
  };

  /** A body decoded as JSON/YAML (or taken as the in-process value); empty is undefined. */
  const bodyValue = async (ctx: Ctx, as?: string): Promise<{ value: unknown; raw?: Buffer; type: string }> => {
    const b = await requestBody(ctx);
    if (!b.raw) return { value: b.value, type: b.type };
    if (b.raw.length === 0) return { value: undefined, raw: b.raw, type: b.type };
    if (b.type === PROTOBUF_TYPE && !as) return { value: codecs.decodeProtobuf(b.raw).object, raw: b.raw, type: b.type };
    return { value: decodeText(b.raw, as ?? b.type), raw: b.raw, type: b.type };
  };

  /** Decodes a create/update body, checks its kind against the URL, applies field validation, converts to storage. */
  const decodeObject = async (ctx: Ctx, decl: ResourceDecl, r: ResourceRegistry | undefined, expectKind = decl.kind, expectGroup = decl.group): Promise<KObject> => {
    fieldValidationMode(ctx);
    const rb = await requestBody(ctx);
    const type = rb.type;
    const body = rb.raw ?? Buffer.alloc(0);
    let obj: Record<string, unknown>;
    let raw: string | undefined;
    if (rb.value !== undefined || (ctx.local && !rb.raw)) {
      obj = rb.value as Record<string, unknown>;
    } else if (type === PROTOBUF_TYPE) {
      try {
        obj = codecs.decodeProtobuf(body).object;
      } catch (e) {
        if (e instanceof StatusError) throw e;
        throw badRequest(`error decoding protobuf: ${(e as Error).message}`);
      }
    } else if (type === JSON_TYPE || type === 'application/yaml') {
      raw = body.toString('utf8');
      obj = decodeText(body, type) as Record<string, unknown>;
    } else {
      throw unsupportedMediaType(type);
    }
    if (!obj || typeof obj !== 'object' || Array.isArray(obj)) {
      throw badRequest('Object \'Kind\' is missing in \'' + (raw ?? '').slice(0, 200) + "'");
    }
    const version = ctx.info.version;
    const wantAV = groupVersion(expectGroup, version);
    if (obj.apiVersion === undefined || obj.apiVersion === '') obj.apiVersion = wantAV;
    if (obj.kind === undefined || obj.kind === '') obj.kind = expectKind;
    if (typeof obj.apiVersion !== 'string' || typeof obj.kind !== 'string') throw badRequest('apiVersion and kind must be strings');
    if (obj.kind !== expectKind || obj.apiVersion !== wantAV) {
      const gv = parseGroupVersion(obj.apiVersion);
      if (gv.group !== expectGroup || obj.kind !== expectKind) {
        throw badRequest(
          `the API version in the data (${obj.apiVersion}) does not match the expected API version (${wantAV})`,
        );
      }
      if (!decl.versions.includes(gv.version)) {
        throw badRequest(`the API version in the data (${obj.apiVersion}) does not match the expected API version (${wantAV})`);
      }
    }
    if (obj.metadata !== undefined && (typeof obj.metadata !== 'object' || obj.metadata === null || Array.isArray(obj.metadata))) {
      throw badRequest(`json: cannot unmarshal ${Array.isArray(obj.metadata) ? 'array' : typeof obj.metadata} into Go struct field ${expectKind}.metadata of type v1.ObjectMeta`);
    }
    fieldValidation(ctx, gvOf(obj.apiVersion as string).group, gvOf(obj.apiVersion as string).version, obj.kind as string, obj, raw === undefined ? undefined : { text: raw, mediaType: type });
    const kobj = obj as KObject;
    kobj.metadata ??= {};
    if (r && kobj.apiVersion !== r.storageApiVersion) return codecs.convert(kobj, r.storageApiVersion);
    return kobj;
  };

  const gvOf = (av: string) => parseGroupVersion(av);

  /** Checks the fieldValidation parameter before anything is decoded (422, as upstream's options validation). */
  const fieldValidationMode = (ctx: Ctx): 'Strict' | 'Warn' | 'Ignore' => {
    const v = ctx.query.get('fieldValidation') ?? '';
    if (v === 'Strict' || v === 'Ignore') return v;
    if (v === '' || v === 'Warn') return 'Warn';
    const kind = ctx.method === 'POST' ? 'CreateOptions' : ctx.method === 'PATCH' ? 'PatchOptions' : 'UpdateOptions';
    throw invalid({ group: 'meta.k8s.io', kind }, '', [field.notSupported('fieldValidation', v, ['', 'Ignore', 'Strict', 'Warn'])]);
  };

  /**
   * Typed decoding and field validation of a decoded body: a wrong type is a 400; unknown and
   * duplicate fields are a 400 under Strict, warnings under Warn, silently dropped under Ignore.
   * `patched` marks a patch result (a Strict failure is then upstream's 422 on the patch).
   */
  const fieldValidation = (ctx: Ctx, group: string, version: string, kind: string, obj: Record<string, unknown>, raw?: { text: string; mediaType: string }, patched = false) => {
    const mode = fieldValidationMode(ctx);
    const typeErr = codecs.decodeError(group, version, kind, obj);
    if (typeErr) throw badRequest(`${kind} in version "${version}" cannot be handled as a ${kind}: ${typeErr}`);
    const problems = codecs.fieldProblems(group, version, kind, obj, mode === 'Ignore' ? undefined : raw);
    if (!problems.length || mode === 'Ignore') return;
    if (mode === 'Strict') {
      if (patched) throw invalid({ group: '', kind: '' }, '', [field.invalid('patch', JSON.stringify(obj), `strict decoding error: ${problems.join(', ')}`)]);
      throw badRequest(`${kind} in version "${version}" cannot be handled as a ${kind}: strict decoding error: ${problems.join(', ')}`);
    }
    for (const p of problems) ctx.warnings.push(...p.split('\n').filter(Boolean));
  };

  const writeOptions = (ctx: Ctx, sub = ''): WriteOptions => {
    const dry = ctx.query.getAll('dryRun');
    for (const v of dry) if (v !== 'All') throw badRequest(`dryRun: Unsupported value: "${v}": supported values: "All"`);
    const fm = ctx.query.get('fieldManager') ?? undefined;
    if (fm !== undefined && (fm.length > 128 || /[^\x20-\x7e]/.test(fm))) {
      const kind = ctx.method === 'POST' ? 'CreateOptions' : ctx.method === 'PATCH' ? 'PatchOptions' : 'UpdateOptions';
      throw invalid({ group: 'meta.k8s.io', kind }, '', [field.invalid('fieldManager', fm, fm.length > 128 ? 'must be no more than 128 characters' : 'must only contain printable characters')]);
    }
    return {
      dryRun: dry.length > 0,
      fieldManager: fm,
      user: ctx.user,
      subresource: sub,
      userAgent: ctx.req.headers['user-agent'],
      warnings: ctx.warnings,
      // An HTTP answer only serializes the written object; an in-process caller gets it read-only
      // (the Transport contract), so the watch cache may take and freeze that very object.
      handOff: true,
    };
  };

  const choose = (ctx: Ctx, allowAs: boolean): AcceptChoice => negotiate(ctx.req.headers.accept, allowAs);

  const send = (ctx: Ctx, status: number, obj: unknown, choice: AcceptChoice = choose(ctx, false)) =>
    writeObject(ctx, status, obj, choice, codecs.encodeProtobuf);

  const listQuery = (ctx: Ctx, decl: ResourceDecl): ListQuery => {
    const q = ctx.query;
    const ls = q.get('labelSelector') ?? '';
    const fs = q.get('fieldSelector') ?? '';
    const lf = ls ? codecs.labelFilter(ls) : undefined;
    const ff = fs ? codecs.fieldFilter(decl.group, decl.plural, fs) : undefined;
    const limitS = q.get('limit');
    let limit = 0;
    if (limitS) {
      if (!/^-?\d+$/.test(limitS)) throw badRequest(`limit: Invalid value: "${limitS}": must be an integer`);
      limit = Math.max(0, Number(limitS));
    }
    return {
      namespace: ctx.info.namespace || undefined,
      filter: lf || ff ? (o) => (!lf || lf(o.metadata.labels)) && (!ff || ff(o)) : undefined,
      selective: !!(ls || fs),
      limit,
      continueToken: q.get('continue') || undefined,
      resourceVersion: q.get('resourceVersion') ?? undefined,
      resourceVersionMatch: q.get('resourceVersionMatch') || undefined,
    };
  };

  const partialMeta = (o: KObject) => ({ kind: 'PartialObjectMetadata', apiVersion: 'meta.k8s.io/v1', metadata: o.metadata });

  // --------------------------------------------------------------------------- verbs

  const get = async (ctx: Ctx, r: ResourceRegistry, decl: ResourceDecl) => {
    const e = await r.get(ctx.info.namespace, ctx.info.name, ctx.query.get('resourceVersion') ?? undefined);
    if (ctx.local) return send(ctx, 200, present(r, decl, ctx.info.version, e.obj));
    const choice = choose(ctx, true);
    if (choice.as === 'Table') {
      const obj = present(r, decl, ctx.info.version, e.obj);
      return send(ctx, 200, codecs.table(decl.group, decl.plural, [obj], { includeObject: ctx.query.get('includeObject') ?? 'Metadata', now: reg.now(), resourceVersion: String(e.rev) }), choice);
    }
    if (choice.as === 'PartialObjectMetadata') return send(ctx, 200, partialMeta(e.obj), choice);
    if (choice.type === 'json') return send(ctx, 200, presentEntryJson(r, decl, ctx.info.version, e), choice);
    return send(ctx, 200, present(r, decl, ctx.info.version, e.obj), choice);
  };

  const list = async (ctx: Ctx, r: ResourceRegistry, decl: ResourceDecl) => {
    const choice = choose(ctx, true);
    const page = await r.list(listQuery(ctx, decl));
    const version = ctx.info.version;
    const meta: Record<string, unknown> = { resourceVersion: page.resourceVersion };
    if (page.continue) meta.continue = page.continue;
    if (page.remainingItemCount !== undefined) meta.remainingItemCount = page.remainingItemCount;
    if (choice.as === 'Table') {
      const objs = page.items.map((e) => present(r, decl, version, e.obj));
      return send(ctx, 200, codecs.table(decl.group, decl.plural, objs, { includeObject: ctx.query.get('includeObject') ?? 'Metadata', now: reg.now(), resourceVersion: page.resourceVersion, continue: page.continue, remainingItemCount: page.remainingItemCount }), choice);
    }
    if (choice.as === 'PartialObjectMetadataList' || choice.as === 'PartialObjectMetadata') {
      return send(ctx, 200, { kind: 'PartialObjectMetadataList', apiVersion: 'meta.k8s.io/v1', metadata: meta, items: page.items.map((e) => partialMeta(e.obj)) }, { ...choice, as: 'PartialObjectMetadataList' });
    }
    const listKind = `${decl.kind}List`;
    const apiVersion = groupVersion(decl.group, version);
    if (choice.type === 'json' && !ctx.local) {
      // Assemble the list from each object's cached JSON: no re-encoding of unchanged objects.
      const parts: Buffer[] = [Buffer.from(`{"kind":"${listKind}","apiVersion":"${apiVersion}","metadata":${JSON.stringify(meta)},"items":[`)];
      page.items.forEach((e, i) => {
        if (i) parts.push(COMMA);
        parts.push(presentEntryJson(r, decl, version, e));
      });
      parts.push(CLOSE);
      return writeJsonParts(ctx, 200, parts, choice);
    }
    return send(ctx, 200, { kind: listKind, apiVersion, metadata: meta, items: page.items.map((e) => present(r, decl, version, e.obj)) }, choice);
  };

  const watch = async (ctx: Ctx, r: ResourceRegistry, decl: ResourceDecl) => {
    const choice = choose(ctx, true);
    const q = listQuery(ctx, decl);
    const version = ctx.info.version;
    const bookmarks = ctx.query.get('allowWatchBookmarks') === 'true';
    const sendInitial = ctx.query.get('sendInitialEvents');
    if (sendInitial !== null && q.resourceVersionMatch !== 'NotOlderThan') {
      throw invalid({ group: 'meta.k8s.io', kind: 'ListOptions' }, '', [
        field.forbidden('resourceVersionMatch', 'sendInitialEvents requires setting resourceVersionMatch to NotOlderThan'),
      ]);
    }
    const timeoutS = Number(ctx.query.get('timeoutSeconds') ?? '0');
    const timeoutMs = timeoutS > 0 ? timeoutS * 1000 : d.minRequestTimeoutSeconds * 1000 * (1 + Math.random());
    let fieldName: string | undefined;
    if (ctx.info.name) fieldName = ctx.info.name;
    if (q.resourceVersion && q.resourceVersion !== '0') {
      // Wait for the cache to reach the requested revision (it may be ahead of us briefly).
      const rv = Number(q.resourceVersion);
      if (Number.isFinite(rv) && rv > reg.watchCache.revision) await reg.watchCache.waitFor(rv, 3000);
    } else if (!q.resourceVersion && sendInitial !== 'false') {
      await reg.watchCache.sync();
    }

    if (ctx.local) return localWatch(ctx, r, decl, q, { bookmarks, sendInitial, timeoutMs, name: fieldName });
    const res = ctx.res;
    const protobuf = choice.type === 'protobuf';
    const ct = protobuf
      ? 'application/vnd.kubernetes.protobuf;stream=watch'
      : choice.as === 'Table'
        ? 'application/json;as=Table;g=meta.k8s.io;v=v1'
        : 'application/json';
    let started = false;
    let closed = false;
    let sentTableHeader = false;
    const pending: (string | Uint8Array)[] = [];
    const encodeEvent = (type: string, e: Entry): string | Uint8Array => {
      if (protobuf) return watchEventProtobuf(r, decl, version, type, e);
      if (choice.as === 'Table') {
        const t = codecs.table(decl.group, decl.plural, [present(r, decl, version, e.obj)], { includeObject: ctx.query.get('includeObject') ?? 'Metadata', now: reg.now() }) as Record<string, unknown>;
        if (sentTableHeader) t.columnDefinitions = [];
        sentTableHeader = true;
        return `{"type":"${type}","object":${JSON.stringify(t)}}\n`;
      }
      return watchEventJson(r, decl, version, type, e);
    };
    // The events of one dispatch (a group commit's writes reach every watcher in one synchronous
    // step) leave in one write of the shared buffers, not one each: a write's cost hardly depends
    // on its size, and a busy server commits more writes at a time, so then each event costs less.
    const sink = res.stream ?? res;
    let corked = false;
    let behindLimit = WATCH_BEHIND_LIMIT_BYTES;
    let behindSince: number | undefined;
    let behindCheck: NodeJS.Timeout | undefined;
    let cutOff: (() => void) | undefined;
    const checkBehind = () => {
      const behind = sink.writableLength ?? 0;
      if (closed || behind <= behindLimit) {
        behindSince = undefined;
        return;
      }
      const now = Date.now();
      behindSince ??= now;
      if (now - behindSince >= WATCH_BEHIND_GRACE_MS) {
        d.log?.(`closing a watch of ${decl.plural} that has been more than ${behindLimit} bytes behind for ${now - behindSince} ms (${behind} now): its client does not keep up`);
        cutOff?.();
      } else if (!behindCheck) {
        // Looked at again even if no event comes: a client that stopped reading gets no more.
        behindCheck = setTimeout(() => {
          behindCheck = undefined;
          checkBehind();
        }, WATCH_BEHIND_GRACE_MS - (now - behindSince) + 10);
        behindCheck.unref();
      }
    };
    const uncork = () => {
      corked = false;
      sink.uncork?.();
      checkBehind();
    };
    const write = (chunk: string | Uint8Array) => {
      if (closed) return;
      if (!started) {
        pending.push(chunk);
        return;
      }
      if (!corked) {
        corked = true;
        sink.cork?.();
        queueMicrotask(uncork);
      }
      res.write(chunk);
    };
    const bookmark = (rev: number, initialEnd = false) => {
      const obj: Record<string, unknown> = {
        kind: decl.kind,
        apiVersion: groupVersion(decl.group, version),
        metadata: initialEnd
          ? { resourceVersion: String(rev), creationTimestamp: null, annotations: { 'k8s.io/initial-events-end': 'true' } }
          : { resourceVersion: String(rev), creationTimestamp: null },
      };
      if (protobuf) write(codecs.encodeProtobufWatchEvent('BOOKMARK', obj));
      else if (choice.as === 'Table') return;
      else write(`{"type":"BOOKMARK","object":${JSON.stringify(obj)}}\n`);
    };
    let lastRev = 0;
    let handle: { stop(): void; startRevision: number };
    try {
      handle = r.watch(
        { namespace: q.namespace, filter: q.filter, resourceVersion: q.resourceVersion, sendInitialEvents: sendInitial === 'true', name: fieldName },
        (type, e) => {
          lastRev = e.rev;
          write(encodeEvent(type, e));
        },
        (rev) => {
          lastRev = rev;
        },
      );
    } catch (e) {
      if (e instanceof StatusError && e.code === 410) {
        // upstream answers a too-old watch with 200 and one ERROR event
        setWarnings(ctx);
        res.writeHead(200, { 'content-type': ct, 'cache-control': 'no-cache, private' });
        res.end(protobuf ? codecs.encodeProtobufWatchEvent('ERROR', e.status) : `{"type":"ERROR","object":${JSON.stringify(e.status)}}\n`);
        return;
      }
      throw e;
    }
    lastRev = Math.max(lastRev, handle.startRevision);
    if (sendInitial === 'true' && bookmarks) bookmark(reg.watchCache.revision, true);
    setWarnings(ctx);
    res.writeHead(200, { 'content-type': ct, 'cache-control': 'no-cache, private' });
    // HTTP/1 holds a head back until the first body bytes: a watch with nothing to send yet must
    // still be answered (clients wait for the head before they count the watch as started).
    res.flushHeaders?.();
    started = true;
    let first = 0;
    for (const p of pending) {
      first += p.length;
      res.write(p);
    }
    pending.length = 0;
    behindLimit = Math.max(behindLimit, 2 * first);
    await new Promise<void>((resolve) => {
      const finish = () => {
        if (closed) return;
        closed = true;
        handle.stop();
        clearTimeout(timer);
        clearTimeout(behindCheck);
        clearInterval(bm);
        d.closing?.removeEventListener('abort', finish);
        if (!res.writableEnded) res.end();
        resolve();
      };
      // Ending the response would keep what the client has not read; the stream (HTTP/2) or the
      // connection (HTTP/1) is dropped instead, and the client watches again from its last event.
      cutOff = () => {
        finish();
        if (res.stream) res.stream.close?.(NGHTTP2_CANCEL);
        else res.destroy?.();
      };
      const timer = setTimeout(finish, timeoutMs);
      const bm = setInterval(() => {
        if (bookmarks) bookmark(Math.max(lastRev, reg.watchCache.revision));
      }, 60_000);
      res.on('close', finish);
      d.closing?.addEventListener('abort', finish);
    });
  };

  /** A watch for an in-process client: events carry the shared frozen objects, nothing is encoded. */
  const localWatch = async (
    ctx: Ctx,
    r: ResourceRegistry,
    decl: ResourceDecl,
    q: ListQuery,
    o: { bookmarks: boolean; sendInitial: string | null; timeoutMs: number; name?: string },
  ) => {
    const local = ctx.local!;
    const version = ctx.info.version;
    const bookmarkObj = (rev: number, initialEnd = false) => ({
      kind: decl.kind,
      apiVersion: groupVersion(decl.group, version),
      metadata: initialEnd
        ? { resourceVersion: String(rev), creationTimestamp: null, annotations: { 'k8s.io/initial-events-end': 'true' } }
        : { resourceVersion: String(rev), creationTimestamp: null },
    });
    let handle: { stop(): void; startRevision: number };
    let lastRev = 0;
    const pending: [string, unknown][] = [];
    let started = false;
    const emit = (type: string, obj: unknown) => (started ? local.event!(type, obj) : pending.push([type, obj]));
    try {
      handle = r.watch(
        { namespace: q.namespace, filter: q.filter, resourceVersion: q.resourceVersion, sendInitialEvents: o.sendInitial === 'true', name: o.name },
        (type, e) => {
          lastRev = e.rev;
          emit(type, present(r, decl, version, e.obj));
        },
        (rev) => {
          lastRev = rev;
        },
      );
    } catch (e) {
      if (e instanceof StatusError && e.code === 410) {
        local.reply(200, undefined);
        local.event!('ERROR', e.status);
        return;
      }
      throw e;
    }
    lastRev = Math.max(lastRev, handle.startRevision);
    if (o.sendInitial === 'true' && o.bookmarks) emit('BOOKMARK', bookmarkObj(reg.watchCache.revision, true));
    local.reply(200, undefined);
    started = true;
    for (const [t, ob] of pending) local.event!(t, ob);
    await new Promise<void>((resolve) => {
      let closed = false;
      const onServerClose = () => finish(true);
      const finish = (byServer: boolean) => {
        if (closed) return;
        closed = true;
        handle.stop();
        clearTimeout(timer);
        clearInterval(bm);
        d.closing?.removeEventListener('abort', onServerClose);
        if (byServer) local.end?.();
        resolve();
      };
      const timer = setTimeout(() => finish(true), o.timeoutMs);
      d.closing?.addEventListener('abort', onServerClose);
      const bm = setInterval(() => {
        if (o.bookmarks) local.event!('BOOKMARK', bookmarkObj(Math.max(lastRev, reg.watchCache.revision)));
      }, 60_000);
      local.onClose!(() => finish(false));
    });
  };

  const create = async (ctx: Ctx, r: ResourceRegistry, decl: ResourceDecl) => {
    const obj = await decodeObject(ctx, decl, r);
    // An in-process caller gets the object itself, never bytes.
    const out = await r.create(ctx.info.namespace, obj, { ...writeOptions(ctx), keepJson: !ctx.local });
    // A JSON answer of the object as stored reuses the stored JSON instead of encoding it again;
    // a converted object, YAML or protobuf is encoded from the object. (Taken first: it must not
    // outlive this request.)
    const stored = r.takeCreatedJson(out);
    const shown = present(r, decl, ctx.info.version, out);
    const choice = choose(ctx, false);
    if (stored && shown === out && choice.type === 'json' && !choice.as) return writeJsonParts(ctx, 201, stored, choice);
    send(ctx, 201, shown, choice);
  };

  const update = async (ctx: Ctx, r: ResourceRegistry, decl: ResourceDecl, sub = '') => {
    const obj = await decodeObject(ctx, decl, r);
    const { obj: out, created } = await r.update(ctx.info.namespace, ctx.info.name, obj, writeOptions(ctx, sub));
    send(ctx, created ? 201 : 200, present(r, decl, ctx.info.version, out));
  };

  const patch = async (ctx: Ctx, r: ResourceRegistry, decl: ResourceDecl, sub = '') => {
    const type = mediaType(ctx.req.headers['content-type']);
    const pt = PATCH_TYPES[type];
    if (!pt) throw unsupportedMediaType(type);
    const pb = await bodyValue(ctx, pt === 'apply' ? 'application/apply-patch+yaml' : JSON_TYPE);
    const patchObj = pb.value;
    const body = pb.raw ?? Buffer.from(JSON.stringify(patchObj ?? null));
    const version = ctx.info.version;
    const gvk = { group: decl.group, version, kind: decl.kind };
    const opts = writeOptions(ctx, sub);
    if (pt === 'apply') {
      const manager = ctx.query.get('fieldManager');
      if (!manager) {
        throw badRequest('PatchOptions.meta.k8s.io "" is invalid: fieldManager: Required value: is required for apply patch');
      }
      const force = ctx.query.get('force') === 'true';
      if (!patchObj || typeof patchObj !== 'object' || Array.isArray(patchObj)) throw badRequest('apply patch must be an object');
      const applied = patchObj as KObject;
      fieldValidation(ctx, decl.group, version, decl.kind, applied as Record<string, unknown>, { text: body.toString('utf8'), mediaType: 'application/yaml' });
      const cur = await r.current(ctx.info.namespace, ctx.info.name);
      if (!cur) {
        if (sub) throw notFound(r.gr, ctx.info.name);
        const obj = codecs.apply({ live: undefined, applied: clone(applied), manager, force, gvk, now: reg.now(), resetFields: resetFieldsFor(decl, '') });
        const stored = obj.apiVersion !== r.storageApiVersion ? codecs.convert(obj, r.storageApiVersion) : obj;
        stored.metadata.name ??= ctx.info.name;
        const out = await r.create(ctx.info.namespace, stored, { ...opts, fieldManager: manager, applied: true });
        return send(ctx, 201, present(r, decl, version, out));
      }
      const out = await r.guaranteedUpdate(
        ctx.info.namespace,
        ctx.info.name,
        (current) => {
          const live = present(r, decl, version, current);
          const next = codecs.apply({ live, applied: clone(applied), manager, force, gvk, now: reg.now(), subresource: sub || undefined, resetFields: resetFieldsFor(decl, sub) });
          return next.apiVersion !== r.storageApiVersion ? codecs.convert(next, r.storageApiVersion) : next;
        },
        { ...opts, fieldManager: manager, applied: true },
      );
      return send(ctx, 200, present(r, decl, version, out));
    }
    const out = await r.guaranteedUpdate(
      ctx.info.namespace,
      ctx.info.name,
      (current) => {
        const live = present(r, decl, version, current);
        const next = codecs.patch(pt, gvk, live, patchObj);
        if (!next || typeof next !== 'object' || Array.isArray(next)) throw badRequest('the patch produced a non-object');
        next.apiVersion ??= live.apiVersion;
        next.kind ??= live.kind;
        fieldValidation(ctx, decl.group, version, decl.kind, next as Record<string, unknown>, undefined, true);
        return next.apiVersion !== r.storageApiVersion ? codecs.convert(next, r.storageApiVersion) : next;
      },
      opts,
    );
    send(ctx, 200, present(r, decl, version, out));
  };

  const deleteOptions = async (ctx: Ctx): Promise<DeleteOptions> => {
    const o: DeleteOptions = writeOptions(ctx);
    let b: Record<string, unknown> = {};
    if (ctx.method === 'DELETE') {
      const v = (await bodyValue(ctx)).value;
      if (v !== undefined) {
        if (!v || typeof v !== 'object' || Array.isArray(v)) throw badRequest('invalid DeleteOptions body');
        b = v as Record<string, unknown>;
      }
    }
    const q = ctx.query;
    const grace = q.get('gracePeriodSeconds') ?? (b.gracePeriodSeconds !== undefined ? String(b.gracePeriodSeconds) : null);
    if (grace !== null) {
      if (!/^-?\d+$/.test(grace)) throw badRequest(`gracePeriodSeconds: Invalid value: "${grace}"`);
      o.gracePeriodSeconds = Number(grace);
    }
    const pp = q.get('propagationPolicy') ?? (b.propagationPolicy as string | undefined);
    if (pp !== undefined && pp !== null) {
      if (pp !== 'Orphan' && pp !== 'Background' && pp !== 'Foreground') {
        throw invalid({ group: 'meta.k8s.io', kind: 'DeleteOptions' }, '', [field.notSupported('propagationPolicy', pp, ['Foreground', 'Background', 'Orphan'])]);
      }
      o.propagationPolicy = pp;
    }
    const orphan = q.get('orphanDependents') ?? (b.orphanDependents !== undefined ? String(b.orphanDependents) : null);
    if (orphan !== null) {
      if (o.propagationPolicy) {
        throw invalid({ group: 'meta.k8s.io', kind: 'DeleteOptions' }, '', [field.invalid('propagationPolicy', o.propagationPolicy, 'orphanDependents and deletionPropagation cannot be both set')]);
      }
      o.propagationPolicy = orphan === 'true' ? 'Orphan' : 'Background';
      o.orphanDependents = orphan === 'true';
    }
    if (b.dryRun && Array.isArray(b.dryRun) && b.dryRun.length) o.dryRun = true;
    if (b.preconditions && typeof b.preconditions === 'object') o.preconditions = b.preconditions as DeleteOptions['preconditions'];
    return o;
  };

  const del = async (ctx: Ctx, r: ResourceRegistry, decl: ResourceDecl) => {
    const opts = await deleteOptions(ctx);
    const { obj, deleted } = await r.delete(ctx.info.namespace, ctx.info.name, opts);
    // upstream answers 202 only for a deferred delete that asked orphanDependents=false.
    const code = !deleted && opts.orphanDependents === false ? 202 : 200;
    if (!deleted || r.strategy.returnDeletedObject) {
      return send(ctx, code, present(r, decl, ctx.info.version, obj));
    }
    send(ctx, code, {
      kind: 'Status',
      apiVersion: 'v1',
      metadata: {},
      status: 'Success',
      details: { name: ctx.info.name, group: decl.group || undefined, kind: decl.plural, uid: obj.metadata.uid },
    });
  };

  const deleteCollection = async (ctx: Ctx, r: ResourceRegistry, decl: ResourceDecl) => {
    const opts = await deleteOptions(ctx);
    const q = listQuery(ctx, decl);
    q.limit = 0;
    q.continueToken = undefined;
    const page = await r.list(q);
    const out: KObject[] = [];
    for (const e of page.items) {
      try {
        const { obj } = await r.delete(e.namespace, e.name, opts);
        out.push(present(r, decl, ctx.info.version, obj));
      } catch (err) {
        if (err instanceof StatusError && err.code === 404) continue;
        throw err;
      }
    }
    send(ctx, 200, { kind: `${decl.kind}List`, apiVersion: groupVersion(decl.group, ctx.info.version), metadata: { resourceVersion: String(reg.watchCache.revision) }, items: out });
  };

  // ------------------------------------------------------------------------------ scale

  const scaleOf = (decl: ResourceDecl, o: KObject) => {
    const sc = decl.scale!;
    const status: Record<string, unknown> = { replicas: getPath(o, sc.statusReplicasPath) ?? 0 };
    const sel = sc.labelSelectorPath ? getPath(o, sc.labelSelectorPath) : undefined;
    if (sel) status.selector = sel;
    return {
      kind: 'Scale',
      apiVersion: 'autoscaling/v1',
      metadata: {
        name: o.metadata.name,
        namespace: o.metadata.namespace,
        uid: o.metadata.uid,
        resourceVersion: o.metadata.resourceVersion,
        creationTimestamp: o.metadata.creationTimestamp,
      },
      spec: { replicas: getPath(o, sc.specReplicasPath) ?? 0 },
      status,
    };
  };

  const scale = async (ctx: Ctx, r: ResourceRegistry, decl: ResourceDecl) => {
    const verb = ctx.info.verb;
    if (verb === 'get') {
      const e = await r.get(ctx.info.namespace, ctx.info.name);
      return send(ctx, 200, scaleOf(decl, e.obj));
    }
    if (verb !== 'update' && verb !== 'patch') throw methodNotSupported(r.gr, verb);
    let scaleBody: Record<string, unknown> | undefined;
    let patchBody: unknown;
    let pt: 'json' | 'merge' | 'strategic' | 'apply' | undefined;
    if (verb === 'update') {
      scaleBody = (await bodyValue(ctx)).value as Record<string, unknown>;
      if (!scaleBody || typeof scaleBody !== 'object') throw badRequest('the body of a Scale update must be a Scale object');
    } else {
      const type = mediaType(ctx.req.headers['content-type']);
      pt = PATCH_TYPES[type];
      if (!pt) throw unsupportedMediaType(type);
      patchBody = (await bodyValue(ctx, pt === 'apply' ? 'application/apply-patch+yaml' : JSON_TYPE)).value;
    }
    const opts = writeOptions(ctx, 'scale');
    const rvPre = (scaleBody?.metadata as Record<string, unknown> | undefined)?.resourceVersion as string | undefined;
    const out = await r.guaranteedUpdate(
      ctx.info.namespace,
      ctx.info.name,
      (cur) => {
        let sc: Record<string, unknown> = scaleOf(decl, cur) as unknown as Record<string, unknown>;
        if (scaleBody) sc = scaleBody;
        else if (pt === 'apply') sc = { ...sc, ...(patchBody as Record<string, unknown>) };
        else sc = codecs.patch(pt as 'json' | 'merge' | 'strategic', { group: 'autoscaling', version: 'v1', kind: 'Scale' }, sc as unknown as KObject, patchBody) as unknown as Record<string, unknown>;
        const replicas = (sc.spec as Record<string, unknown> | undefined)?.replicas;
        if (replicas !== undefined && (typeof replicas !== 'number' || !Number.isInteger(replicas))) {
          throw badRequest(`spec.replicas: Invalid value: ${JSON.stringify(replicas)}: must be an integer`);
        }
        if (typeof replicas === 'number' && replicas < 0) {
          throw invalid({ group: 'autoscaling', kind: 'Scale' }, ctx.info.name, [field.invalid('spec.replicas', replicas, 'must be greater than or equal to 0')]);
        }
        setPath(cur, decl.scale!.specReplicasPath, replicas ?? 0);
        return cur;
      },
      { ...opts, subresource: '', preconditionRV: rvPre },
    );
    send(ctx, 200, scaleOf(decl, out));
  };

  // ------------------------------------------------------------------------------ dispatch

  return async (ctx: Ctx) => {
    const info = ctx.info;
    const decl = resourceByPlural(info.group, info.resource);
    if (!decl || !servedVersion(decl, info.version)) throw notFoundPath();
    const allNamespaces = decl.namespaced && !info.namespace && (info.verb === 'list' || info.verb === 'watch');
    if (decl.namespaced !== !!info.namespace && !allNamespaces) throw notFoundPath();
    const review = d.reviews.get(`${decl.group}/${decl.plural}`);
    if (review) {
      if (info.verb !== 'create') throw methodNotSupported({ group: decl.group, resource: decl.plural }, info.verb);
      const obj = await decodeObject(ctx, decl, undefined);
      const out = await review(ctx, obj);
      return send(ctx, 201, out);
    }
    const r = reg.get(decl.storedAs?.group ?? decl.group, decl.storedAs?.plural ?? decl.plural);
    if (!r) throw notFoundPath();
    const verbs = decl.verbs ?? ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
    const sub = info.subresource;
    if (sub) {
      if (sub === 'status' && decl.status) {
        if (info.verb === 'get') return get(ctx, r, decl);
        if (info.verb === 'update') return update(ctx, r, decl, 'status');
        if (info.verb === 'patch') return patch(ctx, r, decl, 'status');
        throw methodNotSupported(r.gr, info.verb);
      }
      if (sub === 'scale' && decl.scale) return scale(ctx, r, decl);
      const c = d.connect.get(`${decl.group}/${decl.plural}/${sub}`);
      if (c && (decl.extraSubresources ?? []).includes(sub)) return c(ctx, r);
      throw notFoundPath();
    }
    const verb = info.verb;
    if (!verbs.includes(verb)) throw methodNotSupported(r.gr, verb);
    switch (verb) {
      case 'get':
        return get(ctx, r, decl);
      case 'list':
        return list(ctx, r, decl);
      case 'watch':
        return watch(ctx, r, decl);
      case 'create':
        if (info.name) throw methodNotSupported(r.gr, 'create');
        return create(ctx, r, decl);
      case 'update':
        return update(ctx, r, decl);
      case 'patch':
        return patch(ctx, r, decl);
      case 'delete':
        return del(ctx, r, decl);
      case 'deletecollection':
        return deleteCollection(ctx, r, decl);
      default:
        throw methodNotSupported(r.gr, verb);
    }
  };
}

/** The paths a write's strategy resets, which no manager of that write can own (upstream's ResetFieldsStrategy). */
export function resetFieldsFor(decl: ResourceDecl, sub: string): string[][] {
  if (sub === 'status') return [['spec'], ['metadata']];
  if (decl.status) return [['status']];
  return [];
}

const COMMA = Buffer.from(',');
const CLOSE = Buffer.from(']}');
const NL_CLOSE = Buffer.from('}\n');

const toBuffer = (u: Uint8Array): Buffer => (Buffer.isBuffer(u) ? u : Buffer.from(u.buffer, u.byteOffset, u.byteLength));

export function getPath(o: unknown, path: string): unknown {
  let cur: unknown = o;
  for (const p of path.split('.')) {
    if (!cur || typeof cur !== 'object') return undefined;
    cur = (cur as Record<string, unknown>)[p];
  }
  return cur;
}

export function setPath(o: Record<string, unknown>, path: string, v: unknown): void {
  const ps = path.split('.');
  let cur = o;
  for (const p of ps.slice(0, -1)) {
    if (!cur[p] || typeof cur[p] !== 'object') cur[p] = {};
    cur = cur[p] as Record<string, unknown>;
  }
  cur[ps[ps.length - 1]!] = v;
}

export { rfc3339 };
