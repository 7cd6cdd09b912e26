// The proxy subresources: nodes/NAME/proxy/… to the node's kubelet (with the API server's
// kubelet-client certificate), pods/NAME[:PORT]/proxy/… and services/NAME[:PORT]/proxy/… to a pod
// IP directly, as upstream's ProxyREST does (the API server must be able to route to pod IPs for
// the latter two). Names may carry a scheme and port: "https:name:8443". Upgrades (WebSockets)
// pass through as they are.
import { request as httpRequest, type IncomingMessage, type OutgoingHttpHeaders } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import type { Duplex } from 'node:stream';
import { badRequest, internalError, notFound, serviceUnavailable } from '../../api/errors.ts';
import type { KObject } from '../../api/meta.ts';
import type { Ctx } from '../http.ts';
import { forwardedUpgradeHeaders, proxyUpgrade } from '../../streaming/upgrade.ts';
import { hostPort, kubeletLocation, kubeletTls } from './kubelet-client.ts';
import type { ConnectHandler, StreamingDeps } from './pods.ts';
import { takeUpgrade, upgradeOf } from './upgrade-response.ts';

/** upstream's SplitSchemeNamePort: "name", "name:port", "scheme:name:port". */
export function splitSchemeNamePort(id: string): { scheme: string; name: string; port: string } {
  const parts = id.split(':');
  if (parts.length === 1) return { scheme: '', name: parts[0]!, port: '' };
  if (parts.length === 2) return { scheme: '', name: parts[0]!, port: parts[1]! };
  if (parts.length === 3 && (parts[0] === 'http' || parts[0] === 'https' || parts[0] === '')) return { scheme: parts[0]!, name: parts[1]!, port: parts[2]! };
  throw badRequest(`invalid request ${JSON.stringify(id)}`);
}

/** The path after ".../proxy", with the original query. */
function proxiedPath(ctx: Ctx): string {
  const i = ctx.info.parts.indexOf('proxy');
  const rest = i >= 0 ? ctx.info.parts.slice(i + 1) : [];
  const raw = ctx.req.url ?? '';
  const q = raw.indexOf('?');
  return '/' + rest.map(encodeURIComponent).join('/') + (q >= 0 ? raw.slice(q) : '');
}

const HOP = new Set(['connection', 'keep-alive', 'proxy-connection', 'te', 'trailer', 'transfer-encoding', 'upgrade', 'host', 'authorization', 'proxy-authorization']);

function forwardHeaders(h: IncomingMessage['headers']): OutgoingHttpHeaders {
  const out: OutgoingHttpHeaders = {};
  for (const [k, v] of Object.entries(h)) {
    if (v === undefined || HOP.has(k) || k.startsWith('impersonate-') || k.startsWith(':')) continue;
    out[k] = v;
  }
  return out;
}

interface Target {
  url: URL;
  tls?: { cert?: string; key?: string; ca?: string; rejectUnauthorized: boolean };
  connect?: (host: string, port: number) => Duplex | Promise<Duplex>;
}

async function forward(ctx: Ctx, t: Target): Promise<void> {
  const up = upgradeOf(ctx);
  if (up) {
    const headers = forwardedUpgradeHeaders((ctx.req as { rawHeaders?: string[] }).rawHeaders ?? []);
    headers.host = t.url.host;
    try {
      await proxyUpgrade(up.socket, up.head, { url: t.url, method: ctx.method, headers, tls: t.tls, connect: t.connect });
    } catch (e) {
      throw internalError(new Error(`error dialing backend: ${(e as Error).message}`));
    }
    takeUpgrade(ctx);
    return;
  }
  if (ctx.local) throw badRequest('proxy requests need an HTTP connection');
  const https = t.url.protocol === 'https:';
  const opts: Record<string, unknown> = {
    method: ctx.method,
    host: t.url.hostname.replace(/^\[|\]$/g, ''),
    port: Number(t.url.port || (https ? 443 : 80)),
    path: t.url.pathname + t.url.search,
    headers: { ...forwardHeaders(ctx.req.headers), host: t.url.host },
    ...(https ? t.tls ?? { rejectUnauthorized: false } : {}),
  };
  if (t.connect) {
    const connect = t.connect;
    opts.createConnection = (_o: unknown, cb: (err: Error | null, s?: Duplex) => void) => {
      Promise.resolve(connect(opts.host as string, opts.port as number)).then(
        (raw) => cb(null, https ? tlsConnect({ socket: raw as never, ...(t.tls ?? {}) }) : raw),
        (e: Error) => cb(e),
      );
      return undefined;
    };
  } else {
    opts.agent = false;
  }
  await new Promise<void>((resolve, reject) => {
    const out = (https ? httpsRequest : httpRequest)(opts as never, (res: IncomingMessage) => {
      const h: Record<string, string | string[]> = {};
      for (const [k, v] of Object.entries(res.headers)) if (v !== undefined && !HOP.has(k)) h[k] = v;
      ctx.res.writeHead(res.statusCode ?? 502, h);
      // Passed on at once, as it came: HTTP/1 would hold it back until the first body bytes.
      ctx.res.flushHeaders?.();
      res.on('data', (c: Buffer) => {
        if (!ctx.res.write(c)) {
          res.pause();
          ctx.res.once('drain', () => res.resume());
        }
      });
      res.on('end', () => {
        ctx.res.end();
        resolve();
      });
      res.on('error', () => {
        ctx.res.end();
        resolve();
      });
    });
    out.on('error', (e) => reject(internalError(new Error(`error trying to reach service: ${e.message}`))));
    ctx.res.once('close', () => out.destroy());
    const req = ctx.req as { pipe?: (d: NodeJS.WritableStream) => void };
    if (ctx.method === 'GET' || ctx.method === 'HEAD' || !req.pipe) out.end();
    else req.pipe(out);
  });
}

function podIp(pod: KObject): string {
  const st = (pod as { status?: { podIP?: string; podIPs?: { ip: string }[] } }).status;
  return st?.podIPs?.[0]?.ip ?? st?.podIP ?? '';
}

/** nodes/NAME/proxy/…: the node's kubelet (or another port of the node's address). */
export function nodeProxyHandler(d: StreamingDeps): ConnectHandler {
  return async (ctx) => {
    const { scheme, name, port } = splitSchemeNamePort(ctx.info.name);
    const node = await d.getNode(name);
    if (!node) throw notFound({ group: '', resource: 'nodes' }, name);
    const loc = kubeletLocation(node, d.kubelet);
    const kubeletPort = !port || Number(port) === loc.port;
    const target = { host: loc.host, port: port ? Number(port) : loc.port };
    const useScheme = scheme || (kubeletPort ? 'https' : 'http');
    await forward(ctx, {
      url: new URL(`${useScheme}://${hostPort(target)}${proxiedPath(ctx)}`),
      tls: kubeletPort ? kubeletTls(d.kubelet) : undefined,
      connect: d.kubelet.connect,
    });
  };
}

/** pods/NAME[:PORT]/proxy/…: the pod's IP, on the given port or the first declared one. */
export function podProxyHandler(d: StreamingDeps): ConnectHandler {
  return async (ctx) => {
    const { scheme, name, port: p } = splitSchemeNamePort(ctx.info.name);
    const pod = await d.getPod(ctx.info.namespace, name);
    if (!pod) throw notFound({ group: '', resource: 'pods' }, name);
    let port = p;
    if (!port) {
      for (const c of (pod as { spec?: { containers?: { ports?: { containerPort: number }[] }[] } }).spec?.containers ?? []) {
        if (c.ports?.length) {
          port = String(c.ports[0]!.containerPort);
          break;
        }
      }
    }
    const ip = podIp(pod);
    if (!ip || ip.startsWith('127.') || ip === '::1' || ip === '0.0.0.0') throw badRequest('address not allowed');
    const host = ip.includes(':') ? `[${ip}]` : ip;
    await forward(ctx, { url: new URL(`${scheme || 'http'}://${host}${port ? `:${port}` : ''}${proxiedPath(ctx)}`) });
  };
}

/** services/NAME[:PORT]/proxy/…: a ready endpoint of the service's port (by name or number). */
export function serviceProxyHandler(d: StreamingDeps): ConnectHandler {
  return async (ctx) => {
    const { scheme, name, port: portRef } = splitSchemeNamePort(ctx.info.name);
    const ns = ctx.info.namespace;
    const svc = await d.getService?.(ns, name);
    if (!svc) throw notFound({ group: '', resource: 'services' }, name);
    const svcPorts = (svc as { spec?: { ports?: { name?: string; port: number; targetPort?: number | string }[] } }).spec?.ports ?? [];
    const sp = portRef ? svcPorts.find((x) => x.name === portRef || String(x.port) === portRef) : svcPorts[0];
    if (!sp) throw serviceUnavailable(`no endpoints available for service "${name}"`);
    const ep = await d.getEndpoints?.(ns, name);
    const subsets = (ep as { subsets?: { addresses?: { ip: string }[]; ports?: { name?: string; port: number }[] }[] } | undefined)?.subsets ?? [];
    for (const s of subsets) {
      const port = (s.ports ?? []).find((x) => (sp.name ? x.name === sp.name : true));
      const addr = s.addresses?.[0];
      if (port && addr) {
        const host = addr.ip.includes(':') ? `[${addr.ip}]` : addr.ip;
        await forward(ctx, { url: new URL(`${scheme || 'http'}://${host}:${port.port}${proxiedPath(ctx)}`) });
        return;
      }
    }
    throw serviceUnavailable(`no endpoints available for service "${name}"`);
  };
}
