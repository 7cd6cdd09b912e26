// Lets an HTTP/1.1 upgrade request (exec, attach, port-forward, proxied WebSockets) travel the
// API server's ordinary request path — authentication, authorization, in-flight limits, routing to
// the connect handlers, errors as Status objects — by giving it a response object that writes a
// plain HTTP/1.1 answer onto the raw socket. A connect handler that serves the upgrade claims the
// socket (takeUpgrade); from then on the response object writes nothing.
import { EventEmitter } from 'node:events';
import type { Duplex } from 'node:stream';
import type { Ctx, Res } from '../http.ts';
import { writeRawResponse } from '../../streaming/upgrade.ts';

export interface UpgradeConnection {
  socket: Duplex;
  /** Bytes the client sent after its request head (already part of the new protocol). */
  head: Buffer;
}

const connections = new WeakMap<object, UpgradeConnection>();

class UpgradeResponse extends EventEmitter implements Res {
  statusCode = 200;
  headersSent = false;
  writableEnded = false;
  private readonly headers = new Map<string, string>();
  private readonly body: Buffer[] = [];
  private readonly socket: Duplex;
  claimed = false;

  constructor(socket: Duplex) {
    super();
    this.socket = socket;
    socket.once('close', () => this.emit('close'));
  }

  setHeader(name: string, value: string | number | string[]): this {
    this.headers.set(name.toLowerCase(), Array.isArray(value) ? value.join(', ') : String(value));
    return this;
  }

  writeHead(status: number, headers?: Record<string, string | number | string[]>): this {
    this.statusCode = status;
    for (const [k, v] of Object.entries(headers ?? {})) this.setHeader(k, v);
    this.headersSent = true;
    return this;
  }

  write(chunk: string | Uint8Array, cb?: (err?: Error | null) => void): boolean {
    if (!this.claimed) this.body.push(typeof chunk === 'string' ? Buffer.from(chunk) : Buffer.from(chunk));
    this.headersSent = true;
    cb?.();
    return true;
  }

  end(chunk?: string | Uint8Array): this {
    if (this.writableEnded) return this;
    if (chunk !== undefined) this.write(chunk);
    this.writableEnded = true;
    this.headersSent = true;
    if (this.claimed) return this;
    const h: Record<string, string> = {};
    for (const [k, v] of this.headers) if (k !== 'content-length' && k !== 'connection') h[k] = v;
    writeRawResponse(this.socket, this.statusCode, h, Buffer.concat(this.body));
    return this;
  }
}

/**
 * The response object for an upgrade request: pass it with the request to the server's ordinary
 * request handler (`server.on('upgrade', (req, socket, head) => onRequest(req, upgradeResponse(socket, head)))`).
 */
export function upgradeResponse(socket: Duplex, head: Buffer): Res {
  socket.on('error', () => {});
  const r = new UpgradeResponse(socket);
  connections.set(r, { socket, head });
  return r;
}

/** The upgrade connection of a request, without claiming it (undefined for an ordinary request). */
export function upgradeOf(ctx: Pick<Ctx, 'res'>): UpgradeConnection | undefined {
  return connections.get(ctx.res as object);
}

/**
 * Claims the connection: the response object stops writing (later errors cannot corrupt the new
 * protocol) and the caller owns the socket.
 */
export function takeUpgrade(ctx: Pick<Ctx, 'res'>): UpgradeConnection | undefined {
  const c = connections.get(ctx.res as object);
  if (!c) return undefined;
  const r = ctx.res as UpgradeResponse;
  r.claimed = true;
  r.headersSent = true;
  return c;
}
