// rudder controller-manager: the controllers alone, reaching the API server over HTTPS with a
// kubeconfig (for HA layouts and debugging; `rudder server` runs them in-process).
import { httpsTransportFromKubeconfig, loadKubeconfig } from '../client/https.ts';
import { startControllerManager } from '../controllers/manager.ts';
import type { Command } from './command.ts';
import { allControllers, controllerManagerConfig } from './controllers.ts';
import { UsageError, formatHelp, parseFlags, type FlagSpec } from './flags.ts';
import { defaultDataDir } from './paths.ts';

const FLAGS: FlagSpec[] = [
  { name: 'kubeconfig', type: 'string', metavar: 'FILE', required: true, help: 'kubeconfig of the cluster to manage' },
  { name: 'data-dir', type: 'string', metavar: 'DIR', help: 'state directory (local-path volumes live under <data-dir>/storage on nodes)' },
  { name: 'cluster-cidr', type: 'string', metavar: 'CIDR', default: '10.42.0.0/16', help: 'pod addresses (node IPAM)' },
  { name: 'node-cidr-mask-size', type: 'int', metavar: 'BITS', default: 24, help: "size of each node's pod CIDR" },
  { name: 'service-cidr', type: 'string', metavar: 'CIDR', default: '10.43.0.0/16', help: 'Service ClusterIPs' },
  { name: 'node-monitor-grace-period', type: 'duration', default: 50_000, help: 'how long a node may miss Lease renewals before it is NotReady' },
  { name: 'default-not-ready-toleration-seconds', type: 'int', default: 300, help: 'tolerationSeconds for node.kubernetes.io/not-ready' },
  { name: 'default-unreachable-toleration-seconds', type: 'int', default: 300, help: 'tolerationSeconds for node.kubernetes.io/unreachable' },
  { name: 'controllers', type: 'list', default: ['*'], help: 'controllers to run: * for all, NAME to add, -NAME to leave one out' },
  { name: 'leader-elect', type: 'bool', default: true, help: 'run only while holding the kube-controller-manager Lease' },
];

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} rudder controller-manager: ${msg}\n`);
}

export const controllerManagerCommand: Command = {
  name: 'controller-manager',
  summary: 'Run the controllers alone against a cluster (leader-elected)',
  help: () => formatHelp('rudder controller-manager --kubeconfig FILE [flags]', 'Run the controllers alone, reaching the API server over HTTPS.', FLAGS),
  async run(argv) {
    const { values: v, args } = parseFlags(FLAGS, argv);
    if (args.length) throw new UsageError(`unexpected argument "${args[0]}"`);
    const kubeconfig = v['kubeconfig'] as string;
    // The cluster CA the kubeconfig trusts is what kube-root-ca.crt publishes.
    const ca = loadKubeconfig(kubeconfig).ca?.toString('utf8') ?? '';
    const { transport } = httpsTransportFromKubeconfig(kubeconfig, { userAgent: 'kube-controller-manager/v1.33.0 (rudder)' });
    const cm = startControllerManager({
      transport,
      config: controllerManagerConfig({
        clusterCidr: v['cluster-cidr'] as string,
        nodeCidrMaskSize: v['node-cidr-mask-size'] as number,
        serviceCidr: v['service-cidr'] as string,
        nodeMonitorGracePeriodMs: v['node-monitor-grace-period'] as number,
        defaultNotReadyTolerationSeconds: v['default-not-ready-toleration-seconds'] as number,
        defaultUnreachableTolerationSeconds: v['default-unreachable-toleration-seconds'] as number,
        dataDir: (v['data-dir'] as string | undefined) ?? defaultDataDir(),
        rootCaCert: ca,
        controllers: v['controllers'] as string[],
      }),
      controllers: allControllers(),
      leaderElect: v['leader-elect'] as boolean,
      log,
    });
    await new Promise<void>((resolve) => {
      const stop = () => cm.stop().then(resolve, resolve);
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    await transport.close();
    return 0;
  },
};
