// The seam every API client speaks through. Two implementations exist: HTTPS (src/client/https.ts)
// between processes, and in-process (provided by the apiserver) inside the server process, which
// runs the same handler chain without sockets, TLS or JSON. Clients cannot tell them apart; the
// semantics (status codes, Status bodies, watch events) are identical.
//
// OWNERSHIP CONTRACT. Objects handed back by a Transport, in responses and in watch events, are
// read-only. The in-process transport returns the apiserver's frozen, shared cache objects
// without copying; the HTTPS transport returns fresh ones, but code must not rely on that.
// Nothing that receives an object from a Transport may mutate it: clone (`clone` in meta.ts)
// the object you are about to change. Likewise a Transport never mutates a request body it was
// given, and may keep a reference to it only until the returned promise settles.
import { StatusError, type Status } from './errors.ts';
import type { WatchEvent } from './meta.ts';

export type HttpMethod = 'GET' | 'HEAD' | 'POST' | 'PUT' | 'PATCH' | 'DELETE';

/** Query parameters; undefined values are left out, arrays repeat the parameter. */
export type Query = Record<string, string | number | boolean | readonly string[] | undefined>;

export interface TransportRequest {
  method: HttpMethod;
  /** Absolute API path without query, e.g. `/api/v1/namespaces/default/pods/web`. */
  path: string;
  query?: Query;
  /**
   * The body: a JSON value, encoded as `contentType` (default application/json); or raw bytes
   * (a Uint8Array) sent as they are with `contentType`. Patch bodies are JSON values whose
   * contentType names the patch type (application/merge-patch+json, …).
   */
  body?: unknown;
  contentType?: string;
  /** Extra request headers (lowercase names). */
  headers?: Record<string, string>;
  /** Aborting rejects the pending request with an AbortError (and ends a watch). */
  signal?: AbortSignal;
}

export interface TransportResponse {
  status: number;
  /**
   * The decoded body: a JSON value for JSON answers (objects, lists, a metav1.Status for every
   * non-2xx answer), raw bytes (Uint8Array) for anything else (e.g. text logs), undefined when
   * empty. Read-only (see the ownership contract above).
   */
  body: unknown;
  /** Response headers with lowercase names. */
  headers: Record<string, string | string[] | undefined>;
}

export interface WatchHandlers {
  /**
   * One decoded event, in the server's order. ERROR events (e.g. a 410 Expired inside the
   * stream) arrive here too, with a metav1.Status as object. Must not throw.
   */
  onEvent(ev: WatchEvent): void;
  /**
   * The stream ended: without an error when the server closed it normally (its timeout), with a
   * StatusError when the server refused the watch (non-2xx), or with another Error when the
   * connection broke. Called exactly once, and never after the caller's own close().
   */
  onClose(err?: Error): void;
}

export interface WatchHandle {
  /** Ends the watch; idempotent. onClose is not called afterwards. */
  close(): void;
}

export interface Transport {
  /**
   * One request. Resolves with every HTTP answer, 2xx or not (a non-2xx answer carries a
   * metav1.Status as body; see statusErrorFrom). Rejects only when no answer arrived:
   * connection failures, aborts.
   */
  request(req: TransportRequest): Promise<TransportResponse>;
  /** A watch (the caller sets `watch=true` or uses a watch path); events arrive through handlers. */
  watch(req: TransportRequest, handlers: WatchHandlers): WatchHandle;
  /** Releases connections; pending requests and watches fail or end. */
  close(): Promise<void>;
}

function isStatus(v: unknown): v is Status {
  return typeof v === 'object' && v !== null && (v as { kind?: unknown }).kind === 'Status';
}

/** Reason and message by code for answers without a Status (upstream's NewGenericServerResponse). */
function genericFailure(code: number, method: string, serverMessage: string): { reason: string; message: string } {
  switch (code) {
    case 409:
      return { reason: method === 'POST' ? 'AlreadyExists' : 'Conflict', message: 'the server reported a conflict' };
    case 404:
      return { reason: 'NotFound', message: 'the server could not find the requested resource' };
    case 400:
      return { reason: 'BadRequest', message: 'the server rejected our request for an unknown reason' };
    case 401:
      return { reason: 'Unauthorized', message: 'the server has asked for the client to provide credentials' };
    case 403:
      return { reason: 'Forbidden', message: serverMessage };
    case 406:
      return {
        reason: 'NotAcceptable',
        message: serverMessage && serverMessage !== 'unknown' ? serverMessage : 'the server was unable to respond with a content type that the client supports',
      };
    case 415:
      return { reason: 'UnsupportedMediaType', message: serverMessage };
    case 405:
      return { reason: 'MethodNotAllowed', message: 'the server does not allow this method on the requested resource' };
    case 422:
      return { reason: 'Invalid', message: 'the server rejected our request due to an error in our request' };
    case 503:
      return { reason: 'ServiceUnavailable', message: 'the server is currently unable to handle the request' };
    case 504:
      return {
        reason: 'Timeout',
        message: 'the server was unable to return a response in the time allotted, but may still be processing the request',
      };
    case 429:
      return { reason: 'TooManyRequests', message: 'the server has received too many requests and has asked us to try again later' };
  }
  if (code >= 500) return { reason: 'InternalError', message: `an error on the server (${JSON.stringify(serverMessage)}) has prevented the request from succeeding` };
  return { reason: 'Unknown', message: `the server responded with the status code ${code} but did not return more information` };
}

/**
 * The StatusError for a non-2xx answer. A Status body is taken as it is (code, reason, details,
 * message); any other body gets upstream client-go's generic reason and wording for the code,
 * with the body's text as an UnexpectedServerResponse cause.
 */
export function statusErrorFrom(status: number, body: unknown, method = 'GET'): StatusError {
  if (isStatus(body)) {
    const { kind: _k, apiVersion: _a, metadata: _m, status: _s, ...rest } = body;
    return new StatusError({ ...rest, code: body.code || status });
  }
  const text = (typeof body === 'string' ? body : body instanceof Uint8Array ? new TextDecoder().decode(body) : body === undefined ? '' : JSON.stringify(body)).trim();
  const { reason, message } = genericFailure(status, method.toUpperCase(), text || 'unknown');
  return new StatusError({ reason, code: status, message, details: { causes: [{ reason: 'UnexpectedServerResponse', message: text || 'unknown' }] } });
}

/** Encodes a Query as a URL query string (without `?`), skipping undefined values. */
export function encodeQuery(q: Query | undefined): string {
  if (!q) return '';
  const p = new URLSearchParams();
  for (const [k, v] of Object.entries(q)) {
    if (v === undefined) continue;
    if (Array.isArray(v)) for (const x of v) p.append(k, x);
    else p.append(k, String(v));
  }
  return p.toString();
}
