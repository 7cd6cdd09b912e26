// The cluster DNS as one component: informers over Services, EndpointSlices and Namespaces (and
// Pods for `pods verified`) feeding the record store, the resolver, the forwarder to the upstream
// resolvers, and the UDP/TCP server — what every agent runs on its node's address.
//
// Like CoreDNS, it serves at once but answers SERVFAIL instead of NXDOMAIN until its caches have
// synced, so a restarting node never tells a pod that a Service does not exist.
import { readFileSync } from 'node:fs';
import { isIP } from 'node:net';
import type { KObject } from '../api/meta.ts';
import type { Client } from '../client/client.ts';
import { SharedInformerFactory } from '../client/informer.ts';
import { parseResolvConf } from '../kubelet/dns.ts';
import { Forwarder, type Upstream } from './forward.ts';
import { ClusterRecords, applyRecordOp, type RecordOp } from './records.ts';
import { Resolver, type PodMode } from './resolve.ts';
import { DnsServer, type DnsServerStats, type ListenAddress } from './server.ts';
import { startDnsWorkers, sumStats, type DnsWorkerInfo, type DnsWorkers } from './workers.ts';

export interface ClusterDnsOptions {
  client: Client;
  /** Where to serve (UDP and TCP on each); port 0 picks a free port, shared by all. */
  listen: readonly ListenAddress[];
  /** The cluster domain (cluster.local). */
  clusterDomain: string;
  /** Where other names go: host:port pairs, or use upstreamsFromResolvConf(). Empty: SERVFAIL. */
  upstreamResolvers: readonly Upstream[];
  log?: (msg: string) => void;
  /** CoreDNS's `pods` option; k3s (and kubeadm) configure `insecure`. */
  podMode?: PodMode;
  /** Answer TTL in seconds (CoreDNS's default 5). */
  ttl?: number;
  /** Informers to share (the agent's); by default the DNS makes its own. */
  informers?: SharedInformerFactory;
  /** Per upstream try, ms (default 2000). */
  upstreamTimeoutMs?: number;
  /** The addresses this server is published under (NS records); default: the listen hosts. */
  localIPs?: readonly string[];
  /**
   * Serving threads (default 1: in this thread). With more, each thread holds a copy of the
   * records and answers on the shared port (SO_REUSEPORT); the informers stay in this thread.
   * SO_REUSEPORT hashes each client address to one thread: a few busy clients can load one.
   */
  threads?: number;
  /**
   * Processes answering UDP, this one included (default 1). With N > 1, N - 1 child processes
   * hold a copy of the records and read this process's UDP sockets with it: one receive queue,
   * so each query goes to whichever process is free, however few the clients. Each child is
   * ~55-75 MB resident with the launcher's compile cache, ~30 MB more without. TCP stays in this
   * process. Not with `threads` > 1.
   */
  processes?: number;
}

export interface ClusterDns {
  /** The port served on. */
  readonly port: number;
  /** Counters (summed over this thread's server and the serving workers, as they last reported). */
  readonly stats: DnsServerStats;
  readonly records: ClusterRecords;
  /** Resolves once the informers have synced and every serving worker holds their records (answers are complete from then on). */
  ready(): Promise<void>;
  /** Resolves once every serving worker holds the records delivered so far. */
  settled(): Promise<void>;
  /** Each serving thread's or child process's counters, asked for now (none when serving in this thread alone). */
  workers(): Promise<DnsWorkerInfo[]>;
  stop(): Promise<void>;
}

/** The resolvers of a resolv.conf file (port 53), leaving out `exclude` (the DNS's own addresses, which would loop). */
export function upstreamsFromResolvConf(path: string, exclude: readonly string[] = []): Upstream[] {
  const conf = parseResolvConf(readFileSync(path, 'utf8'));
  return conf.nameservers.filter((ns) => isIP(ns) && !exclude.includes(ns)).map((host) => ({ host, port: 53 }));
}

export async function startClusterDNS(o: ClusterDnsOptions): Promise<ClusterDns> {
  const log = (m: string) => (o.log ?? (() => {}))(`dns: ${m}`);
  const records = new ClusterRecords();
  records.synced = false;
  const podMode = o.podMode ?? 'insecure';
  const localIPs = o.localIPs ?? o.listen.map((l) => l.host).filter((h) => isIP(h) && h !== '0.0.0.0' && h !== '::');
  const config = { zone: o.clusterDomain.replace(/\.$/, ''), ttl: o.ttl ?? 5, podMode, localIPs };
  // never forward to ourselves (resolv.conf naming the cluster DNS would loop); a listener on port 0
  // gets a port no upstream can already have
  const upstreams = o.upstreamResolvers.filter((u) => !o.listen.some((l) => l.host === u.host && l.port === u.port && l.port !== 0));
  if (!upstreams.length) log('no upstream resolvers: names outside the cluster get SERVFAIL');
  const threads = Math.max(1, o.threads ?? 1);
  const processes = Math.max(1, o.processes ?? 1);
  if (threads > 1 && processes > 1) throw new Error('cluster DNS: serve with several threads or several processes, not both');

  let pool: DnsWorkers | undefined;
  let server: DnsServer | undefined;
  let forwarder: Forwarder | undefined;
  let port: number;
  const common = { config, upstreams, upstreamTimeoutMs: o.upstreamTimeoutMs, log };
  if (threads > 1) {
    pool = await startDnsWorkers({ ...common, kind: 'thread', count: threads, listen: o.listen });
    port = pool.port;
  } else {
    forwarder = new Forwarder({ upstreams, log, timeoutMs: o.upstreamTimeoutMs });
    server = new DnsServer({ listen: o.listen, resolver: new Resolver(records, config), forwarder, log });
    try {
      port = await server.start();
      if (processes > 1) pool = await startDnsWorkers({ ...common, kind: 'process', count: processes - 1, listen: [], sockets: server.udpSockets });
    } catch (e) {
      await server.stop();
      forwarder.close();
      throw e;
    }
  }
  const emit = (op: RecordOp) => {
    applyRecordOp(records, op);
    pool?.push(op);
  };

  const ownFactory = !o.informers;
  const informers = o.informers ?? new SharedInformerFactory(o.client, { log });
  informers.informerFor('', 'namespaces').addEventHandler({
    onAdd: (n) => emit({ op: 'namespace', name: n.metadata.name ?? '' }),
    onUpdate: () => {},
    onDelete: (n) => emit({ op: 'namespace', name: n.metadata.name ?? '', deleted: true }),
  });
  const kinds: [string, string, 'service' | 'slice' | 'pod'][] = [
    ['', 'services', 'service'],
    ['discovery.k8s.io', 'endpointslices', 'slice'],
  ];
  if (podMode === 'verified') kinds.push(['', 'pods', 'pod']);
  for (const [group, plural, op] of kinds) {
    informers.informerFor<KObject>(group, plural).addEventHandler({
      onAdd: (obj) => emit({ op, obj }),
      onUpdate: (_o, obj) => emit({ op, obj }),
      onDelete: (obj) => emit({ op, obj, deleted: true }),
    });
  }
  informers.start();
  const abort = new AbortController();
  const synced = informers.waitForCacheSync(abort.signal).then((ok) => {
    if (!ok) return;
    emit({ op: 'synced' });
    const serving = processes > 1 ? `${processes} processes` : `${threads} thread${threads > 1 ? 's' : ''}`;
    log(`serving ${o.clusterDomain} on ${o.listen.map((l) => `${l.host}:${port}`).join(', ')} (udp, tcp; ${serving}); forwarding to ${upstreams.map((u) => `${u.host}:${u.port}`).join(', ') || 'nothing'}`);
  });
  return {
    port,
    get stats() {
      return pool ? sumStats([server?.stats, pool.stats()]) : server!.stats;
    },
    records,
    ready: () => synced.then(() => pool?.settled()),
    settled: async () => {
      await pool?.settled();
    },
    workers: async () => (pool ? pool.workers() : []),
    async stop() {
      abort.abort();
      if (ownFactory) informers.shutdown();
      await pool?.stop();
      await server?.stop();
      forwarder?.close();
    },
  };
}
