// The components an agent starts after its kubelet (src/agent/agent.ts AgentHooks): the composition
// root's one list of them, used by `rudder agent` and by the agent `rudder server` runs. Each is
// loaded only when an agent starts.
//
// To plug one in, add its starter here, e.g.
//   kubeletServer: async (ctx) => (await import('../kubelet/server/server.ts')).startKubeletServer(ctx),
//   proxy: async (ctx) => (await import('../proxy/agent.ts')).startProxy(ctx),
//   dns: async (ctx) => (await import('../dns/agent.ts')).startDns(ctx),
import type { AgentHooks } from '../agent/agent.ts';

export function agentHooks(): AgentHooks {
  return {};
}
