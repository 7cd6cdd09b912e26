// The HTTP edge: request context, body reading with limits, content negotiation, and writing
// objects and errors. Everything past this file works with objects and StatusErrors only.
import type { IncomingHttpHeaders } from 'node:http';
import { parse as parseYaml, stringify as stringifyYaml } from 'yaml';
import {
  StatusError,
  badRequest,
  internalError,
  isStatusError,
  notAcceptable,
  requestEntityTooLarge,
  unsupportedMediaType,
} from '../api/errors.ts';
import type { UserInfo } from './registry.ts';
import type { RequestInfo } from './requestinfo.ts';

/** The minimal response surface shared by node's http1 and http2-compat responses. */
export interface Res {
  statusCode: number;
  headersSent: boolean;
  writableEnded: boolean;
  setHeader(name: string, value: string | number | string[]): unknown;
  writeHead(status: number, headers?: Record<string, string | number | string[]>): unknown;
  write(chunk: string | Uint8Array, cb?: (err?: Error | null) => void): boolean;
  end(chunk?: string | Uint8Array): unknown;
  on(ev: 'close' | 'drain', fn: () => void): unknown;
  once(ev: 'close' | 'drain', fn: () => void): unknown;
  /** Sends the head now (HTTP/1 otherwise waits for the first body bytes). */
  flushHeaders?(): void;
  /** HTTP/1: holds writes back until uncork() and then sends them together. */
  cork?(): void;
  uncork?(): void;
  /** HTTP/2 (compat): the stream, which corks as above; close() resets it. */
  stream?: { cork(): void; uncork(): void; close?(code?: number): void; writableLength?: number };
  /** Bytes written and not yet handed to the connection. */
  writableLength?: number;
  /** HTTP/1: drops the connection. */
  destroy?(): void;
}

export interface Req {
  method?: string;
  url?: string;
  headers: IncomingHttpHeaders;
  on(ev: 'data', fn: (c: Buffer) => void): unknown;
  on(ev: 'end' | 'close', fn: () => void): unknown;
  on(ev: 'error', fn: (e: Error) => void): unknown;
  resume(): unknown;
  destroy?(err?: Error): unknown;
}

/**
 * An in-process request: the body arrives as a value and the answer leaves as a value, with no
 * encoding on either side (see local-transport.ts). Objects in answers are shared and read-only.
 */
export interface LocalIO {
  /** The request body as a JSON value (never mutated here; cloned before use), or raw bytes. */
  body?: unknown;
  reply(status: number, body: unknown, headers?: Record<string, string | string[]>): void;
  /** For watches: each event as it happens; ends with end(). */
  event?(type: string, object: unknown): void;
  /** Registers the caller's close of a watch. */
  onClose?(fn: () => void): void;
  /** The server ended the watch (its timeout). */
  end?(): void;
}

export interface Ctx {
  req: Req;
  res: Res;
  /** Set for in-process requests: bodies and answers are values, not bytes. */
  local?: LocalIO;
  method: string;
  path: string;
  query: URLSearchParams;
  info: RequestInfo;
  user?: UserInfo;
  /** Warnings to return as `Warning: 299 - "…"` headers. */
  warnings: string[];
  /** The request's audit record, when the audit policy logs it. */
  audit?: import('./audit.ts').AuditContext;
  started: number;
}

export const MAX_BODY = 3 * 1024 * 1024;

export const JSON_TYPE = 'application/json';
export const YAML_TYPE = 'application/yaml';
export const PROTOBUF_TYPE = 'application/vnd.kubernetes.protobuf';

/** Reads the request body, refusing bodies over 3 MiB with 413 as upstream. */
export function readBody(req: Req, limit = MAX_BODY): Promise<Buffer> {
  const len = Number(req.headers['content-length'] ?? -1);
  if (len > limit) {
    req.resume();
    return Promise.reject(requestEntityTooLarge(`Request entity too large: limit is ${limit}`));
  }
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    let failed = false;
    req.on('data', (c: Buffer) => {
      if (failed) return;
      size += c.length;
      if (size > limit) {
        failed = true;
        reject(requestEntityTooLarge(`Request entity too large: limit is ${limit}`));
        return;
      }
      chunks.push(c);
    });
    req.on('end', () => {
      if (!failed) resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks));
    });
    req.on('error', (e: Error) => {
      if (!failed) reject(badRequest(`error reading request body: ${e.message}`));
    });
  });
}

/** The media type (without parameters), lowercased; a missing Content-Type is JSON, as upstream. */
export function mediaType(h: string | undefined): string {
  if (!h) return JSON_TYPE;
  return h.split(';')[0]!.trim().toLowerCase();
}

/**
 * Decodes a JSON or YAML body into a JSON value. YAML aliases are capped (an alias bomb is a
 * 400, not an outage). Protobuf is decoded by the caller (it needs the kind registry).
 */
export function decodeText(body: Buffer, type: string): unknown {
  const text = body.toString('utf8');
  if (type === JSON_TYPE || type.endsWith('+json')) {
    try {
      return JSON.parse(text);
    } catch (e) {
      throw badRequest(`error decoding JSON: ${(e as Error).message}`);
    }
  }
  if (type === YAML_TYPE || type === 'application/apply-patch+yaml' || type === 'text/yaml' || type === 'application/x-yaml') {
    return decodeYaml(text);
  }
  throw unsupportedMediaType(type);
}

export function decodeYaml(text: string): unknown {
  // JSON is valid YAML; take the fast path when it is JSON.
  const t = text.trimStart();
  if (t.startsWith('{')) {
    try {
      return JSON.parse(text);
    } catch {
      /* fall through to YAML */
    }
  }
  try {
    return parseYaml(text, { maxAliasCount: 100, merge: false, uniqueKeys: false, strict: true, prettyErrors: false, intAsBigInt: false });
  } catch (e) {
    throw badRequest(`error converting YAML to JSON: ${firstLine((e as Error).message)}`);
  }
}

function firstLine(s: string): string {
  return s.split('\n')[0]!;
}

// ---------------------------------------------------------------------------------- Accept

export interface AcceptChoice {
  type: 'json' | 'yaml' | 'protobuf';
  /** meta.k8s.io transformations: as=Table, as=PartialObjectMetadata(List). */
  as?: 'Table' | 'PartialObjectMetadata' | 'PartialObjectMetadataList';
}

interface MediaRange {
  type: string;
  params: Record<string, string>;
}

function parseAccept(h: string | undefined): MediaRange[] {
  if (!h) return [];
  return h.split(',').map((part) => {
    const [t, ...ps] = part.split(';');
    const params: Record<string, string> = {};
    for (const p of ps) {
      const i = p.indexOf('=');
      if (i > 0) params[p.slice(0, i).trim()] = p.slice(i + 1).trim();
    }
    return { type: t!.trim().toLowerCase(), params };
  });
}

/**
 * Picks the response encoding. Table and PartialObjectMetadata are honoured for reads; an Accept
 * we cannot satisfy at all is 406 with upstream's message.
 */
export function negotiate(accept: string | undefined, allowAs: boolean): AcceptChoice {
  const ranges = parseAccept(accept);
  if (ranges.length === 0) return { type: 'json' };
  for (const r of ranges) {
    const as = r.params['as'];
    if (as) {
      if (!allowAs) continue;
      if (r.params['g'] !== 'meta.k8s.io' || (r.params['v'] !== 'v1' && r.params['v'] !== 'v1beta1')) continue;
      if (as !== 'Table' && as !== 'PartialObjectMetadata' && as !== 'PartialObjectMetadataList') continue;
      const t = r.type === PROTOBUF_TYPE ? 'protobuf' : r.type === JSON_TYPE ? 'json' : r.type === YAML_TYPE ? 'yaml' : undefined;
      if (!t) continue;
      return { type: t === 'protobuf' ? 'json' : t, as };
    }
    if (r.type === JSON_TYPE || r.type === 'application/*' || r.type === '*/*' || r.type === 'application/json-seq') return { type: 'json' };
    if (r.type === YAML_TYPE) return { type: 'yaml' };
    if (r.type === PROTOBUF_TYPE) return { type: 'protobuf' };
  }
  throw notAcceptable(
    'only the following media types are accepted: application/json, application/yaml, application/vnd.kubernetes.protobuf',
  );
}

// ---------------------------------------------------------------------------------- writing

export function setWarnings(ctx: Ctx): void {
  if (ctx.warnings.length && !ctx.res.headersSent) {
    ctx.res.setHeader(
      'warning',
      ctx.warnings.map((w) => `299 - ${JSON.stringify(w)}`),
    );
  }
}

/** Writes a JSON value (or pre-encoded bytes) with the negotiated encoding. */
export function writeObject(ctx: Ctx, status: number, body: unknown, choice: AcceptChoice = { type: 'json' }, encodeProtobuf?: (o: unknown) => Uint8Array): void {
  if (ctx.audit?.decision.level === 'RequestResponse') ctx.audit.responseObject = body;
  if (ctx.local) {
    const h: Record<string, string | string[]> = {};
    if (ctx.warnings.length) h['warning'] = ctx.warnings.map((w) => `299 - ${JSON.stringify(w)}`);
    ctx.local.reply(status, Buffer.isBuffer(body) ? JSON.parse(body.toString('utf8')) : body, h);
    return;
  }
  const res = ctx.res;
  setWarnings(ctx);
  let data: string | Uint8Array;
  let ct: string;
  if (choice.type === 'yaml') {
    data = stringifyYaml(Buffer.isBuffer(body) ? JSON.parse(body.toString('utf8')) : body);
    ct = YAML_TYPE;
  } else if (choice.type === 'protobuf' && encodeProtobuf) {
    data = encodeProtobuf(Buffer.isBuffer(body) ? JSON.parse(body.toString('utf8')) : body);
    ct = PROTOBUF_TYPE;
  } else {
    data = Buffer.isBuffer(body) ? body : JSON.stringify(body);
    ct = JSON_TYPE;
    if (choice.as) ct = `application/json;as=${choice.as};g=meta.k8s.io;v=v1`;
  }
  res.writeHead(status, { 'content-type': ct, 'cache-control': 'no-cache, private', 'content-length': Buffer.byteLength(data) });
  res.end(ctx.method === 'HEAD' ? undefined : data);
}

/**
 * Writes a JSON body given as consecutive byte ranges (a list assembled from each object's
 * cached encoding) without joining them: one corked write of the buffers themselves, so a
 * 20 MB list allocates no 20 MB buffer (whose external memory forced full collections of a
 * heap full of cached objects). The parts must not change until the response is sent.
 */
export function writeJsonParts(ctx: Ctx, status: number, parts: Buffer[], choice: AcceptChoice = { type: 'json' }): void {
  if (ctx.local || ctx.audit?.decision.level === 'RequestResponse' || choice.type !== 'json') {
    return writeObject(ctx, status, Buffer.concat(parts), choice);
  }
  const res = ctx.res;
  setWarnings(ctx);
  let length = 0;
  for (const p of parts) length += p.length;
  const ct = choice.as ? `application/json;as=${choice.as};g=meta.k8s.io;v=v1` : JSON_TYPE;
  res.writeHead(status, { 'content-type': ct, 'cache-control': 'no-cache, private', 'content-length': length });
  if (ctx.method === 'HEAD') {
    res.end();
    return;
  }
  // http1 responses cork themselves; an http2 compat response's writes go to its stream. The
  // corked writes leave as one writev of the buffers (end() uncorks).
  type Corkable = { cork?(): void; uncork?(): void };
  const w = ((res as { stream?: Corkable }).stream ?? res) as Corkable;
  w.cork?.();
  for (const p of parts) res.write(p);
  res.end();
}

export function writeError(ctx: Ctx, e: unknown): void {
  const err = isStatusError(e) ? e : internalError(e);
  if (!isStatusError(e)) console.error('rudder apiserver: internal error:', e);
  if (ctx.audit) ctx.audit.status = err.status;
  if (ctx.local) {
    const h: Record<string, string> = {};
    if (err.status.details?.retryAfterSeconds) h['retry-after'] = String(err.status.details.retryAfterSeconds);
    ctx.local.reply(err.code, err.status, h);
    return;
  }
  const res = ctx.res;
  if (res.headersSent) {
    if (!res.writableEnded) res.end();
    return;
  }
  if (err.status.details?.retryAfterSeconds && (err.code === 429 || err.code === 504 || err.code === 503)) {
    res.setHeader('retry-after', String(err.status.details.retryAfterSeconds));
  }
  writeObject(ctx, err.code, err.status);
}

export function writeStatusError(ctx: Ctx, e: StatusError): void {
  writeError(ctx, e);
}
