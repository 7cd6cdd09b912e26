// rudder proxy: the Service proxy alone (kube-proxy in nftables mode) for this machine, reaching
// the API server with a kubeconfig. Agents run the same proxy in-process.
import { hostname } from 'node:os';
import { Client } from '../client/client.ts';
import { httpsTransportFromKubeconfig } from '../client/https.ts';
import { realClock } from '../client/clock.ts';
import { KUBERNETES_VERSION } from '../api/version.ts';
import { cleanupProxyRules, startProxy } from '../proxy/proxy.ts';
import type { Node } from '../proxy/types.ts';
import type { Command } from './command.ts';
import { UsageError, formatHelp, parseFlags, type FlagSpec } from './flags.ts';

const FLAGS: FlagSpec[] = [
  { name: 'kubeconfig', type: 'string', metavar: 'FILE', help: 'kubeconfig of the cluster (required unless --cleanup)' },
  { name: 'hostname-override', type: 'string', metavar: 'NAME', help: "this node's name (default: the machine's hostname)" },
  { name: 'node-ip', type: 'list', metavar: 'IP', default: [], help: "addresses NodePorts answer on (default: the Node's InternalIPs)" },
  { name: 'cluster-cidr', type: 'string', metavar: 'CIDR', default: '10.42.0.0/16', help: 'pod addresses: traffic from them is not masqueraded' },
  { name: 'service-cidr', type: 'string', metavar: 'CIDR', default: '10.43.0.0/16', help: 'Service ClusterIPs: traffic to an unallocated one is dropped' },
  { name: 'min-sync-period', type: 'duration', default: 1000, help: 'the least time between two rule updates (after a burst of two)' },
  { name: 'full-sync-period', type: 'duration', default: 3_600_000, help: 'how often the whole table is written again' },
  { name: 'cleanup', type: 'bool', help: 'remove the rules this proxy wrote, and exit' },
];

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} rudder proxy: ${msg}\n`);
}

/** The Node's InternalIPs, waiting (as upstream does) until the Node exists and has some. */
async function nodeIPs(client: Client, name: string, signal: AbortSignal): Promise<string[]> {
  const nodes = client.resource<Node>('', 'nodes');
  for (let attempt = 0; ; attempt++) {
    try {
      const n = await nodes.get(name, { signal });
      const ips = (n.status?.addresses ?? []).filter((a) => a.type === 'InternalIP').map((a) => a.address);
      if (ips.length) return ips;
    } catch (e) {
      if (signal.aborted) throw e;
      if (attempt % 10 === 0) log(`waiting for node ${name}: ${(e as Error).message}`);
    }
    await realClock.after(1000, signal);
  }
}

export const proxyCommand: Command = {
  name: 'proxy',
  summary: 'Run the Service proxy (kube-proxy, nftables mode) for this machine',
  help: () => formatHelp('rudder proxy --kubeconfig FILE [flags]', 'Program this machine\'s nftables so Service IPs, NodePorts and LoadBalancer IPs reach their endpoints.', FLAGS),
  async run(argv) {
    const { values: v, args } = parseFlags(FLAGS, argv);
    if (args.length) throw new UsageError(`unexpected argument "${args[0]}"`);
    if (v['cleanup']) {
      await cleanupProxyRules();
      return 0;
    }
    const kubeconfig = v['kubeconfig'] as string | undefined;
    if (!kubeconfig) throw new UsageError('required flag --kubeconfig not set');
    const nodeName = ((v['hostname-override'] as string | undefined) || hostname()).toLowerCase();
    const { transport } = httpsTransportFromKubeconfig(kubeconfig, { userAgent: `kube-proxy/${KUBERNETES_VERSION.gitVersion} (rudder)` });
    const client = new Client(transport);
    const stop = new AbortController();
    const onSignal = () => stop.abort();
    process.once('SIGTERM', onSignal);
    process.once('SIGINT', onSignal);
    try {
      let ips = v['node-ip'] as string[];
      if (!ips.length) ips = await nodeIPs(client, nodeName, stop.signal);
      log(`node ${nodeName}, NodePorts on ${ips.join(', ')}`);
      const proxy = startProxy({
        client,
        nodeName,
        nodeIPs: ips,
        clusterCidr: v['cluster-cidr'] as string,
        serviceCidr: v['service-cidr'] as string,
        minSyncPeriodMs: v['min-sync-period'] as number,
        fullSyncPeriodMs: v['full-sync-period'] as number,
        log,
      });
      await new Promise<void>((resolve) => (stop.signal.aborted ? resolve() : stop.signal.addEventListener('abort', () => resolve(), { once: true })));
      await proxy.stop();
    } catch (e) {
      if (!stop.signal.aborted) throw e;
    } finally {
      await transport.close();
    }
    return 0;
  },
};
