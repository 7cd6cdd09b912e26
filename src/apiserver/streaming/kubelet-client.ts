// How the API server reaches a node's kubelet: the address from the Node's status (by preferred
// address type), the port from status.daemonEndpoints.kubeletEndpoint, TLS with the API server's
// kubelet-client certificate; and how a kubelet's error answers become API errors (upstream's
// GenericHttpResponseChecker).
import { request as httpsRequest } from 'node:https';
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { connect as tlsConnect } from 'node:tls';
import { StatusError, badRequest, internalError, qualifiedResource, type GroupResource } from '../../api/errors.ts';
import type { KObject } from '../../api/meta.ts';

export interface KubeletClientConfig {
  /** The client certificate and key (PEM) the API server presents to kubelets. */
  cert: string;
  key: string;
  /**
   * PEM CA bundle that signs kubelets' serving certificates. Without it the serving certificate is
   * not verified — upstream's behaviour without --kubelet-certificate-authority.
   */
  ca?: string;
  /**
   * Node address types to use, in order (upstream's --kubelet-preferred-address-types). Default
   * InternalIP, ExternalIP, Hostname — as k3s and kubeadm configure it, since node hostnames need
   * not resolve from the API server.
   */
  preferredAddressTypes?: string[];
  /** The port when a Node reports none; default 10250. */
  defaultPort?: number;
  /** Opens the TCP connection (tests); default a direct connection. */
  connect?: (host: string, port: number) => Duplex | Promise<Duplex>;
}

export const DEFAULT_ADDRESS_TYPES = ['InternalIP', 'ExternalIP', 'Hostname'];

export interface KubeletLocation {
  host: string;
  port: number;
}

/** Where the node's kubelet listens; a 500 (as upstream) when the Node has no usable address. */
export function kubeletLocation(node: KObject, cfg: Pick<KubeletClientConfig, 'preferredAddressTypes' | 'defaultPort'>): KubeletLocation {
  const status = (node as { status?: { addresses?: { type: string; address: string }[]; daemonEndpoints?: { kubeletEndpoint?: { Port?: number } } } }).status;
  const addresses = status?.addresses ?? [];
  let host: string | undefined;
  for (const t of cfg.preferredAddressTypes ?? DEFAULT_ADDRESS_TYPES) {
    host = addresses.find((a) => a.type === t && a.address)?.address;
    if (host) break;
  }
  if (!host) {
    const known = addresses.map((a) => `{${a.type} ${a.address}}`).join(' ');
    throw internalError(new Error(`no preferred addresses found; known addresses: [${known}]`));
  }
  const p = status?.daemonEndpoints?.kubeletEndpoint?.Port;
  return { host, port: p && p > 0 ? p : (cfg.defaultPort ?? 10250) };
}

/** host:port for a URL (IPv6 in brackets). */
export function hostPort(l: KubeletLocation): string {
  return l.host.includes(':') ? `[${l.host}]:${l.port}` : `${l.host}:${l.port}`;
}

/** TLS options for connections to kubelets. */
export function kubeletTls(cfg: KubeletClientConfig): { cert: string; key: string; ca?: string; rejectUnauthorized: boolean } {
  return { cert: cfg.cert, key: cfg.key, ...(cfg.ca ? { ca: cfg.ca } : {}), rejectUnauthorized: !!cfg.ca };
}

/** A GET to a kubelet; resolves with the response (any status) or rejects on connection errors. */
export function kubeletGet(cfg: KubeletClientConfig, url: URL, signal?: AbortSignal, headers: Record<string, string> = {}): Promise<IncomingMessage> {
  return new Promise((resolve, reject) => {
    const tls = kubeletTls(cfg);
    const opts: Record<string, unknown> = {
      method: 'GET',
      host: url.hostname.replace(/^\[|\]$/g, ''),
      port: Number(url.port || 443),
      path: url.pathname + url.search,
      headers,
      ...tls,
      signal,
    };
    if (cfg.connect) {
      const connect = cfg.connect;
      opts.createConnection = (_o: unknown, cb: (err: Error | null, s?: Duplex) => void) => {
        Promise.resolve(connect(opts.host as string, opts.port as number)).then(
          (raw) => cb(null, tlsConnect({ socket: raw as never, ...tls })),
          (e: Error) => cb(e),
        );
        return undefined;
      };
    } else {
      opts.agent = false;
    }
    const req = httpsRequest(opts as never, resolve);
    req.on('error', reject);
    req.end();
  });
}

/** Upstream caps how much of a backend's error body it reads. */
export const MAX_ERROR_BODY = 50_000;

export async function readErrorBody(res: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const c of res) {
    if (size < MAX_ERROR_BODY) chunks.push((c as Buffer).subarray(0, MAX_ERROR_BODY - size));
    size += (c as Buffer).length;
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** upstream's NewGenericServerResponse with an empty verb, as the response checker calls it. */
export function genericServerResponse(code: number, gr: GroupResource, name: string, serverMessage: string): StatusError {
  let reason = 'Unknown';
  let message = `the server responded with the status code ${code} but did not return more information`;
  switch (code) {
    case 409:
      reason = 'Conflict';
      message = 'the server reported a conflict';
      break;
    case 404:
      reason = 'NotFound';
      message = 'the server could not find the requested resource';
      break;
    case 400:
      reason = 'BadRequest';
      message = 'the server rejected our request for an unknown reason';
      break;
    case 401:
      reason = 'Unauthorized';
      message = 'the server has asked for the client to provide credentials';
      break;
    case 403:
      reason = 'Forbidden';
      message = serverMessage;
      break;
    case 405:
      reason = 'MethodNotAllowed';
      message = 'the server does not allow this method on the requested resource';
      break;
    case 422:
      reason = 'Invalid';
      message = 'the server rejected our request due to an error in our request';
      break;
    case 504:
      reason = 'Timeout';
      message = 'the server was unable to return a response in the time allotted, but may still be processing the request';
      break;
    case 429:
      reason = 'TooManyRequests';
      message = 'the server has received too many requests and has asked us to try again later';
      break;
    default:
      if (code >= 500) {
        reason = 'InternalError';
        message = `an error on the server (${JSON.stringify(serverMessage)}) has prevented the request from succeeding`;
      }
  }
  const qr = qualifiedResource(gr);
  message = name ? `${message} ( ${qr} ${name})` : `${message} ( ${qr})`;
  const details: Record<string, unknown> = { kind: gr.resource, name };
  if (gr.group) details.group = gr.group;
  return new StatusError({ reason, code, message, details });
}

/** upstream's GenericHttpResponseChecker: a kubelet's non-2xx answer as an API error. */
export function checkKubeletResponse(code: number, body: string, gr: GroupResource, name: string): StatusError | undefined {
  if (code >= 200 && code <= 206) return undefined;
  if (code === 500) return internalError(new Error(body));
  if (code === 400) return badRequest(body);
  return genericServerResponse(code, gr, name, body);
}
