// pods/log, pods/exec, pods/attach and pods/portforward: upstream's LogREST, ExecREST, AttachREST
// and PortForwardREST. Each finds the pod and its node, checks the container as upstream's
// validateContainer does, and forwards to the node's kubelet — logs as a streamed text/plain GET,
// the others by proxying the client's upgraded connection as it is (WebSocket v5.channel.k8s.io,
// SPDY/3.1, SPDY/3.1+portforward.k8s.io: the kubelet negotiates with the client).
import { badRequest, field, invalid, methodNotSupported, notFound, type FieldError } from '../../api/errors.ts';
import type { KObject } from '../../api/meta.ts';
import type { Ctx } from '../http.ts';
import { forwardedUpgradeHeaders, proxyUpgrade } from '../../streaming/upgrade.ts';
import { checkKubeletResponse, hostPort, kubeletGet, kubeletLocation, kubeletTls, readErrorBody, type KubeletClientConfig } from './kubelet-client.ts';
import { takeUpgrade, upgradeOf } from './upgrade-response.ts';
import { internalError } from '../../api/errors.ts';

export interface StreamingDeps {
  /** The pod, read consistently (e.g. `(await registry.must('', 'pods').current(ns, name))?.obj`). */
  getPod(namespace: string, name: string): Promise<KObject | undefined>;
  /** The node, read consistently. */
  getNode(name: string): Promise<KObject | undefined>;
  /** For services/proxy: the Service and its Endpoints. */
  getService?(namespace: string, name: string): Promise<KObject | undefined>;
  getEndpoints?(namespace: string, name: string): Promise<KObject | undefined>;
  kubelet: KubeletClientConfig;
}

export type ConnectHandler = (ctx: Ctx) => Promise<void>;

const PODS = { group: '', resource: 'pods' };
const NODES = { group: '', resource: 'nodes' };

interface PodSpecLite {
  nodeName?: string;
  containers?: { name: string }[];
  initContainers?: { name: string }[];
  ephemeralContainers?: { name: string }[];
}

export async function mustPod(d: StreamingDeps, ns: string, name: string): Promise<KObject & { spec?: PodSpecLite }> {
  const pod = await d.getPod(ns, name);
  if (!pod) throw notFound(PODS, name);
  return pod as KObject & { spec?: PodSpecLite };
}

/** upstream's validateContainer: the named container must exist; with none named, a pod's only container. */
export function validateContainer(container: string, pod: KObject & { spec?: PodSpecLite }): string {
  const spec = pod.spec ?? {};
  const name = pod.metadata?.name ?? '';
  const all = [...(spec.containers ?? []), ...(spec.initContainers ?? []), ...(spec.ephemeralContainers ?? [])];
  if (!container) {
    const cs = spec.containers ?? [];
    if (cs.length === 1) return cs[0]!.name;
    if (cs.length === 0) throw badRequest(`a container name must be specified for pod ${name}`);
    throw badRequest(`a container name must be specified for pod ${name}, choose one of: [${all.map((c) => c.name).join(' ')}]`);
  }
  if (!all.some((c) => c.name === container)) throw badRequest(`container ${container} is not valid for pod ${name}`);
  return container;
}

async function nodeLocation(d: StreamingDeps, nodeName: string) {
  const node = await d.getNode(nodeName);
  if (!node) throw notFound(NODES, nodeName);
  return kubeletLocation(node, d.kubelet);
}

/** Go's strconv error text, as upstream's query decoding reports it. */
function parseIntParam(v: string): number {
  if (!/^[+-]?\d+$/.test(v)) throw badRequest(`strconv.ParseInt: parsing ${JSON.stringify(v)}: invalid syntax`);
  return Number(v);
}

function parseBoolParam(v: string): boolean {
  if (['1', 't', 'T', 'TRUE', 'true', 'True'].includes(v)) return true;
  if (['0', 'f', 'F', 'FALSE', 'false', 'False'].includes(v)) return false;
  throw badRequest(`strconv.ParseBool: parsing ${JSON.stringify(v)}: invalid syntax`);
}

function boolParam(q: URLSearchParams, k: string, dflt: boolean): boolean {
  const v = q.get(k);
  return v === null || v === '' ? dflt : parseBoolParam(v);
}

// ------------------------------------------------------------------------------ pods/log

interface PodLogOptions {
  container: string;
  follow: boolean;
  previous: boolean;
  timestamps: boolean;
  sinceSeconds?: number;
  sinceTime?: string;
  tailLines?: number;
  limitBytes?: number;
}

function podLogOptions(q: URLSearchParams, name: string): PodLogOptions {
  const int = (k: string) => {
    const v = q.get(k);
    return v === null || v === '' ? undefined : parseIntParam(v);
  };
  const o: PodLogOptions = {
    container: q.get('container') ?? '',
    follow: boolParam(q, 'follow', false),
    previous: boolParam(q, 'previous', false),
    timestamps: boolParam(q, 'timestamps', false),
    sinceSeconds: int('sinceSeconds'),
    tailLines: int('tailLines'),
    limitBytes: int('limitBytes'),
  };
  const st = q.get('sinceTime');
  if (st) {
    const ms = Date.parse(st);
    if (!/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(\.\d+)?(Z|[+-]\d\d:\d\d)$/i.test(st) || Number.isNaN(ms)) {
      throw badRequest(`parsing time ${JSON.stringify(st)} as "2006-01-02T15:04:05Z07:00": cannot parse ${JSON.stringify(st)} as "2006"`);
    }
    // metav1.Time has second precision on the wire (RFC 3339), as upstream re-encodes it.
    o.sinceTime = new Date(Math.floor(ms / 1000) * 1000).toISOString().replace(/\.000Z$/, 'Z');
  }
  const errs: FieldError[] = [];
  if (o.tailLines !== undefined && o.tailLines < 0) errs.push(field.invalid('tailLines', o.tailLines, 'must be greater than or equal to 0'));
  if (o.limitBytes !== undefined && o.limitBytes < 1) errs.push(field.invalid('limitBytes', o.limitBytes, 'must be greater than 0'));
  if (o.sinceSeconds !== undefined && o.sinceTime !== undefined) errs.push(field.forbidden('', 'at most one of `sinceTime` or `sinceSeconds` may be specified'));
  else if (o.sinceSeconds !== undefined && o.sinceSeconds < 1) errs.push(field.invalid('sinceSeconds', o.sinceSeconds, 'must be greater than 0'));
  if (errs.length) throw invalid({ group: '', kind: 'PodLogOptions' }, name, errs);
  return o;
}

/** GET pods/NAME/log: the container's log from its kubelet, streamed as text/plain. */
export function podLogHandler(d: StreamingDeps): ConnectHandler {
  return async (ctx) => {
    const { namespace, name } = ctx.info;
    if (ctx.method !== 'GET') throw methodNotSupported({ group: '', resource: 'pods/log' }, ctx.info.verb);
    const o = podLogOptions(ctx.query, name);
    const pod = await mustPod(d, namespace, name);
    const container = validateContainer(o.container, pod);
    const nodeName = pod.spec?.nodeName;
    const res = ctx.res;
    if (!nodeName) {
      // Not scheduled yet: upstream streams nothing.
      if (ctx.local) return ctx.local.reply(200, '', { 'content-type': 'text/plain' });
      res.writeHead(200, { 'content-type': 'text/plain' });
      res.end();
      return;
    }
    const loc = await nodeLocation(d, nodeName);
    const p = new URLSearchParams();
    if (o.follow) p.set('follow', 'true');
    if (o.previous) p.set('previous', 'true');
    if (o.timestamps) p.set('timestamps', 'true');
    if (o.sinceSeconds !== undefined) p.set('sinceSeconds', String(o.sinceSeconds));
    if (o.sinceTime !== undefined) p.set('sinceTime', o.sinceTime);
    if (o.tailLines !== undefined) p.set('tailLines', String(o.tailLines));
    if (o.limitBytes !== undefined) p.set('limitBytes', String(o.limitBytes));
    const qs = p.toString();
    const url = new URL(`https://${hostPort(loc)}/containerLogs/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/${encodeURIComponent(container)}${qs ? `?${qs}` : ''}`);
    const ac = new AbortController();
    if (!ctx.local) res.once('close', () => ac.abort());
    let kres;
    try {
      kres = await kubeletGet(d.kubelet, url, ac.signal);
    } catch (e) {
      throw internalError(new Error(`Get ${JSON.stringify(url.toString())}: ${(e as Error).message}`));
    }
    const code = kres.statusCode ?? 500;
    if (code < 200 || code > 206) {
      const err = checkKubeletResponse(code, await readErrorBody(kres), { group: '', resource: 'pods/log' }, name);
      if (err) throw err;
    }
    if (ctx.local) {
      const chunks: Buffer[] = [];
      for await (const c of kres) chunks.push(c as Buffer);
      ctx.local.reply(200, Buffer.concat(chunks).toString('utf8'), { 'content-type': 'text/plain' });
      return;
    }
    res.writeHead(200, { 'content-type': 'text/plain', 'cache-control': 'no-cache, private' });
    // The head now, as the kubelet sent its own: HTTP/1 would hold it back until the container's
    // first output, and a follower of a quiet container would wait without an answer.
    res.flushHeaders?.();
    await new Promise<void>((resolve) => {
      kres.on('data', (c: Buffer) => {
        if (!res.write(c)) {
          kres.pause();
          res.once('drain', () => kres.resume());
        }
      });
      kres.on('end', () => {
        res.end();
        resolve();
      });
      kres.on('error', () => {
        res.end();
        resolve();
      });
      res.once('close', () => {
        kres.destroy();
        resolve();
      });
    });
  };
}

// ------------------------------------------------------------------------------ exec / attach / portforward

/** Proxies the request's upgraded connection to a kubelet URL, keeping the negotiated subprotocol. */
async function proxyToKubelet(ctx: Ctx, d: StreamingDeps, url: URL): Promise<void> {
  const up = upgradeOf(ctx);
  if (!up) throw badRequest('Upgrade request required');
  const raw = (ctx.req as { rawHeaders?: string[] }).rawHeaders ?? [];
  const headers = forwardedUpgradeHeaders(raw);
  headers.host = url.host;
  try {
    await proxyUpgrade(up.socket, up.head, { url, method: ctx.method, headers, tls: kubeletTls(d.kubelet), connect: d.kubelet.connect });
  } catch (e) {
    throw internalError(new Error(`error dialing backend: ${(e as Error).message}`));
  }
  takeUpgrade(ctx);
}

function kubeletStreamUrl(loc: { host: string; port: number }, path: string, params: URLSearchParams): URL {
  const qs = params.toString();
  return new URL(`https://${hostPort(loc)}${path}${qs ? `?${qs}` : ''}`);
}

/** pods/exec and pods/attach (GET or POST, upgraded). */
export function podRemoteCommandHandler(d: StreamingDeps, kind: 'exec' | 'attach'): ConnectHandler {
  return async (ctx) => {
    if (ctx.method !== 'GET' && ctx.method !== 'POST') throw methodNotSupported({ group: '', resource: `pods/${kind}` }, ctx.info.verb);
    const { namespace, name } = ctx.info;
    const q = ctx.query;
    const stdin = boolParam(q, 'stdin', false);
    const stdout = boolParam(q, 'stdout', true);
    const stderr = boolParam(q, 'stderr', true);
    const tty = boolParam(q, 'tty', false);
    const pod = await mustPod(d, namespace, name);
    const container = validateContainer(q.get('container') ?? '', pod);
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
    if (!upgradeOf(ctx)) throw badRequest('Upgrade request required');
    const loc = await nodeLocation(d, nodeName);
    // The kubelet's parameter names (upstream's streamParams): input/output/error/tty = 1.
    const p = new URLSearchParams();
    if (kind === 'exec') for (const c of q.getAll('command')) p.append('command', c);
    if (stdin) p.set('input', '1');
    if (stdout) p.set('output', '1');
    if (stderr) p.set('error', '1');
    if (tty) p.set('tty', '1');
    const path = `/${kind}/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}/${encodeURIComponent(container)}`;
    await proxyToKubelet(ctx, d, kubeletStreamUrl(loc, path, p));
  };
}

/** pods/portforward (GET or POST, upgraded). */
export function podPortForwardHandler(d: StreamingDeps): ConnectHandler {
  return async (ctx) => {
    if (ctx.method !== 'GET' && ctx.method !== 'POST') throw methodNotSupported({ group: '', resource: 'pods/portforward' }, ctx.info.verb);
    const { namespace, name } = ctx.info;
    const ports = ctx.query.getAll('ports').flatMap((v) => v.split(',')).filter(Boolean).map((v) => {
      const n = parseIntParam(v.trim());
      if (n < 1 || n > 65535) throw invalid({ group: '', kind: 'PodPortForwardOptions' }, name, [field.invalid('ports', n, 'must be between 1 and 65535, inclusive')]);
      return n;
    });
    const pod = await mustPod(d, namespace, name);
    const nodeName = pod.spec?.nodeName;
    if (!nodeName) throw badRequest(`pod ${name} does not have a host assigned`);
    if (!upgradeOf(ctx)) throw badRequest('Upgrade request required');
    const loc = await nodeLocation(d, nodeName);
    const p = new URLSearchParams();
    if (ports.length) p.set('port', ports.join(','));
    await proxyToKubelet(ctx, d, kubeletStreamUrl(loc, `/portForward/${encodeURIComponent(namespace)}/${encodeURIComponent(name)}`, p));
  };
}
