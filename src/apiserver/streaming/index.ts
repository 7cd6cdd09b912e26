// The API server's streaming subresources, keyed as HandlerDeps.connect expects
// ("<group>/<plural>/<sub>"): pods/log, pods/exec, pods/attach, pods/portforward and the proxy
// subresources of pods, services and nodes. Upgrade requests reach them through the ordinary
// request path with upgradeResponse (see upgrade-response.ts).
import type { Ctx } from '../http.ts';
import { podLogHandler, podPortForwardHandler, podRemoteCommandHandler, type StreamingDeps } from './pods.ts';
import { nodeProxyHandler, podProxyHandler, serviceProxyHandler } from './proxy.ts';

export type { StreamingDeps } from './pods.ts';
export type { KubeletClientConfig } from './kubelet-client.ts';
export { DEFAULT_ADDRESS_TYPES, kubeletLocation } from './kubelet-client.ts';
export { upgradeResponse, takeUpgrade, upgradeOf } from './upgrade-response.ts';

/** Connect handlers for the streaming subresources (the ResourceRegistry argument is not needed). */
export function streamingConnectHandlers(d: StreamingDeps): Map<string, (ctx: Ctx, r?: unknown) => Promise<void>> {
  return new Map<string, (ctx: Ctx) => Promise<void>>([
    ['/pods/log', podLogHandler(d)],
    ['/pods/exec', podRemoteCommandHandler(d, 'exec')],
    ['/pods/attach', podRemoteCommandHandler(d, 'attach')],
    ['/pods/portforward', podPortForwardHandler(d)],
    ['/pods/proxy', podProxyHandler(d)],
    ['/services/proxy', serviceProxyHandler(d)],
    ['/nodes/proxy', nodeProxyHandler(d)],
  ]);
}
