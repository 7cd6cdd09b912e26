// The OpenAPI endpoints' contract for the HTTP layer: the served bytes of /openapi/v2 (JSON or
// gnostic protobuf), /openapi/v3 (the index of per-group-version documents) and
// /openapi/v3/<key>, each built once on first use and cached with its content hash, plus
// serveOpenAPI(), which applies upstream's (kube-openapi's) content negotiation and caching rules
// so that the server only has to copy status, headers and body to the wire.
import { createHash } from 'node:crypto';
import { buildV2, buildV3, v3Keys, type DocumentOptions } from './documents.ts';
import { encodeOpenAPIV2 } from './protobuf.ts';

export interface Served {
  body: Buffer;
  contentType: string;
  /** Upstream's content hash: uppercase hex SHA-512 of the JSON bytes (also the v3 ?hash=). */
  hash: string;
  /** The ETag header value: the hash in double quotes. */
  etag: string;
  lastModified: Date;
}

export const CONTENT_TYPE_JSON = 'application/json';
/** What upstream answers for either protobuf media type it accepts. */
export const CONTENT_TYPE_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2.v1.0+protobuf';
/** The media type kubectl asks for (the "@" spelling is upstream's deprecated alias). */
export const ACCEPT_V2_PROTOBUF = 'application/com.github.proto-openapi.spec.v2@v1.0+protobuf';

let options: DocumentOptions = {};
let v2json: Served | undefined;
let v2pb: Served | undefined;
const v3docs = new Map<string, Served>();
let v3root: Served | undefined;

/** Sets info.version (the server's gitVersion) and drops cached documents. */
export function configureOpenAPI(opts: DocumentOptions): void {
  options = { ...opts };
  v2json = v2pb = v3root = undefined;
  v3docs.clear();
}

function contentHash(b: Buffer): string {
  return createHash('sha512').update(b).digest('hex').toUpperCase();
}

function served(body: Buffer, contentType: string, hash = contentHash(body)): Served {
  return { body, contentType, hash, etag: `"${hash}"`, lastModified: new Date() };
}

/** /openapi/v2. The protobuf form carries the JSON form's hash, as upstream's does. */
export function openapiV2(format: 'json' | 'protobuf'): Served {
  if (!v2json) {
    const doc = buildV2(options);
    v2json = served(Buffer.from(JSON.stringify(doc)), CONTENT_TYPE_JSON);
    v2pb = served(encodeOpenAPIV2(doc), CONTENT_TYPE_V2_PROTOBUF, v2json.hash);
  }
  return format === 'json' ? v2json : v2pb!;
}

/** /openapi/v3/<key> ("api/v1", "apis/apps/v1", "apis/apps", "api", "apis", "version"), or undefined. */
export function openapiV3Doc(key: string): Served | undefined {
  let s = v3docs.get(key);
  if (!s) {
    const doc = buildV3(key, options);
    if (!doc) return undefined;
    s = served(Buffer.from(JSON.stringify(doc)), CONTENT_TYPE_JSON);
    v3docs.set(key, s);
  }
  return s;
}

/** The URL of a v3 document with its current hash, as the index lists it. */
export function openapiV3URL(key: string): string | undefined {
  const s = openapiV3Doc(key);
  return s && `/openapi/v3/${key}?hash=${s.hash}`;
}

/** /openapi/v3: {paths: {<key>: {serverRelativeURL}}}, keys sorted. */
export function openapiV3Root(): Served {
  if (!v3root) {
    const paths: Record<string, { serverRelativeURL: string }> = {};
    for (const k of v3Keys().sort()) paths[k] = { serverRelativeURL: openapiV3URL(k)! };
    v3root = served(Buffer.from(JSON.stringify({ paths })), CONTENT_TYPE_JSON);
  }
  return v3root;
}

// ---------------------------------------------------------------------------------------------
// HTTP semantics, after kube-openapi's handlers

interface Clause {
  type: string;
  subtype: string;
  q: number;
}

/** goautoneg's ParseAccept: clauses by q (descending), then specific before wildcard; stable. */
export function parseAccept(header: string | undefined): Clause[] {
  const out: Clause[] = [];
  for (const part of (header || '*/*').split(',')) {
    const [mt, ...params] = part.split(';').map((x) => x.trim());
    if (!mt) continue;
    const slash = mt.indexOf('/');
    const type = slash < 0 ? mt : mt.slice(0, slash);
    const subtype = slash < 0 ? '*' : mt.slice(slash + 1);
    let q = 1;
    for (const p of params) {
      const [k, v] = p.split('=').map((x) => x.trim());
      if (k === 'q' && v !== undefined && !Number.isNaN(Number(v))) q = Number(v);
    }
    out.push({ type, subtype, q });
  }
  const rank = (c: Clause) => (c.type === '*' ? 2 : c.subtype === '*' ? 1 : 0);
  return out
    .map((c, i) => ({ c, i }))
    .sort((a, b) => b.c.q - a.c.q || rank(a.c) - rank(b.c) || a.i - b.i)
    .map((x) => x.c);
}

function negotiate<T extends string>(accept: string | undefined, offers: [string, T][]): T | undefined {
  for (const c of parseAccept(accept)) {
    if (c.q <= 0) continue;
    for (const [mt, v] of offers) {
      const [type, subtype] = mt.split('/');
      if ((c.type === type || c.type === '*') && (c.subtype === subtype || c.subtype === '*')) return v;
    }
  }
  return undefined;
}

/** The /openapi/v2 form for an Accept header, or undefined (406). */
export function negotiateV2(accept: string | undefined): 'json' | 'protobuf' | undefined {
  return negotiate(accept, [
    ['application/json', 'json'],
    [ACCEPT_V2_PROTOBUF, 'protobuf'],
    [CONTENT_TYPE_V2_PROTOBUF, 'protobuf'],
  ]);
}

/** The /openapi/v3/<key> form for an Accept header: JSON only (protobuf v3 is not served). */
export function negotiateV3(accept: string | undefined): 'json' | undefined {
  return negotiate(accept, [['application/json', 'json']]);
}

export interface OpenAPIRequest {
  /** URL path without query, e.g. "/openapi/v3/apis/apps/v1". */
  path: string;
  /** The query string (with or without "?") or its parsed form. */
  query?: string | URLSearchParams;
  accept?: string;
  ifNoneMatch?: string;
  /** For the Expires header of hash-addressed documents; defaults to now. */
  now?: Date;
}

export interface OpenAPIResponse {
  status: number;
  headers: Record<string, string>;
  /** Absent for 304, 301 and 406. */
  body?: Buffer;
}

function notModified(ifNoneMatch: string | undefined, etag: string): boolean {
  if (!ifNoneMatch) return false;
  return ifNoneMatch.split(',').some((t) => {
    const x = t.trim();
    return x === '*' || x === etag || x === `W/${etag}`;
  });
}

function answer(s: Served, req: OpenAPIRequest, extra: Record<string, string>): OpenAPIResponse {
  const headers: Record<string, string> = {
    ...extra,
    'Content-Type': s.contentType,
    ETag: s.etag,
    'Last-Modified': s.lastModified.toUTCString(),
  };
  if (notModified(req.ifNoneMatch, s.etag)) return { status: 304, headers };
  return { status: 200, headers, body: s.body };
}

/**
 * Answers GET /openapi/v2, /openapi/v3 and /openapi/v3/<key> as upstream does; undefined for any
 * other path (including unknown v3 keys, which are upstream's 404).
 * - v2: JSON or protobuf by Accept, else 406; `Vary: Accept`.
 * - v3 index: always JSON.
 * - v3 documents: JSON by Accept, else 406; with ?hash= equal to the current hash the answer is
 *   immutable (Cache-Control, Expires a year ahead); with a stale hash, 301 to the current URL.
 * - An If-None-Match matching the ETag gives 304 without body.
 */
export function serveOpenAPI(req: OpenAPIRequest): OpenAPIResponse | undefined {
  if (req.path === '/openapi/v2') {
    const form = negotiateV2(req.accept);
    if (!form) return { status: 406, headers: { Vary: 'Accept' } };
    return answer(openapiV2(form), req, { Vary: 'Accept' });
  }
  if (req.path === '/openapi/v3') return answer(openapiV3Root(), req, {});
  if (!req.path.startsWith('/openapi/v3/')) return undefined;
  const key = req.path.slice('/openapi/v3/'.length);
  const doc = openapiV3Doc(key);
  if (!doc) return undefined;
  if (!negotiateV3(req.accept)) return { status: 406, headers: { Vary: 'Accept' } };
  const query = typeof req.query === 'string' ? new URLSearchParams(req.query) : (req.query ?? new URLSearchParams());
  const hash = query.get('hash');
  const extra: Record<string, string> = { Vary: 'Accept' };
  if (hash) {
    if (hash !== doc.hash) {
      return { status: 301, headers: { Vary: 'Accept', 'Content-Type': doc.contentType, ETag: doc.etag, Location: openapiV3URL(key)! } };
    }
    const now = req.now ?? new Date();
    extra['Cache-Control'] = 'public, immutable';
    extra.Expires = new Date(now.getTime() + 365 * 24 * 3600 * 1000).toUTCString();
  }
  return answer(doc, req, extra);
}
