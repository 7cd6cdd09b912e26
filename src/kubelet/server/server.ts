// The kubelet's HTTPS API (port 10250), the endpoints the API server proxies to: container logs,
// exec, attach, port-forward, and the read-only /healthz, /pods, /runningpods/, /stats/summary.
//
// Authentication, in upstream's order: a client certificate signed by `clientCA` (the API server's
// client CA; CN the user, O entries the groups), else an `Authorization: Bearer` token checked by
// `authenticateToken` (a TokenReview, delegated-auth.ts). Anonymous requests are refused; there is
// no read-only port. Authorization: the users in `allowedUsers`, or the `authorize` hook (a
// SubjectAccessReview) with upstream's attributes — verb from the method, resource "nodes",
// subresource stats/metrics/log/spec or proxy. Refusals are worded as upstream's ("Unauthorized",
// "Forbidden (user=…, verb=…, …)").
//
// Streaming: exec/attach/port-forward ask the runtime for its single-use stream URL, then
// - proxy the connection byte for byte when the client speaks a protocol the runtime speaks
//   (SPDY/3.1, or WebSocket v4/base64 channel protocols), as upstream's kubelet does;
// - terminate a v5.channel.k8s.io WebSocket here and speak SPDY v4 to the runtime (containerd does
//   not speak v5; SPDY lets stdin be half-closed);
// - unwrap kubectl's SPDY-over-WebSocket port-forward tunnel (SPDY/3.1+portforward.k8s.io) and
//   pass the SPDY bytes to the runtime's SPDY port-forward.
import { createServer as createHttpsServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Duplex } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { WebSocketServer, type WebSocket } from 'ws';
import { CONTAINER_NAME_LABEL, POD_UID_LABEL } from '../labels.ts';
import { isRuntimeError, type Runtime } from '../runtime/runtime.ts';
import type { Pod } from '../api-types.ts';
import { SpdySession } from '../../streaming/spdy.ts';
import {
  STREAM_PROTOCOL_HEADER,
  STREAM_PROTOCOL_V4,
  STREAM_PROTOCOL_V5,
  bridgeV5WebSocketToSpdy,
  openSpdyRemoteCommand,
  streamOptionsFromQuery,
  type StreamOptions,
} from '../../streaming/remotecommand.ts';
import { PORT_FORWARD_PROTOCOL_V1, PORT_FORWARD_TUNNELING_PROTOCOL, parsePort, webSocketDuplex } from '../../streaming/portforward.ts';
import { forwardedUpgradeHeaders, proxyUpgrade, requestUpgrade, spliceSockets, writeRawResponse } from '../../streaming/upgrade.ts';
import { LogTargetError, logContainerId, podHasContainer, runtimeContainerId } from './container-logs.ts';
import { LogQueryError, parsePodLogQuery, readContainerLog } from './logs.ts';
import type { PodLookup } from './pod-lookup.ts';
import { runningPods, statsSummary } from './stats.ts';

export type { PodLookup } from './pod-lookup.ts';

export interface KubeletUser {
  name: string;
  groups: string[];
  uid?: string;
  extra?: Record<string, string[]>;
}

/** Upstream's authorization attributes of a kubelet request. */
export interface KubeletRequestAttributes {
  verb: string;
  resource: 'nodes';
  subresource: string;
  name: string;
  path: string;
}

export interface KubeletServerOptions {
  nodeName: string;
  runtime: Runtime;
  pods: PodLookup;
  /** The serving certificate and key (PEM). */
  tls: { cert: string; key: string };
  /** PEM of the CA that signs accepted client certificates (the API server's client CA). */
  clientCA: string;
  /** Users (certificate CNs) allowed everything, e.g. the API server's kubelet-client identity. */
  allowedUsers?: string[];
  /**
   * Authenticates a bearer token (a cached TokenReview): the user, or undefined when the token is
   * not valid (a rejection counts as not valid). Without it, bearer tokens are refused.
   */
  authenticateToken?: (token: string) => Promise<KubeletUser | undefined>;
  /** Decides for users not in allowedUsers (a SubjectAccessReview); default: deny. */
  authorize?: (user: KubeletUser, attrs: KubeletRequestAttributes) => Promise<boolean>;
  /** Listen address and port; defaults 0.0.0.0 and 10250 (0 picks a free port). */
  address?: string;
  port?: number;
  /** Opens connections to the runtime's stream server; default plain TCP. */
  connectStreamServer?: (host: string, port: number) => Duplex | Promise<Duplex>;
  /** The kubelet's root directory, for the node filesystem in /stats/summary. */
  rootDir?: string;
  log?: (msg: string) => void;
  now?: () => Date;
}

export interface KubeletServer {
  readonly port: number;
  close(): Promise<void>;
}

class HttpError extends Error {
  readonly status: number;
  readonly headers: Record<string, string>;
  constructor(status: number, message: string, headers: Record<string, string> = {}) {
    super(message);
    this.status = status;
    this.headers = headers;
  }
}

/** upstream's streaming.WriteError: NotFound is 404, ResourceExhausted 429, the rest 500. */
function runtimeHttpError(e: unknown): HttpError {
  if (isRuntimeError(e, 'NotFound')) return new HttpError(404, (e as Error).message);
  if (isRuntimeError(e, 'ResourceExhausted')) return new HttpError(429, (e as Error).message, { 'Retry-After': '30' });
  return new HttpError(500, (e as Error).message);
}

const METHOD_VERBS: Record<string, string> = { POST: 'create', GET: 'get', HEAD: 'get', PUT: 'update', PATCH: 'patch', DELETE: 'delete' };

function isSubpath(path: string, prefix: string): boolean {
  return path === prefix || path.startsWith(prefix + '/');
}

export function requestAttributes(nodeName: string, method: string, path: string): KubeletRequestAttributes {
  let subresource = 'proxy';
  if (isSubpath(path, '/stats')) subresource = 'stats';
  else if (isSubpath(path, '/metrics')) subresource = 'metrics';
  else if (isSubpath(path, '/logs')) subresource = 'log';
  else if (isSubpath(path, '/spec')) subresource = 'spec';
  else if (isSubpath(path, '/checkpoint')) subresource = 'checkpoint';
  return { verb: METHOD_VERBS[method] ?? '', resource: 'nodes', subresource, name: nodeName, path };
}

/** Path segments after the prefix, decoded; undefined when the path does not start with it. */
function segments(path: string, prefix: string): string[] | undefined {
  if (!path.startsWith(prefix + '/')) return undefined;
  return path
    .slice(prefix.length + 1)
    .split('/')
    .filter((s) => s !== '')
    .map((s) => decodeURIComponent(s));
}

export async function startKubeletServer(o: KubeletServerOptions): Promise<KubeletServer> {
  const log = o.log ?? (() => {});
  const now = o.now ?? (() => new Date());
  const allowed = new Set(o.allowedUsers ?? []);
  // One WebSocket server for every upgrade. Subprotocols are negotiated here, not by `ws`: it
  // rejects names that are not HTTP tokens, and kubectl's tunnelling protocol
  // (SPDY/3.1+portforward.k8s.io) has a '/'. The chosen one is added to the 101 answer.
  const chosenProtocol = new WeakMap<IncomingMessage, string>();
  const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false, clientTracking: true });
  wss.on('headers', (headers: string[], req: IncomingMessage) => {
    const p = chosenProtocol.get(req);
    if (p) headers.push(`Sec-WebSocket-Protocol: ${p}`);
  });
  const upgraded = new Set<Duplex>();

  const userOf = (socket: TLSSocket): KubeletUser | undefined => {
    if (!socket.authorized) return undefined;
    const subj = socket.getPeerCertificate()?.subject as unknown as Record<string, string | string[]> | undefined;
    const cn = subj?.CN;
    if (typeof cn !== 'string' || !cn) return undefined;
    const org = subj?.O;
    return { name: cn, groups: [...(Array.isArray(org) ? org : org ? [org] : []), 'system:authenticated'] };
  };

  /** The user of a valid bearer token; undefined without one or when it does not authenticate. */
  const tokenUser = async (req: IncomingMessage): Promise<KubeletUser | undefined> => {
    const m = /^Bearer\s+(\S+)\s*$/i.exec(String(req.headers.authorization ?? ''));
    if (!m || !o.authenticateToken) return undefined;
    try {
      return await o.authenticateToken(m[1]!);
    } catch (e) {
      log(`authenticating a bearer token: ${(e as Error).message}`);
      return undefined;
    }
  };

  /** Authenticates and authorizes; throws HttpError 401/403 in upstream's words. */
  const admit = async (req: IncomingMessage, path: string): Promise<void> => {
    const user = userOf(req.socket as TLSSocket) ?? (await tokenUser(req));
    if (!user) throw new HttpError(401, 'Unauthorized');
    if (allowed.has(user.name)) return;
    const attrs = requestAttributes(o.nodeName, req.method ?? 'GET', path);
    if (o.authorize && (await o.authorize(user, attrs))) return;
    throw new HttpError(403, `Forbidden (user=${user.name}, verb=${attrs.verb}, resource=${attrs.resource}, subresource=${attrs.subresource})`);
  };

  const sendJson = (res: ServerResponse, body: unknown) => {
    const b = Buffer.from(JSON.stringify(body));
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': b.length });
    res.end(b);
  };

  const sendError = (res: ServerResponse, e: unknown) => {
    const err = e instanceof HttpError ? e : e instanceof LogQueryError ? new HttpError(e.statusCode, e.message) : new HttpError(500, (e as Error).message);
    if (res.headersSent) {
      // Mid-stream: nothing better than ending the body.
      res.end();
      return;
    }
    const b = Buffer.from(err.message);
    res.writeHead(err.status, { 'Content-Type': 'text/plain; charset=utf-8', 'Content-Length': b.length, ...err.headers });
    res.end(b);
  };

  // ------------------------------------------------------------------ containerLogs

  const containerLogs = async (req: IncomingMessage, res: ServerResponse, url: URL) => {
    const seg = segments(url.pathname, '/containerLogs') ?? [];
    const [ns, podName, container] = seg;
    if (!podName) throw new HttpError(400, '{"message": "Missing podID."}');
    if (!container) throw new HttpError(400, '{"message": "Missing container name."}');
    if (!ns) throw new HttpError(400, '{"message": "Missing podNamespace."}');
    const q = parsePodLogQuery(url.searchParams, now());
    const pod = o.pods.pod(ns, podName);
    if (!pod) throw new HttpError(404, `pod ${JSON.stringify(podName)} does not exist`);
    if (!podHasContainer(pod, container)) throw new HttpError(404, `container ${JSON.stringify(container)} not found in pod ${JSON.stringify(podName)}`);
    let statusId: string;
    try {
      statusId = logContainerId(pod, container, q.previous);
    } catch (e) {
      if (e instanceof LogTargetError) throw new HttpError(400, e.message);
      throw e;
    }
    const id = runtimeContainerId(statusId);
    let path: string | undefined;
    try {
      path = (await o.runtime.containerStatus(id)).log_path || undefined;
    } catch {
      path = undefined;
    }
    path ??= await o.pods.logPath?.(ns, podName, container, q.previous);
    if (!path) throw new HttpError(400, `unable to retrieve container logs for ${statusId}`);
    const ac = new AbortController();
    res.on('close', () => ac.abort());
    const running = async () => {
      try {
        return (await o.runtime.containerStatus(id)).state === 'CONTAINER_RUNNING';
      } catch {
        return false;
      }
    };
    let started = false;
    const start = () => {
      if (started) return;
      started = true;
      res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8', 'Transfer-Encoding': 'chunked' });
      res.flushHeaders();
    };
    try {
      await readContainerLog(
        path,
        q,
        {
          signal: ac.signal,
          write: async (chunk) => {
            start();
            // A response that already closed emits neither 'drain' nor 'close' again: waiting on
            // it would hold the follower (and its file watch) forever.
            if (res.destroyed) return;
            if (!res.write(chunk) && !res.destroyed) await new Promise<void>((r) => {
              res.once('drain', r);
              res.once('close', r);
            });
          },
        },
        async () => {
          // The follower is waiting at the end of the file: let the client see the headers.
          start();
          return running();
        },
      );
    } catch (e) {
      if (!started) throw new HttpError(400, `failed to open log file ${JSON.stringify(path)}: ${(e as Error).message}`);
      log(`reading ${path}: ${(e as Error).message}`);
    }
    start();
    res.end();
  };

  // ------------------------------------------------------------------ exec / attach / portForward

  /** The running container of a pod by name (upstream's findContainer), or a 500 as upstream. */
  const findContainer = async (pod: Pod, name: string, uid: string | undefined): Promise<string> => {
    const podUid = uid || pod.metadata.uid || '';
    const cs = await o.runtime.listContainers({ state: { state: 'CONTAINER_RUNNING' }, label_selector: { [POD_UID_LABEL]: podUid, [CONTAINER_NAME_LABEL]: name } });
    const c = cs.sort((a, b) => Number(BigInt(b.created_at) - BigInt(a.created_at)))[0];
    if (!c) throw new HttpError(500, `container not found (${JSON.stringify(name)})`);
    return c.id;
  };

  const sandboxOf = async (pod: Pod, ns: string, name: string, uid: string | undefined): Promise<string> => {
    const viaKubelet = await o.pods.sandboxId?.(ns, name);
    if (viaKubelet) return viaKubelet;
    const sbs = await o.runtime.listPodSandboxes({ state: { state: 'SANDBOX_READY' }, label_selector: { [POD_UID_LABEL]: uid || pod.metadata.uid || '' } });
    const sb = sbs.sort((a, b) => Number(BigInt(b.created_at) - BigInt(a.created_at)))[0];
    if (!sb) throw new HttpError(500, `pod not found (${JSON.stringify(`${name}_${ns}`)})`);
    return sb.id;
  };

  const wsProtocols = (req: IncomingMessage): string[] =>
    String(req.headers['sec-websocket-protocol'] ?? '')
      .split(',')
      .map((s) => s.trim())
      .filter(Boolean);
  const isWebSocket = (req: IncomingMessage) => String(req.headers.upgrade ?? '').toLowerCase() === 'websocket';

  const acceptWebSocket = (req: IncomingMessage, socket: Duplex, head: Buffer, protocol: string): Promise<WebSocket> =>
    new Promise((resolve) => {
      chosenProtocol.set(req, protocol);
      delete req.headers['sec-websocket-protocol'];
      wss.handleUpgrade(req, socket, head, (ws) => resolve(ws));
    });

  /** Proxies the client's upgrade to the runtime URL as it is (upstream's proxyStream). */
  const proxyToRuntime = async (req: IncomingMessage, socket: Duplex, head: Buffer, runtimeUrl: string) => {
    const url = new URL(runtimeUrl);
    const headers = forwardedUpgradeHeaders(req.rawHeaders);
    headers.host = url.host;
    try {
      await proxyUpgrade(socket, head, { url, method: req.method ?? 'GET', headers, connect: o.connectStreamServer });
    } catch (e) {
      log(`proxying to the runtime's stream server: ${(e as Error).message}`);
      writeRawResponse(socket, 500, { 'Content-Type': 'text/plain; charset=utf-8' }, `${(e as Error).message}\n`);
    }
  };

  /** A SPDY connection to the runtime's stream URL speaking `protocol`. */
  const spdyToRuntime = async (runtimeUrl: string, protocol: string) => {
    const up = await requestUpgrade({
      url: new URL(runtimeUrl),
      method: 'POST',
      headers: { Connection: 'Upgrade', Upgrade: 'SPDY/3.1', [STREAM_PROTOCOL_HEADER]: [protocol] },
      connect: o.connectStreamServer,
    });
    if (up.head.length) up.socket.unshift(up.head);
    return up.socket;
  };

  const remoteCommand = async (kind: 'exec' | 'attach', req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) => {
    const seg = segments(url.pathname, `/${kind}`) ?? [];
    if (seg.length !== 3 && seg.length !== 4) throw new HttpError(404, '404 page not found');
    const [ns, podName] = seg as [string, string];
    const uid = seg.length === 4 ? seg[2] : undefined;
    const container = seg[seg.length - 1]!;
    let opts: StreamOptions;
    try {
      opts = streamOptionsFromQuery(url.searchParams);
    } catch (e) {
      throw new HttpError(400, (e as Error).message);
    }
    const pod = o.pods.pod(ns, podName);
    if (!pod) throw new HttpError(404, 'pod does not exist');
    const cid = await findContainer(pod, container, uid);
    const cmd = url.searchParams.getAll('command');
    let runtimeUrl: string;
    try {
      runtimeUrl =
        kind === 'exec'
          ? await o.runtime.exec({ container_id: cid, cmd, tty: opts.tty, stdin: opts.stdin, stdout: opts.stdout, stderr: opts.stderr })
          : await o.runtime.attach({ container_id: cid, tty: opts.tty, stdin: opts.stdin, stdout: opts.stdout, stderr: opts.stderr });
    } catch (e) {
      throw runtimeHttpError(e);
    }
    const what = `${kind} ${ns}/${podName}/${container}`;
    if (isWebSocket(req) && wsProtocols(req).includes(STREAM_PROTOCOL_V5)) {
      log(`${what}: ${STREAM_PROTOCOL_V5} WebSocket bridged to SPDY ${STREAM_PROTOCOL_V4}`);
      const ws = await acceptWebSocket(req, socket, head, STREAM_PROTOCOL_V5);
      let session: SpdySession | undefined;
      const streams = spdyToRuntime(runtimeUrl, STREAM_PROTOCOL_V4).then((s) => {
        session = new SpdySession(s, { role: 'client' });
        return openSpdyRemoteCommand(session, opts);
      });
      await bridgeV5WebSocketToSpdy(ws, streams, () => session?.close());
      session?.destroy();
      return;
    }
    log(`${what}: ${isWebSocket(req) ? `WebSocket (${wsProtocols(req).join(', ')})` : String(req.headers.upgrade)} proxied to the runtime`);
    await proxyToRuntime(req, socket, head, runtimeUrl);
  };

  const portForward = async (req: IncomingMessage, socket: Duplex, head: Buffer, url: URL) => {
    const seg = segments(url.pathname, '/portForward') ?? [];
    if (seg.length !== 2 && seg.length !== 3) throw new HttpError(404, '404 page not found');
    const [ns, podName] = seg as [string, string];
    const uid = seg[2];
    const protocols = isWebSocket(req) ? wsProtocols(req) : [];
    const tunnel = protocols.includes(PORT_FORWARD_TUNNELING_PROTOCOL);
    const ports: number[] = [];
    if (isWebSocket(req) && !tunnel) {
      // The WebSocket channel flavour names its ports up front (upstream's NewV4Options).
      const vals = url.searchParams.getAll('port').flatMap((v) => v.split(','));
      if (vals.length === 0) throw new HttpError(400, 'query parameter "port" is required');
      try {
        for (const v of vals) ports.push(parsePort(v.trim()));
      } catch (e) {
        throw new HttpError(400, (e as Error).message);
      }
    }
    const pod = o.pods.pod(ns, podName);
    if (!pod) throw new HttpError(404, 'pod does not exist');
    if (uid && pod.metadata.uid !== uid) throw new HttpError(404, 'pod not found');
    const sandbox = await sandboxOf(pod, ns, podName, uid);
    let runtimeUrl: string;
    try {
      runtimeUrl = await o.runtime.portForward(sandbox, ports);
    } catch (e) {
      throw runtimeHttpError(e);
    }
    if (tunnel) {
      let upstream: Duplex;
      try {
        upstream = await spdyToRuntime(runtimeUrl, PORT_FORWARD_PROTOCOL_V1);
      } catch (e) {
        throw runtimeHttpError(e);
      }
      const ws = await acceptWebSocket(req, socket, head, PORT_FORWARD_TUNNELING_PROTOCOL);
      log(`portforward ${ns}/${podName}: ${PORT_FORWARD_TUNNELING_PROTOCOL} WebSocket tunnel to the runtime's SPDY`);
      spliceSockets(webSocketDuplex(ws), upstream);
      return;
    }
    log(`portforward ${ns}/${podName}: ${isWebSocket(req) ? `WebSocket (${protocols.join(', ')})` : String(req.headers.upgrade)} proxied to the runtime`);
    await proxyToRuntime(req, socket, head, runtimeUrl);
  };

  // ------------------------------------------------------------------ dispatch

  const onRequest = (req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const path = url.pathname;
    (async () => {
      await admit(req, path);
      const method = req.method ?? 'GET';
      if (path === '/healthz' || path.startsWith('/healthz/')) {
        res.writeHead(200, { 'Content-Type': 'text/plain; charset=utf-8' });
        res.end('ok');
        return;
      }
      if (path.startsWith('/containerLogs/') && method === 'GET') return containerLogs(req, res, url);
      if ((path === '/pods' || path === '/pods/') && method === 'GET') {
        return sendJson(res, { kind: 'PodList', apiVersion: 'v1', metadata: {}, items: o.pods.pods() });
      }
      if ((path === '/runningpods' || path === '/runningpods/') && method === 'GET') return sendJson(res, await runningPods(o.runtime));
      if ((path === '/stats/summary' || path === '/stats/summary/') && method === 'GET') {
        return sendJson(res, await statsSummary({ nodeName: o.nodeName, runtime: o.runtime, rootDir: o.rootDir, now }));
      }
      if (/^\/(exec|attach|portForward)\//.test(path) && (method === 'GET' || method === 'POST')) {
        // Upstream answers a plain request here through its upgrade-aware proxy's responder.
        throw new HttpError(500, 'Upgrade request required');
      }
      throw new HttpError(404, '404 page not found');
    })().catch((e) => sendError(res, e));
  };

  const onUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    const url = new URL(req.url ?? '/', 'https://kubelet');
    const path = url.pathname;
    socket.on('error', () => {});
    upgraded.add(socket);
    socket.once('close', () => upgraded.delete(socket));
    (async () => {
      await admit(req, path);
      const method = req.method ?? 'GET';
      if (method !== 'GET' && method !== 'POST') throw new HttpError(405, 'Method Not Allowed');
      if (path.startsWith('/exec/')) return remoteCommand('exec', req, socket, head, url);
      if (path.startsWith('/attach/')) return remoteCommand('attach', req, socket, head, url);
      if (path.startsWith('/portForward/')) return portForward(req, socket, head, url);
      throw new HttpError(404, '404 page not found');
    })().catch((e) => {
      const err = e instanceof HttpError ? e : new HttpError(500, (e as Error).message);
      writeRawResponse(socket, err.status, { 'Content-Type': 'text/plain; charset=utf-8', ...err.headers }, err.message);
    });
  };

  const server: Server = createHttpsServer({
    cert: o.tls.cert,
    key: o.tls.key,
    ca: o.clientCA,
    requestCert: true,
    rejectUnauthorized: false,
  });
  server.on('request', onRequest);
  server.on('upgrade', onUpgrade);
  server.on('tlsClientError', () => {});
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 10250, o.address ?? '0.0.0.0', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const addr = server.address();
  const port = typeof addr === 'object' && addr ? addr.port : (o.port ?? 10250);
  log(`kubelet server listening on ${o.address ?? '0.0.0.0'}:${port}`);
  return {
    port,
    close: async () => {
      for (const ws of wss.clients) ws.terminate();
      for (const s of upgraded) s.destroy();
      server.closeAllConnections();
      await new Promise<void>((r) => server.close(() => r()));
    },
  };
}
