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
import { startDnsThreads, type DnsThreads } from './threads.ts';

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
   */
  threads?: number;
}

export interface ClusterDns {
  /** The port served on. */
  readonly port: number;
  /** Counters (summed over the serving threads, as last reported). */
  readonly stats: DnsServerStats;
  readonly records: ClusterRecords;
  /** Resolves once the informers have synced (answers are complete from then on). */
  ready(): Promise<void>;
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

  let pool: DnsThreads | undefined;
  let server: DnsServer | undefined;
  let forwarder: Forwarder | undefined;
  let port: number;
  if (threads > 1) {
    pool = await startDnsThreads({ threads, listen: o.listen, config, upstreams, upstreamTimeoutMs: o.upstreamTimeoutMs, log });
    port = pool.port;
  } else {
    forwarder = new Forwarder({ upstreams, log, timeoutMs: o.upstreamTimeoutMs });
    server = new DnsServer({ listen: o.listen, resolver: new Resolver(records, config), forwarder, log });
    try {
      port = await server.start();
    } catch (e) {
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
    log(`serving ${o.clusterDomain} on ${o.listen.map((l) => `${l.host}:${port}`).join(', ')} (udp, tcp; ${threads} thread${threads > 1 ? 's' : ''}); forwarding to ${upstreams.map((u) => `${u.host}:${u.port}`).join(', ') || 'nothing'}`);
  });
  return {
    port,
    get stats() {
      return pool ? pool.stats() : server!.stats;
    },
    records,
    ready: () => synced,
    async stop() {
      abort.abort();
      if (ownFactory) informers.shutdown();
      await server?.stop();
      forwarder?.close();
      await pool?.stop();
    },
  };
}
