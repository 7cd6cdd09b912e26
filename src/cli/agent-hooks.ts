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

// The components' modules, loaded when an agent starts them (and by preloadAgentComponents).
const networkingModules = () => Promise.all([import('../network/network.ts'), import('../proxy/proxy.ts'), import('../netpol/policy.ts')]);
const kubeletApiModules = () => Promise.all([import('../kubelet/server/server.ts'), import('../kubelet/server/delegated-auth.ts')]);
const dnsModule = () => import('../dns/agent.ts');

/** Loads every component's modules without starting any (for the compile-only pass, main.ts). */
export async function preloadAgentComponents(): Promise<void> {
  await Promise.all([networkingModules(), kubeletApiModules(), dnsModule()]);
}

/** The pod network, the service proxy and NetworkPolicy enforcement, started and stopped together. */
async function startNodeNetworking(ctx: AgentHookContext): Promise<AgentComponent> {
  const client = await ctx.clientFor('system:kube-proxy');
  const [{ startNetwork }, { startProxy }, { startNetworkPolicy }] = await networkingModules();
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
 * other client certificates from the cluster's client CA, and bearer tokens (a TokenReview), are
 * authorized by a SubjectAccessReview on nodes/<subresource> (upstream's webhook authentication
 * and authorization modes), both reviews made as the node, so that e.g. a user bound to
 * system:kubelet-api-admin may read logs directly.
 */
async function startKubeletApi(ctx: AgentHookContext): Promise<AgentComponent> {
  if (!ctx.clientCaPem) throw new Error('kubelet API: no client CA to verify the API server with');
  const [{ startKubeletServer }, { subjectAccessReviewAuthorizer, tokenReviewAuthenticator }] = await kubeletApiModules();
  const tls = await ctx.servingCert.ready();
  const server = await startKubeletServer({
    nodeName: ctx.nodeName,
    runtime: ctx.runtime.runtime,
    pods: ctx.kubelet,
    tls: { cert: tls.certPem, key: tls.keyPem },
    clientCA: ctx.clientCaPem,
    allowedUsers: ['kube-apiserver-kubelet-client'],
    authenticateToken: tokenReviewAuthenticator(ctx.client),
    authorize: subjectAccessReviewAuthorizer(ctx.client),
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
      const { startAgentDns } = await dnsModule();
      return startAgentDns(ctx, { client: await ctx.clientFor('system:kube-dns') });
    },
  };
}
