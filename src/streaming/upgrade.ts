// HTTP/1.1 connection upgrades, the doorway of every streaming protocol here (WebSocket and
// SPDY/3.1): asking a backend for one, and proxying a client's upgrade to a backend byte for byte
// (what upstream's UpgradeAwareHandler does for the API server and the kubelet).
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect, type ConnectionOptions } from 'node:tls';

// Not an ES import: reading node:http's ES namespace loads Node's bundled undici (for its lazy
// WebSocket exports), ~1.5 MiB of an agent's memory that nothing here uses.
const { request: httpRequest, STATUS_CODES } = process.getBuiltinModule('node:http');

export interface UpgradeTarget {
  url: URL;
  method: string;
  /** Request headers; arrays become repeated header lines. Must include Connection and Upgrade. */
  headers: OutgoingHttpHeaders;
  /** TLS settings for an https: target (client certificate, CA, verification). */
  tls?: Pick<ConnectionOptions, 'ca' | 'cert' | 'key' | 'rejectUnauthorized' | 'servername'>;
  /**
   * Opens the TCP connection to host:port, for backends reachable only through a helper (e.g. a
   * runtime's stream server inside another network namespace). Default: a plain TCP connection.
   */
  connect?: (host: string, port: number) => Duplex | Promise<Duplex>;
  /** Milliseconds to wait for the backend's answer; default 30 s. */
  timeoutMs?: number;
}

export interface Upgraded {
  socket: Duplex;
  /** Bytes the backend sent after its 101 answer (already part of the new protocol). */
  head: Buffer;
  statusMessage: string;
  headers: IncomingHttpHeaders;
  rawHeaders: string[];
}

/** The backend answered without switching protocols. */
export class UpgradeFailedError extends Error {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
  constructor(statusCode: number, headers: IncomingHttpHeaders, body: Buffer) {
    super(`unable to upgrade connection: ${body.toString('utf8').trim() || STATUS_CODES[statusCode] || statusCode}`);
    this.name = 'UpgradeFailedError';
    this.statusCode = statusCode;
    this.headers = headers;
    this.body = body;
  }
}

/** Error bodies read from a backend are capped (upstream's maxReadLength is 50,000). */
const MAX_ERROR_BODY = 50_000;

/** Asks target for an upgraded connection; rejects with UpgradeFailedError for a non-101 answer. */
export function requestUpgrade(t: UpgradeTarget): Promise<Upgraded> {
  return new Promise<Upgraded>((resolve, reject) => {
    const https = t.url.protocol === 'https:';
    const host = t.url.hostname.replace(/^\[|\]$/g, '');
    const port = Number(t.url.port || (https ? 443 : 80));
    const opts: Record<string, unknown> = {
      method: t.method,
      host,
      port,
      path: t.url.pathname + t.url.search,
      headers: t.headers,
      timeout: t.timeoutMs ?? 30_000,
    };
    if (https) Object.assign(opts, t.tls ?? {});
    // A fresh agent: an upgraded socket never returns to a pool. (With createConnection Node uses no agent.)
    if (!t.connect) opts.agent = false;
    if (t.connect) {
      const connect = t.connect;
      opts.createConnection = (_o: unknown, cb: (err: Error | null, s?: Duplex) => void) => {
        Promise.resolve()
          .then(() => connect(host, port))
          .then(
            (raw) => {
              if (!https) return cb(null, raw);
              const s = tlsConnect({ socket: raw as never, servername: t.tls?.servername ?? (isIp(host) ? undefined : host), ...(t.tls ?? {}) });
              cb(null, s);
            },
            (e: Error) => cb(e),
          );
        return undefined;
      };
    }
    const req = (https ? httpsRequest : httpRequest)(opts as never);
    let settled = false;
    req.on('upgrade', (res: IncomingMessage, socket: Duplex, head: Buffer) => {
      settled = true;
      (socket as Duplex & { setTimeout?: (ms: number) => void }).setTimeout?.(0);
      resolve({ socket, head, statusMessage: res.statusMessage ?? 'Switching Protocols', headers: res.headers, rawHeaders: res.rawHeaders });
    });
    req.on('response', (res: IncomingMessage) => {
      const chunks: Buffer[] = [];
      let size = 0;
      res.on('data', (c: Buffer) => {
        if (size < MAX_ERROR_BODY) chunks.push(c.subarray(0, MAX_ERROR_BODY - size));
        size += c.length;
      });
      res.on('end', () => {
        settled = true;
        reject(new UpgradeFailedError(res.statusCode ?? 502, res.headers, Buffer.concat(chunks)));
      });
      res.on('error', (e) => reject(e));
    });
    req.on('timeout', () => req.destroy(new Error(`timed out waiting for ${t.url.host} to answer the upgrade`)));
    req.on('error', (e) => {
      if (!settled) reject(e);
    });
    req.end();
  });
}

function isIp(h: string): boolean {
  return /^[\d.]+$/.test(h) || h.includes(':');
}

/** Headers a proxy must not pass on (hop-by-hop, besides the upgrade's own), or that carry the client's credentials. */
const DROP = new Set(['host', 'authorization', 'proxy-authorization', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'content-length']);

/**
 * The request headers to forward with an upgrade, from the client's raw headers (repeated lines
 * stay repeated: SPDY clients list one X-Stream-Protocol-Version per line). Credentials and
 * impersonation headers are dropped: the proxy speaks to the backend with its own identity.
 */
export function forwardedUpgradeHeaders(rawHeaders: string[]): OutgoingHttpHeaders {
  const out: Record<string, string[]> = {};
  for (let i = 0; i + 1 < rawHeaders.length; i += 2) {
    const name = rawHeaders[i]!;
    const lower = name.toLowerCase();
    if (DROP.has(lower) || lower.startsWith('impersonate-')) continue;
    (out[lower] ??= []).push(rawHeaders[i + 1]!);
  }
  return out;
}

/** The status line and headers of an HTTP/1.1 response, for writing onto a raw socket. */
export function responseHead(status: number, statusMessage: string | undefined, headers: [string, string][]): string {
  let s = `HTTP/1.1 ${status} ${statusMessage ?? STATUS_CODES[status] ?? ''}\r\n`;
  for (const [k, v] of headers) s += `${k}: ${v}\r\n`;
  return s + '\r\n';
}

/** Answers an upgrade request on its raw socket with a complete (non-101) response and closes it. */
export function writeRawResponse(socket: Duplex, status: number, headers: Record<string, string>, body: string | Buffer): void {
  if (socket.destroyed || socket.writableEnded) return;
  const b = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
  const h: [string, string][] = Object.entries(headers).map(([k, v]) => [k, v]);
  h.push(['Content-Length', String(b.length)], ['Connection', 'close']);
  socket.end(Buffer.concat([Buffer.from(responseHead(status, undefined, h), 'latin1'), b]));
}

/**
 * Proxies an upgrade byte for byte: opens target, relays its answer (101 with its headers, or its
 * error response) to the client, then copies both directions until either side closes.
 * Rejects — with nothing written to the client — when the backend cannot be reached, so the
 * caller can answer with its own error.
 */
export async function proxyUpgrade(client: Duplex, clientHead: Buffer, t: UpgradeTarget): Promise<void> {
  let up: Upgraded;
  try {
    up = await requestUpgrade(t);
  } catch (e) {
    if (e instanceof UpgradeFailedError) {
      const h: Record<string, string> = {};
      const ct = e.headers['content-type'];
      if (ct) h['Content-Type'] = String(ct);
      writeRawResponse(client, e.statusCode, h, e.body);
      return;
    }
    throw e;
  }
  const pairs: [string, string][] = [];
  for (let i = 0; i + 1 < up.rawHeaders.length; i += 2) pairs.push([up.rawHeaders[i]!, up.rawHeaders[i + 1]!]);
  if (client.destroyed) {
    up.socket.destroy();
    return;
  }
  client.write(responseHead(101, up.statusMessage, pairs));
  if (up.head.length) client.write(up.head);
  if (clientHead.length) up.socket.write(clientHead);
  spliceSockets(client, up.socket);
}

/**
 * Copies bytes both ways between two connections. An end travels as an end (after what is still
 * buffered is written); when one side closes, the other is ended, not destroyed, so nothing in
 * flight is lost; an error destroys both.
 */
export function spliceSockets(a: Duplex, b: Duplex): void {
  a.pipe(b);
  b.pipe(a);
  const destroyBoth = () => {
    a.destroy();
    b.destroy();
  };
  a.on('error', destroyBoth);
  b.on('error', destroyBoth);
  a.on('close', () => {
    if (!b.writableEnded) b.end();
  });
  b.on('close', () => {
    if (!a.writableEnded) a.end();
  });
}
