// What `rudder server` needs for nodes: the permissions joining needs, the certificate controllers'
// signing files from the server's PKI, and the agent it runs on its own machine (unless
// --disable-agent) through the in-process transport, acting as system:node:<name>.
import { join } from 'node:path';
import type { Transport } from '../api/transport.ts';
import { agentPreflight, startServerAgent, type NodeOptions, type RunningAgent } from '../agent/agent.ts';
import { AGENT_USER_AGENT } from '../agent/bootstrap.ts';
import { ensureNodeJoinRbac } from '../agent/join-rbac.ts';
import { Client } from '../client/client.ts';
import type { CertificateSigningConfig } from '../controllers/certificates/index.ts';
import { RuntimeSetupError } from '../kubelet/runtime/containerd.ts';
import { agentHooks } from './agent-hooks.ts';

type LocalTransportFor = (user: { name: string; groups: string[] }, userAgent: string) => Transport;

/**
 * The controller-manager's signing CAs, from the server's PKI (<data-dir>/server/tls): node client
 * certificates from the client CA (the API server trusts it for client certificates), kubelet
 * serving certificates from the server CA (which agents already trust through their join token).
 */
export function serverSigningConfig(dataDir: string): CertificateSigningConfig {
  const tls = join(dataDir, 'server', 'tls');
  return {
    clusterSigningCertFile: join(tls, 'client-ca.crt'),
    clusterSigningKeyFile: join(tls, 'client-ca.key'),
    clusterSigningKubeletServingCertFile: join(tls, 'server-ca.crt'),
    clusterSigningKubeletServingKeyFile: join(tls, 'server-ca.key'),
  };
}

/** Throws the one-line reason the server's agent cannot run here (before anything starts). */
export function serverAgentPreflight(node: NodeOptions): void {
  const problem = agentPreflight({ simulated: node.simulated, containerRuntimeEndpoint: node.containerRuntimeEndpoint });
  if (problem) throw new RuntimeSetupError(`${problem} (or run the server with --disable-agent)`);
}

/** The bindings that let join tokens request node certificates (idempotent). */
export async function prepareJoining(localTransport: LocalTransportFor): Promise<void> {
  const t = localTransport({ name: 'system:apiserver', groups: ['system:masters', 'system:authenticated'] }, 'rudder-server');
  try {
    await ensureNodeJoinRbac(new Client(t));
  } finally {
    await t.close();
  }
}

/** Starts the server machine's own node. */
export function startServerNode(localTransport: LocalTransportFor, node: NodeOptions, clientCaPem: string, log: (msg: string) => void): Promise<RunningAgent> {
  return startServerAgent({ ...node, clientCaPem }, (user) => localTransport(user, AGENT_USER_AGENT), { hooks: agentHooks(), log: (m) => log(`agent: ${m}`) });
}
