// One probe (or HTTP lifecycle hook) run, as upstream's pkg/probe: httpGet, tcpSocket, exec and gRPC
// health checks with a timeout, answering success or failure with upstream's output text (which
// becomes the Unhealthy event's message). The network ones connect from this process, so the
// kubelet must run where pod IPs are reachable (the node's network namespace).
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import type { IncomingMessage } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { connect } from 'node:net';
import type { Container, HTTPGetAction } from '../api-types.ts';
import { isRuntimeError, type Runtime } from '../runtime/runtime.ts';

// Not an ES import: reading node:http's ES namespace loads Node's bundled undici (for its lazy
// WebSocket exports), ~1.5 MiB of an agent's memory that nothing here uses.
const { request: httpRequest } = process.getBuiltinModule('node:http');

export type ProbeOutcome = { result: 'success' | 'failure'; output: string } | { result: 'error'; output: string };

/** What a probe needs from its surroundings. */
export interface ProbeTarget {
  runtime: Runtime;
  containerId: string;
  container: Container;
  /** The address network probes go to when the probe names no host (the pod IP). */
  podIP: string;
}

export const PROBE_USER_AGENT = 'kube-probe/1.33';
const MAX_BODY = 10 * 1024;

/** Resolves a port given by number or by the name of one of the container's ports. */
export function resolvePort(port: number | string, container: Container): number {
  if (typeof port === 'number') return port;
  if (/^\d+$/.test(port)) return Number(port);
  const p = container.ports?.find((x) => x.name === port);
  if (!p) throw new Error(`couldn't find port: ${port} in ${JSON.stringify(container.ports ?? [])}`);
  return p.containerPort;
}

function hostPort(host: string, port: number): string {
  return host.includes(':') ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A Go-like description of a connection error (what upstream's probes print). */
function dialError(host: string, port: number, e: NodeJS.ErrnoException): string {
  const addr = hostPort(host, port);
  switch (e.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${addr}: connect: connection refused`;
    case 'EHOSTUNREACH':
      return `dial tcp ${addr}: connect: no route to host`;
    case 'ENETUNREACH':
      return `dial tcp ${addr}: connect: network is unreachable`;
    case 'ECONNRESET':
      return `read tcp ${addr}: read: connection reset by peer`;
    default:
      return `dial tcp ${addr}: ${e.message}`;
  }
}

export interface HttpGetOptions {
  timeoutMs: number;
  /** Redirects to another host are not followed (upstream answers success with a warning). */
  maxRedirects?: number;
}

/** An HTTP GET as upstream's probe does it: 2xx and 3xx are success; other codes and errors are failures. */
export async function probeHttp(action: HTTPGetAction, container: Container, podIP: string, o: HttpGetOptions): Promise<ProbeOutcome> {
  const scheme = (action.scheme ?? 'HTTP').toLowerCase();
  const host = action.host || podIP;
  let port: number;
  try {
    port = resolvePort(action.port, container);
  } catch (e) {
    return { result: 'error', output: (e as Error).message };
  }
  let path = action.path ?? '';
  if (!path.startsWith('/')) path = `/${path}`;
  const headers: Record<string, string> = { 'User-Agent': PROBE_USER_AGENT, Accept: '*/*' };
  for (const h of action.httpHeaders ?? []) headers[h.name] = h.value;
  let url = `${scheme}://${hostPort(host, port)}${path}`;
  const deadline = Date.now() + o.timeoutMs;
  for (let redirects = 0; ; redirects++) {
    const r = await httpGetOnce(url, headers, Math.max(1, deadline - Date.now()));
    if ('error' in r) return { result: 'failure', output: r.error };
    if (r.status >= 300 && r.status < 400 && r.location && redirects < (o.maxRedirects ?? 10)) {
      const next = new URL(r.location, url);
      if (next.hostname.replace(/^\[|\]$/g, '') !== host) return { result: 'success', output: `Probe terminated redirects, Response body: ${r.body}` };
      url = next.toString();
      continue;
    }
    if (r.status >= 200 && r.status < 400) return { result: 'success', output: r.body };
    return { result: 'failure', output: `HTTP probe failed with statuscode: ${r.status}` };
  }
}

function httpGetOnce(url: string, headers: Record<string, string>, timeoutMs: number): Promise<{ status: number; body: string; location?: string } | { error: string }> {
  return new Promise((resolve) => {
    const u = new URL(url);
    const host = u.hostname.replace(/^\[|\]$/g, '');
    const port = Number(u.port || (u.protocol === 'https:' ? 443 : 80));
    const hdrs = { ...headers };
    const hostHeader = Object.keys(hdrs).find((k) => k.toLowerCase() === 'host');
    const opts = { method: 'GET', headers: hdrs, agent: false as const, rejectUnauthorized: false, timeout: timeoutMs, ...(hostHeader ? { setHost: false } : {}) };
    let done = false;
    const finish = (v: { status: number; body: string; location?: string } | { error: string }): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      resolve(v);
    };
    const req = (u.protocol === 'https:' ? httpsRequest : httpRequest)(u, opts, (res: IncomingMessage) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (d: string) => {
        if (body.length < MAX_BODY) body += d;
      });
      res.on('end', () => finish({ status: res.statusCode ?? 0, body: body.slice(0, MAX_BODY), location: res.headers.location }));
      res.on('error', () => finish({ status: res.statusCode ?? 0, body }));
    });
    const timer = setTimeout(() => {
      finish({ error: `Get "${url}": context deadline exceeded (Client.Timeout exceeded while awaiting headers)` });
      req.destroy();
    }, timeoutMs);
    req.on('error', (e: NodeJS.ErrnoException) => finish({ error: `Get "${url}": ${dialError(host, port, e)}` }));
    req.end();
  });
}

/** A TCP connect within the timeout. */
export function probeTcp(host: string, port: number, timeoutMs: number): Promise<ProbeOutcome> {
  return new Promise((resolve) => {
    const s = connect({ host, port });
    let done = false;
    const finish = (v: ProbeOutcome): void => {
      if (done) return;
      done = true;
      clearTimeout(timer);
      s.destroy();
      resolve(v);
    };
    const timer = setTimeout(() => finish({ result: 'failure', output: `dial tcp ${hostPort(host, port)}: i/o timeout` }), timeoutMs);
    s.on('connect', () => finish({ result: 'success', output: '' }));
    s.on('error', (e: NodeJS.ErrnoException) => finish({ result: 'failure', output: dialError(host, port, e) }));
  });
}

/** A command in the container: exit 0 is success, anything else a failure with the output. */
export async function probeExec(runtime: Runtime, containerId: string, command: string[], timeoutSeconds: number): Promise<ProbeOutcome> {
  try {
    const r = await runtime.execSync(containerId, command, timeoutSeconds);
    const output = Buffer.concat([r.stdout, r.stderr]).toString('utf8');
    return r.exitCode === 0 ? { result: 'success', output } : { result: 'failure', output };
  } catch (e) {
    if (isRuntimeError(e, 'DeadlineExceeded')) return { result: 'failure', output: `command ${JSON.stringify(command.join(' '))} timed out` };
    return { result: 'error', output: (e as Error).message };
  }
}

let healthService: grpc.ServiceClientConstructor | undefined;
function healthClient(): grpc.ServiceClientConstructor {
  if (!healthService) {
    const def = protoLoader.fromJSON(
      {
        nested: {
          grpc: { nested: { health: { nested: { v1: { nested: {
            HealthCheckRequest: { fields: { service: { type: 'string', id: 1 } } },
            HealthCheckResponse: {
              fields: { status: { type: 'ServingStatus', id: 1 } },
              nested: { ServingStatus: { values: { UNKNOWN: 0, SERVING: 1, NOT_SERVING: 2, SERVICE_UNKNOWN: 3 } } },
            },
            Health: { methods: { Check: { requestType: 'HealthCheckRequest', responseType: 'HealthCheckResponse', comment: '' } } },
          } } } } } },
        },
      },
      { enums: String, defaults: true },
    );
    const pkg = grpc.loadPackageDefinition(def) as unknown as { grpc: { health: { v1: { Health: grpc.ServiceClientConstructor } } } };
    healthService = pkg.grpc.health.v1.Health;
  }
  return healthService;
}

/** grpc.health.v1.Health/Check, as upstream's gRPC probe: SERVING is success. */
export function probeGrpc(host: string, port: number, service: string, timeoutMs: number): Promise<ProbeOutcome> {
  const Client = healthClient();
  const addr = hostPort(host, port);
  const client = new Client(addr, grpc.credentials.createInsecure());
  const deadline = new Date(Date.now() + timeoutMs);
  return new Promise((resolve) => {
    const done = (v: ProbeOutcome): void => {
      client.close();
      resolve(v);
    };
    client.waitForReady(deadline, (err?: Error) => {
      if (err) {
        done({ result: 'failure', output: `timeout: failed to connect service ${JSON.stringify(addr)} within ${timeoutMs / 1000}s: context deadline exceeded` });
        return;
      }
      (client as unknown as { Check(req: object, opts: object, cb: (e: grpc.ServiceError | null, r?: { status: string }) => void): void }).Check({ service }, { deadline }, (e, r) => {
        if (e) {
          if (e.code === grpc.status.DEADLINE_EXCEEDED) done({ result: 'failure', output: `timeout: health rpc did not complete within ${timeoutMs / 1000}s` });
          else done({ result: 'failure', output: `error: health rpc probe failed: rpc error: code = ${grpc.status[e.code]} desc = ${e.details}` });
          return;
        }
        if (r?.status === 'SERVING') done({ result: 'success', output: '' });
        else done({ result: 'failure', output: `service unhealthy (responded with ${JSON.stringify(r?.status ?? 'UNKNOWN')})` });
      });
    });
  });
}
