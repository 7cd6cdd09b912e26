// Kubernetes' port-forward protocol (portforward.k8s.io).
//
// Over SPDY: for every forwarded connection the client opens two streams carrying the headers
// `streamtype` (error | data), `port` and `requestid` — error first, then data. The server dials the
// port inside the pod, copies bytes between the data stream and that connection, and writes any
// failure as text on the error stream. Clients older than requestid are paired by stream id
// (the data stream's id is the error stream's + 2), as upstream's server does.
//
// kubectl ≥ 1.31 carries the very same SPDY bytes inside WebSocket binary messages, negotiated as
// the subprotocol `SPDY/3.1+portforward.k8s.io` (webSocketDuplex turns such a WebSocket back into a
// byte stream). The older WebSocket flavour (v4.channel.k8s.io with ?port=…) uses two channels per
// port — data 2i, error 2i+1 — whose first message carries the port as a little-endian uint16.
import { Duplex } from 'node:stream';
import type { WebSocket } from 'ws';
import { headerValue, type SpdySession, type SpdyStream } from './spdy.ts';

export const PORT_FORWARD_PROTOCOL_V1 = 'portforward.k8s.io';
/** The prefix kubectl puts before a SPDY protocol it tunnels through a WebSocket. */
export const SPDY_TUNNELING_PREFIX = 'SPDY/3.1+';
export const PORT_FORWARD_TUNNELING_PROTOCOL = SPDY_TUNNELING_PREFIX + PORT_FORWARD_PROTOCOL_V1;

export const PF_STREAM_TYPE_HEADER = 'streamtype';
export const PF_PORT_HEADER = 'port';
export const PF_REQUEST_ID_HEADER = 'requestid';

/** Dials a port of the pod (inside its network namespace). */
export type PortDialer = (port: number) => Promise<Duplex>;

/** Parses a `port` header or query value as upstream does (1–65535). */
export function parsePort(v: string | undefined): number {
  if (v === undefined || v === '') throw new Error('port is required');
  const n = Number(v);
  if (!/^\d+$/.test(v) || n < 1 || n > 65535) throw new Error(`invalid port: ${v}`);
  return n;
}

/**
 * The server's side over SPDY (the runtime's role): serves every stream pair of the session.
 * `describe` names the target in error messages (upstream: "pod <id>, uid ...").
 */
export function servePortForwardSession(session: SpdySession, dial: PortDialer, describe = 'pod'): void {
  const pairs = new Map<string, { error?: SpdyStream; data?: SpdyStream; started?: boolean }>();
  const requestIdOf = (s: SpdyStream, type: string): string => {
    const id = headerValue(s.headers, PF_REQUEST_ID_HEADER);
    if (id !== undefined && id !== '') return id;
    return String(type === 'data' ? s.id - 2 : s.id);
  };
  session.on('stream', (s) => {
    const type = headerValue(s.headers, PF_STREAM_TYPE_HEADER);
    if (type !== 'data' && type !== 'error') {
      s.reset();
      return;
    }
    const rid = requestIdOf(s, type);
    const p = pairs.get(rid) ?? {};
    pairs.set(rid, p);
    if (p[type]) {
      s.reset();
      return;
    }
    p[type] = s;
    if (!p.error || !p.data || p.started) return;
    p.started = true;
    pairs.delete(rid);
    void forwardPair(p.error, p.data, dial, describe);
  });
}

async function forwardPair(error: SpdyStream, data: SpdyStream, dial: PortDialer, describe: string): Promise<void> {
  error.on('error', () => {});
  data.on('error', () => {});
  error.resume(); // the client writes nothing useful on it; drain its FIN
  let port: number;
  try {
    port = parsePort(headerValue(data.headers, PF_PORT_HEADER));
  } catch (e) {
    error.end(`error forwarding port: ${(e as Error).message}`);
    data.reset();
    return;
  }
  let conn: Duplex;
  try {
    conn = await dial(port);
  } catch (e) {
    error.end(`error forwarding port ${port} to ${describe}: ${(e as Error).message}`);
    data.end();
    return;
  }
  conn.on('error', () => data.destroy());
  data.pipe(conn);
  conn.pipe(data);
  conn.on('close', () => {
    if (!error.writableEnded) error.end();
  });
}

/**
 * The client's side over SPDY: forwards one local connection to `port` through the session.
 * Resolves when both directions are done; rejects with the server's error text, if any.
 */
export async function forwardConnectionOverSpdy(session: SpdySession, port: number, requestId: number, local: Duplex): Promise<void> {
  const common = { [PF_PORT_HEADER]: [String(port)], [PF_REQUEST_ID_HEADER]: [String(requestId)] };
  const error = await session.openStream({ [PF_STREAM_TYPE_HEADER]: ['error'], ...common });
  error.end();
  const data = await session.openStream({ [PF_STREAM_TYPE_HEADER]: ['data'], ...common });
  const errText: Buffer[] = [];
  error.on('data', (d: Buffer) => errText.push(d));
  error.on('error', () => {});
  data.on('error', () => {});
  local.on('error', () => data.destroy());
  await new Promise<void>((resolve) => {
    let open = 2;
    const one = () => {
      if (--open === 0) resolve();
    };
    data.pipe(local).once('finish', one);
    local.pipe(data).once('finish', one);
    data.once('close', () => {
      if (open > 0) resolve();
    });
  });
  await new Promise<void>((r) => (error.readableEnded || error.destroyed ? r() : error.once('close', () => r())));
  const msg = Buffer.concat(errText).toString('utf8');
  if (msg) throw new Error(msg);
}

// ------------------------------------------------------------------------------ WebSocket

/**
 * The byte stream tunnelled through a WebSocket, one binary message per write (kubectl's
 * TunnelingConnection). Ending the Duplex closes the WebSocket normally; the WebSocket's close
 * ends the readable side.
 */
export function webSocketDuplex(ws: WebSocket): Duplex {
  const d = new Duplex({
    write(chunk: Buffer, _enc, cb) {
      if (ws.readyState !== ws.OPEN) return cb(new Error('WebSocket is closed'));
      ws.send(chunk, { binary: true }, (err) => cb(err ?? null));
    },
    final(cb) {
      if (ws.readyState === ws.OPEN) ws.close(1000);
      cb();
    },
    read() {
      ws.resume?.();
    },
    destroy(err, cb) {
      if (ws.readyState === ws.OPEN || ws.readyState === ws.CONNECTING) ws.terminate();
      cb(err);
    },
  });
  ws.on('message', (data: Buffer | ArrayBuffer | Buffer[], isBinary: boolean) => {
    if (!isBinary) {
      d.destroy(new Error('invalid message type received'));
      return;
    }
    const buf = Array.isArray(data) ? Buffer.concat(data) : Buffer.isBuffer(data) ? data : Buffer.from(data);
    if (!d.push(buf)) ws.pause?.();
  });
  ws.on('close', () => d.push(null));
  ws.on('error', (e) => d.destroy(e));
  return d;
}

/** The first message on a v4.channel.k8s.io port-forward channel: the port, little-endian. */
export function portPrefix(port: number): Buffer {
  const b = Buffer.alloc(2);
  b.writeUInt16LE(port);
  return b;
}
