// NetworkPolicy enforcement as the agent runs it, beside the proxy: this node's pods, the node's
// nftables. The node's own identity may not list NetworkPolicies (Node authorizer, upstream's
// system:node rules): pass `client` acting as an identity holding NETWORK_POLICY_RULES (what
// policy-enforcing CNIs such as k3s's embedded kube-router are granted).
import type { AgentComponent, AgentHookContext } from '../agent/agent.ts';
import type { Client } from '../client/client.ts';
import { startNetworkPolicy, type NetworkPolicyHandle } from './policy.ts';

export const NETWORK_POLICY_RULES = [
  { apiGroups: ['networking.k8s.io'], resources: ['networkpolicies'], verbs: ['list', 'watch'] },
  { apiGroups: [''], resources: ['pods', 'namespaces'], verbs: ['list', 'watch'] },
  { apiGroups: ['discovery.k8s.io'], resources: ['endpointslices'], verbs: ['list', 'watch'] },
];

export async function startAgentNetworkPolicy(ctx: AgentHookContext, o: { client?: Client } = {}): Promise<AgentComponent & { enforcer: NetworkPolicyHandle }> {
  const enforcer = startNetworkPolicy({ client: o.client ?? ctx.client, nodeName: ctx.nodeName, log: ctx.log });
  return { enforcer, stop: () => enforcer.stop() };
}
