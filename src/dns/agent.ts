// The cluster DNS as the agent runs it (AgentHooks.dns): served on the node's addresses, port 53,
// forwarding to the resolvers of --resolv-conf, with this node published as an endpoint of the
// kube-dns Service (created if missing, ClusterIP = --cluster-dns).
//
// Credentials: the node's own identity may not list EndpointSlices or Namespaces nor write in
// kube-system (Node authorizer, upstream's system:node rules). Pass `client` acting as an identity
// holding CLUSTER_DNS_RULES (k3s binds the same to CoreDNS's service account as system:coredns).
import type { Server } from 'node:http';
import type { AgentComponent, AgentHookContext } from '../agent/agent.ts';
import type { Client } from '../client/client.ts';
import { startClusterDNS, upstreamsFromResolvConf, type ClusterDns } from './cluster-dns.ts';
import type { Upstream } from './forward.ts';
import { METRICS_PORT, startDnsEndpointPublisher } from './kube-dns-service.ts';
import type { DnsServerStats } from './server.ts';

// Not `import … from 'node:http'`: an ES import of node:http builds its namespace, which reads the
// module's lazy WebSocket/MessageEvent/CloseEvent exports and so loads Node's bundled undici
// (763 KB of source compiled into the agent, ~1.5 MiB of its RSS) that nothing here uses.
const { createServer } = process.getBuiltinModule('node:http');

/** The RBAC rules the cluster DNS needs (k3s's system:coredns, plus writing its endpoint and Service). */
export const CLUSTER_DNS_RULES = [
  { apiGroups: [''], resources: ['endpoints', 'services', 'pods', 'namespaces'], verbs: ['list', 'watch'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['get', 'create', 'update', 'delete'] },
  { apiGroups: [''], resources: ['services'], verbs: ['get', 'create', 'update'] },
  { apiGroups: [''], resources: ['nodes'], verbs: ['get'] },
];

export interface AgentDnsOptions {
  /** The identity the DNS reads and publishes with (default: the agent's). */
  client?: Client;
  clusterDomain?: string;
  /** Port to serve on (53). */
  port?: number;
  /** Upstreams instead of --resolv-conf's (tests). */
  upstreams?: Upstream[];
  /**
   * Serving threads (default 1: in the agent's own thread). Each further thread is a worker isolate
   * of ~15 MiB resident holding its own copy of the records: the agent's memory on every node
   * (BENCHMARKS.md, "Kubelet and agent") outweighs the queries/s a second thread adds.
   */
  threads?: number;
  /** Port of /metrics (9153, as the kube-dns Service's metrics port); 0 = none. */
  metricsPort?: number;
}

/** The DNS counters in Prometheus' text format, under CoreDNS's metric names. */
export function metricsText(s: DnsServerStats): string {
  const lines = [
    '# HELP coredns_dns_requests_total Counter of DNS requests made per protocol.',
    '# TYPE coredns_dns_requests_total counter',
    `coredns_dns_requests_total{proto="udp"} ${s.queries.udp}`,
    `coredns_dns_requests_total{proto="tcp"} ${s.queries.tcp}`,
    '# HELP coredns_dns_responses_total Counter of response status codes.',
    '# TYPE coredns_dns_responses_total counter',
    ...Object.entries(s.rcodes).sort().map(([rcode, n]) => `coredns_dns_responses_total{rcode="${rcode}"} ${n}`),
    '# HELP coredns_cache_hits_total The count of cache hits.',
    '# TYPE coredns_cache_hits_total counter',
    `coredns_cache_hits_total{type="success"} ${s.replyCacheHits}`,
  ];
  return lines.join('\n') + '\n';
}

export async function startAgentDns(ctx: AgentHookContext, o: AgentDnsOptions = {}): Promise<AgentComponent & { dns: ClusterDns }> {
  const client = o.client ?? ctx.client;
  const own = [...ctx.nodeIPs, ...ctx.clusterDns];
  let upstreams = o.upstreams;
  if (!upstreams) {
    try {
      upstreams = upstreamsFromResolvConf(ctx.resolvConf || '/etc/resolv.conf', own);
    } catch (e) {
      ctx.log(`dns: cannot read ${ctx.resolvConf || '/etc/resolv.conf'}: ${(e as Error).message}; names outside the cluster will fail`);
      upstreams = [];
    }
  }
  const dns = await startClusterDNS({
    client,
    listen: ctx.nodeIPs.map((host) => ({ host, port: o.port ?? 53 })),
    clusterDomain: o.clusterDomain ?? 'cluster.local',
    upstreamResolvers: upstreams,
    log: ctx.log,
    threads: o.threads ?? 1,
    processes: ctx.clusterDnsProcesses,
  });
  await dns.ready();
  const metrics: Server[] = [];
  if ((o.metricsPort ?? METRICS_PORT) > 0) {
    for (const host of ctx.nodeIPs) {
      const srv = createServer((req, res) => {
        if (req.url !== '/metrics') {
          res.writeHead(404).end();
          return;
        }
        res.writeHead(200, { 'content-type': 'text/plain; version=0.0.4' }).end(metricsText(dns.stats));
      });
      await new Promise<void>((resolve, reject) => {
        srv.once('error', reject);
        srv.listen(o.metricsPort ?? METRICS_PORT, host, () => resolve());
      }).catch((e: Error) => ctx.log(`dns: metrics on ${host}: ${e.message}`));
      metrics.push(srv);
    }
  }
  const publisher = startDnsEndpointPublisher({ client, nodeName: ctx.nodeName, addresses: ctx.nodeIPs, clusterIPs: ctx.clusterDns, log: ctx.log });
  return {
    dns,
    async stop() {
      await publisher.stop();
      for (const m of metrics) m.close();
      await dns.stop();
    },
  };
}
