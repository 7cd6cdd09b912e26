// rudder scheduler: the scheduler alone, reaching the API server over HTTPS with a kubeconfig
// (leader-elected; `rudder server` runs it in-process).
import { readFileSync } from 'node:fs';
import { httpsTransportFromKubeconfig } from '../client/https.ts';
import { startScheduler } from '../scheduler/scheduler.ts';
import type { Command } from './command.ts';
import { UsageError, formatHelp, parseFlags, type FlagSpec } from './flags.ts';

const FLAGS: FlagSpec[] = [
  { name: 'kubeconfig', type: 'string', metavar: 'FILE', required: true, help: 'kubeconfig of the cluster' },
  { name: 'scheduler-config', type: 'string', metavar: 'FILE', help: 'KubeSchedulerConfiguration (profiles, plugins, weights, percentageOfNodesToScore)' },
  { name: 'leader-elect', type: 'bool', default: true, help: 'schedule only while holding the kube-scheduler Lease' },
];

export const schedulerCommand: Command = {
  name: 'scheduler',
  summary: 'Run the scheduler alone against a cluster (leader-elected)',
  help: () => formatHelp('rudder scheduler --kubeconfig FILE [flags]', 'Run the scheduler alone, reaching the API server over HTTPS.', FLAGS),
  async run(argv) {
    const { values: v, args } = parseFlags(FLAGS, argv);
    if (args.length) throw new UsageError(`unexpected argument "${args[0]}"`);
    const file = v['scheduler-config'] as string | undefined;
    let config: string | undefined;
    if (file) {
      try {
        config = readFileSync(file, 'utf8');
      } catch {
        throw new UsageError(`--scheduler-config ${file}: no such file`);
      }
    }
    const { transport } = httpsTransportFromKubeconfig(v['kubeconfig'] as string, { userAgent: 'kube-scheduler/v1.33.0 (rudder)' });
    const s = startScheduler({ transport, config, leaderElect: v['leader-elect'] as boolean, log: (m) => process.stderr.write(`${new Date().toISOString()} rudder scheduler: ${m}\n`) });
    await new Promise<void>((resolve) => {
      const stop = () => s.stop().then(resolve, resolve);
      process.once('SIGTERM', stop);
      process.once('SIGINT', stop);
    });
    await transport.close();
    return 0;
  },
};
