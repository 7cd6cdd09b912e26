// The cluster DNS as the agent runs it (AgentHooks.dns): served on the node's addresses, port 53,
// forwarding to the resolvers of --resolv-conf, with this node published as an endpoint of the
// kube-dns Service (created if missing, ClusterIP = --cluster-dns).
//
// Credentials: the node's own identity may not list EndpointSlices or Namespaces nor write in
// kube-system (Node authorizer, upstream's system:node rules). Pass `client` acting as an identity
// holding CLUSTER_DNS_RULES (k3s binds the same to CoreDNS's service account as system:coredns).
import type { AgentComponent, AgentHookContext } from '../agent/agent.ts';
import type { Client } from '../client/client.ts';
import { startClusterDNS, upstreamsFromResolvConf, type ClusterDns } from './cluster-dns.ts';
import type { Upstream } from './forward.ts';
import { startDnsEndpointPublisher } from './kube-dns-service.ts';

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
  });
  await dns.ready();
  const publisher = startDnsEndpointPublisher({ client, nodeName: ctx.nodeName, addresses: ctx.nodeIPs, clusterIPs: ctx.clusterDns, log: ctx.log });
  return {
    dns,
    async stop() {
      await publisher.stop();
      await dns.stop();
    },
  };
}
