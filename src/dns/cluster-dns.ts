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
import { ClusterRecords } from './records.ts';
import { Resolver, type PodMode } from './resolve.ts';
import { DnsServer, type DnsServerStats, type ListenAddress } from './server.ts';

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
}

export interface ClusterDns {
  /** The port served on. */
  readonly port: number;
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
  const resolver = new Resolver(records, { zone: o.clusterDomain.replace(/\.$/, ''), ttl: o.ttl ?? 5, podMode, localIPs });
  // never forward to ourselves (resolv.conf naming the cluster DNS would loop); a listener on port 0
  // is checked against the port it gets, below
  const upstreams = o.upstreamResolvers.filter((u) => !o.listen.some((l) => l.host === u.host && l.port === u.port && l.port !== 0));
  if (!upstreams.length) log('no upstream resolvers: names outside the cluster get SERVFAIL');
  const forwarder = new Forwarder({ upstreams, log, timeoutMs: o.upstreamTimeoutMs });
  const server = new DnsServer({ listen: o.listen, resolver, forwarder, log });

  const ownFactory = !o.informers;
  const informers = o.informers ?? new SharedInformerFactory(o.client, { log });
  const nsKey = (obj: KObject) => [obj.metadata.namespace ?? '', obj.metadata.name ?? ''] as const;
  informers.informerFor('', 'namespaces').addEventHandler({
    onAdd: (n) => records.setNamespace(n.metadata.name ?? ''),
    onUpdate: (_o, n) => records.setNamespace(n.metadata.name ?? ''),
    onDelete: (n) => records.deleteNamespace(n.metadata.name ?? ''),
  });
  informers.informerFor('', 'services').addEventHandler({
    onAdd: (s) => records.setService(s),
    onUpdate: (_o, s) => records.setService(s),
    onDelete: (s) => records.deleteService(...nsKey(s)),
  });
  informers.informerFor('discovery.k8s.io', 'endpointslices').addEventHandler({
    onAdd: (s) => records.setEndpointSlice(s),
    onUpdate: (_o, s) => records.setEndpointSlice(s),
    onDelete: (s) => records.deleteEndpointSlice(...nsKey(s)),
  });
  if (podMode === 'verified') {
    informers.informerFor('', 'pods').addEventHandler({
      onAdd: (p) => records.setPod(p),
      onUpdate: (_o, p) => records.setPod(p),
      onDelete: (p) => records.deletePod(...nsKey(p)),
    });
  }

  let port: number;
  try {
    port = await server.start();
  } catch (e) {
    forwarder.close();
    if (ownFactory) informers.shutdown();
    throw e;
  }
  informers.start();
  const abort = new AbortController();
  const synced = informers.waitForCacheSync(abort.signal).then((ok) => {
    if (!ok) return;
    records.synced = true;
    records.generation++;
    log(`serving ${o.clusterDomain} on ${o.listen.map((l) => `${l.host}:${port}`).join(', ')} (udp, tcp); forwarding to ${upstreams.map((u) => `${u.host}:${u.port}`).join(', ') || 'nothing'}`);
  });
  return {
    port,
    stats: server.stats,
    records,
    ready: () => synced,
    async stop() {
      abort.abort();
      await server.stop();
      forwarder.close();
      if (ownFactory) informers.shutdown();
    },
  };
}
