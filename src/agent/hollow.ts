// Hollow nodes (`rudder sim`): many kubelets in one process with the simulated runtime, for scale
// tests and benchmarks. Each is a real node of the cluster — its own Node, Lease, pod workers and
// status writes, acting as system:node:<name> — and they share what can be shared:
//
// - identity: with a join token each node gets its own client certificate through the bootstrap
//   flow (kept under <data-dir>/sim/<node>/agent, reused on the next start); with a kubeconfig
//   whose user may impersonate nodes (the admin's), every node speaks through that one connection
//   as itself (Impersonate-User: system:node:<name>, Impersonate-Group: system:nodes), so Node
//   authorization and NodeRestriction apply exactly as to a real node;
// - reads: one Service watch feeds every kubelet; one Pod watch indexed by spec.nodeName feeds every
//   kubelet when the reader may list all pods (the kubeconfig's user) — with certificates only, the
//   Node authorizer lets a node watch only its own pods, so each keeps its own pod watch.
//
// Hollow nodes have no routes, no containers, no kubelet API and no serving certificate. Their
// addresses are loopback addresses (127.1.0.0/16 by default), so nothing aimed at one ever leaves
// the machine.
import { join } from 'node:path';
import type { KObject } from '../api/meta.ts';
import type { Transport, TransportRequest, TransportResponse, WatchHandle, WatchHandlers } from '../api/transport.ts';
import { Client } from '../client/client.ts';
import { realClock, type Clock } from '../client/clock.ts';
import type { KubeletConfig } from '../kubelet/config.ts';
import { startNode, type RunningAgent } from './agent.ts';
import { bootstrapNodeCredentials, CLIENT_USAGES, httpsTransportFactory, KUBELET_CLIENT_SIGNER, type TransportFactory } from './bootstrap.ts';
import { CertificateManager, type CertPair } from './cert-manager.ts';
import { discoverCa } from './discovery.ts';
import { parseJoinToken } from './join-token.ts';
import { RotatingTransport } from './rotating-transport.ts';
import { FeedTransport, podRoute, serviceRoute, SharedFeed, type FeedRoute } from './shared-feed.ts';

/** A transport that acts as another user through impersonation headers. */
export class ImpersonatingTransport implements Transport {
  readonly #inner: Transport;
  readonly #headers: Record<string, string>;
  constructor(inner: Transport, user: string, group: string) {
    this.#inner = inner;
    this.#headers = { 'impersonate-user': user, 'impersonate-group': group };
  }
  #with(req: TransportRequest): TransportRequest {
    return { ...req, headers: { ...(req.headers ?? {}), ...this.#headers } };
  }
  request(req: TransportRequest): Promise<TransportResponse> {
    return this.#inner.request(this.#with(req));
  }
  watch(req: TransportRequest, h: WatchHandlers): WatchHandle {
    return this.#inner.watch(this.#with(req), h);
  }
  /** The shared connection belongs to the sim, not to one node. */
  async close(): Promise<void> {}
}

/** A view of a transport that its user does not own: closing it leaves the transport open. */
class KeepOpen implements Transport {
  readonly #inner: Transport;
  constructor(inner: Transport) {
    this.#inner = inner;
  }
  request(req: TransportRequest): Promise<TransportResponse> {
    return this.#inner.request(req);
  }
  watch(req: TransportRequest, h: WatchHandlers): WatchHandle {
    return this.#inner.watch(req, h);
  }
  async close(): Promise<void> {}
}

/** The i-th hollow node's address: 127.1.0.1, 127.1.0.2, … (loopback, never leaves the machine). */
export function hollowNodeIP(i: number): string {
  const n = i + 1;
  return `127.1.${(n >> 8) & 255}.${n & 255}`;
}

export function hollowNodeName(prefix: string, i: number, count: number): string {
  return `${prefix}-${String(i).padStart(String(Math.max(count - 1, 0)).length, '0')}`;
}

export interface HollowOptions {
  server: string;
  /** Join token: each node bootstraps its own certificate. */
  token?: string;
  /** Or a transport whose user may impersonate nodes and list all pods (the sim's kubeconfig). */
  shared?: Transport;
  nodes: number;
  prefix?: string;
  dataDir: string;
  clusterDns?: string[];
  clusterCidr?: string;
  serviceCidr?: string;
  /** Nodes joining at a time (default 16). */
  concurrency?: number;
  transportFor?: TransportFactory;
  kubelet?: Partial<KubeletConfig>;
  clock?: Clock;
  log?: (msg: string) => void;
  /** Called as each node's kubelet has started. */
  onNode?: (name: string, started: number) => void;
}

export interface HollowNodes {
  names: string[];
  agents: RunningAgent[];
  podFeed?: SharedFeed;
  serviceFeed: SharedFeed;
  stop(): Promise<void>;
}

async function inBatches<T>(items: T[], n: number, f: (x: T) => Promise<void>): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) await f(items[next++]!);
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

export async function startHollowNodes(o: HollowOptions): Promise<HollowNodes> {
  if (!o.token && !o.shared) throw new Error('hollow nodes need a join token or a shared transport');
  const log = o.log ?? (() => {});
  const clock = o.clock ?? realClock;
  const prefix = o.prefix ?? 'hollow-node';
  const names = Array.from({ length: o.nodes }, (_, i) => hollowNodeName(prefix, i, o.nodes));
  const transportFor = o.transportFor ?? httpsTransportFactory;
  const joinToken = o.token ? parseJoinToken(o.token) : undefined;
  const serverCaPem = joinToken ? await discoverCa(o.server, joinToken.caHash) : undefined;
  const stops: (() => Promise<void> | void)[] = [];
  const agents: RunningAgent[] = [];
  const stopAll = async () => {
    for (const s of stops.splice(0).reverse()) await Promise.resolve(s()).catch((e) => log(`stopping: ${(e as Error).message}`));
  };

  // Each node's own connection, as itself.
  const nodeTransport = async (name: string, dir: string): Promise<{ transport: Transport; clientCert?: CertificateManager }> => {
    if (o.shared) return { transport: new ImpersonatingTransport(o.shared, `system:node:${name}`, 'system:nodes') };
    const creds = await bootstrapNodeCredentials({ server: o.server, joinToken: joinToken!, nodeName: name, dataDir: dir, transportFor, serverCaPem, clock });
    const make = (p: CertPair) => transportFor({ server: o.server, caPem: creds.serverCaPem, certPem: p.certPem, keyPem: p.keyPem });
    const transport = new RotatingTransport(make(creds));
    const client = new Client(transport);
    const clientCert = new CertificateManager({
      name: `${name} client`,
      client: () => client,
      subject: () => ({ commonName: `system:node:${name}`, organizations: ['system:nodes'] }),
      signerName: KUBELET_CLIENT_SIGNER,
      usages: CLIENT_USAGES,
      certFile: creds.paths.cert,
      keyFile: creds.paths.key,
      initial: creds,
      onRotate: (p) => transport.rotate(make(p)),
      clock,
      log,
    });
    clientCert.start();
    return { transport, clientCert };
  };

  try {
    // The first node's identity reads the shared feeds when there is no shared reader.
    const first = await nodeTransport(names[0]!, join(o.dataDir, 'sim', names[0]!));
    // Closed last: the feeds read through it until they stop.
    if (!o.shared) stops.push(() => first.transport.close());
    const reader = new Client(o.shared ?? first.transport);
    const serviceFeed = new SharedFeed({ client: reader, group: '', plural: 'services', keyOf: () => '', clock, log });
    const podFeed = o.shared ? new SharedFeed({ client: reader, group: '', plural: 'pods', keyOf: (p: KObject) => ((p as { spec?: { nodeName?: string } }).spec?.nodeName || undefined), clock, log }) : undefined;
    for (const f of [serviceFeed, podFeed]) {
      if (!f) continue;
      f.start();
      stops.push(() => f.stop());
    }
    await Promise.all([serviceFeed.waitForSync(), podFeed?.waitForSync()]);
    const routes: FeedRoute[] = [serviceRoute(serviceFeed), ...(podFeed ? [podRoute(podFeed)] : [])];

    const startOne = async (i: number) => {
      const name = names[i]!;
      const dir = join(o.dataDir, 'sim', name);
      const own = i === 0 ? { ...first, transport: new KeepOpen(first.transport) } : await nodeTransport(name, dir);
      const t0 = clock.now();
      const agent = await startNode(
        {
          nodeName: name,
          nodeIPs: [hollowNodeIP(i)],
          dataDir: dir,
          kubeletPort: 10250,
          simulated: true,
          clusterDns: o.clusterDns ?? ['10.43.0.10'],
          resolvConf: '',
          clusterCidr: o.clusterCidr ?? '10.42.0.0/16',
          serviceCidr: o.serviceCidr ?? '10.43.0.0/16',
        },
        new FeedTransport(own.transport, routes),
        {
          servingCertificate: false,
          clock,
          log: (m) => log(`${name}: ${m}`),
          clientCert: own.clientCert,
          onStop: () => own.clientCert?.stop(),
          kubelet: { machine: { cpus: 4, memoryBytes: 16n * 1024n ** 3n, ephemeralStorageBytes: 100n * 1024n ** 3n, hostname: name }, ...o.kubelet },
        },
      );
      agents.push(agent);
      stops.push(() => agent.stop());
      o.onNode?.(name, clock.now() - t0);
    };
    await inBatches(
      names.map((_, i) => i),
      o.concurrency ?? 16,
      startOne,
    );
    return { names, agents, podFeed, serviceFeed, stop: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

/** The shared connection of a sim driven by a kubeconfig. */
export function sharedTransportFromKubeconfig(file: string, userAgent: string): Promise<Transport> {
  return import('../client/https.ts').then((m) => m.httpsTransportFromKubeconfig(file, { userAgent }).transport);
}
