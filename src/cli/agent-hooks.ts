// The components an agent starts after its kubelet (src/agent/agent.ts AgentHooks): the composition
// root's one list of them, used by `rudder agent` and by the agent `rudder server` runs. Each is
// loaded only when an agent starts.
//
// Identities, as k3s gives its node components theirs: the pod network (routes between nodes),
// the service proxy and NetworkPolicy enforcement act as system:kube-proxy (upstream's
// system:node-proxier role plus rudder:network-policy); the cluster DNS acts as system:kube-dns
// (rudder:cluster-dns and the kube-system publisher Role). Both come from the node's component
// certificates (clientFor).
import type { AgentComponent, AgentHookContext, AgentHooks } from '../agent/agent.ts';

/** The pod network, the service proxy and NetworkPolicy enforcement, started and stopped together. */
async function startNodeNetworking(ctx: AgentHookContext): Promise<AgentComponent> {
  const client = await ctx.clientFor('system:kube-proxy');
  const [{ startNetwork }, { startProxy }, { startNetworkPolicy }] = await Promise.all([
    import('../network/network.ts'),
    import('../proxy/proxy.ts'),
    import('../netpol/policy.ts'),
  ]);
  const network = startNetwork({ client, nodeName: ctx.nodeName, clusterCidr: ctx.clusterCidr, serviceCidr: ctx.serviceCidr, log: ctx.log });
  const proxy = startProxy({ client, nodeName: ctx.nodeName, nodeIPs: ctx.nodeIPs, clusterCidr: ctx.clusterCidr, serviceCidr: ctx.serviceCidr, log: ctx.log });
  const policy = startNetworkPolicy({ client, nodeName: ctx.nodeName, log: ctx.log });
  return {
    async stop() {
      await policy.stop();
      await proxy.stop();
      await network.stop();
    },
  };
}

/**
 * The kubelet's port-10250 API: the API server's kubelet-client certificate may do everything;
 * any other client certificate from the cluster's client CA is authorized by a
 * SubjectAccessReview on nodes/<subresource> (upstream's webhook authorization mode), so that
 * e.g. a user bound to system:kubelet-api-admin may read logs directly.
 */
async function startKubeletApi(ctx: AgentHookContext): Promise<AgentComponent> {
  if (!ctx.clientCaPem) throw new Error('kubelet API: no client CA to verify the API server with');
  const { startKubeletServer } = await import('../kubelet/server/server.ts');
  const tls = await ctx.servingCert.ready();
  const reviews = ctx.client.resource('authorization.k8s.io', 'subjectaccessreviews');
  const server = await startKubeletServer({
    nodeName: ctx.nodeName,
    runtime: ctx.runtime.runtime,
    pods: ctx.kubelet,
    tls: { cert: tls.certPem, key: tls.keyPem },
    clientCA: ctx.clientCaPem,
    allowedUsers: ['kube-apiserver-kubelet-client'],
    authorize: async (user, attrs) => {
      const r = (await reviews.create({
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        metadata: {},
        spec: { user: user.name, groups: user.groups, resourceAttributes: { verb: attrs.verb, resource: 'nodes', subresource: attrs.subresource, name: attrs.name } },
      })) as { status?: { allowed?: boolean } };
      return r.status?.allowed === true;
    },
    port: ctx.kubeletPort,
    rootDir: ctx.dataDir,
    log: ctx.log,
  });
  return { stop: () => server.close() };
}

export function agentHooks(): AgentHooks {
  return {
    kubeletServer: startKubeletApi,
    proxy: startNodeNetworking,
    dns: async (ctx) => {
      const { startAgentDns } = await import('../dns/agent.ts');
      return startAgentDns(ctx, { client: await ctx.clientFor('system:kube-dns') });
    },
  };
}
