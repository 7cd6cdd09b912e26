// rudder sim: many hollow nodes in one process (simulated runtime), for scale tests and benchmarks.
// With --token each node joins as a real agent does; with --kubeconfig (a user that may impersonate
// nodes and list pods, e.g. the admin) they share one connection and one pod watch. See
// src/agent/hollow.ts.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { startHollowNodes } from '../agent/hollow.ts';
import { parseJoinToken } from '../agent/join-token.ts';
import { httpsTransportFromKubeconfig, loadKubeconfig } from '../client/https.ts';
import { favourMemoryOverThroughput } from './agent.ts';
import type { Command } from './command.ts';
import { UsageError, formatHelp, parseFlags, type FlagSpec } from './flags.ts';
import { defaultDataDir } from './paths.ts';

const FLAGS: FlagSpec[] = [
  { name: 'server', type: 'string', metavar: 'https://HOST:PORT', help: 'the API server (required with --token)' },
  { name: 'token', type: 'string', metavar: 'TOKEN', help: 'join token: every hollow node joins with its own certificate' },
  { name: 'kubeconfig', type: 'string', metavar: 'FILE', help: 'instead of --token: a user that may impersonate nodes and list pods (one connection, one pod watch)' },
  { name: 'nodes', type: 'int', metavar: 'N', required: true, help: 'how many hollow nodes' },
  { name: 'node-name-prefix', type: 'string', metavar: 'PREFIX', default: 'hollow-node', help: 'nodes are named PREFIX-0, PREFIX-1, …' },
  { name: 'data-dir', type: 'string', metavar: 'DIR', help: 'where the nodes keep their certificates (<data-dir>/sim/<node>)' },
  { name: 'cluster-dns', type: 'list', metavar: 'IP', default: ['10.43.0.10'], help: 'ClusterIP of the cluster DNS Service' },
  { name: 'concurrency', type: 'int', metavar: 'N', default: 16, help: 'nodes joining at a time' },
];

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} rudder sim: ${msg}\n`);
}

export const simCommand: Command = {
  name: 'sim',
  summary: 'Run many hollow nodes (simulated runtime) in one process',
  help: () => formatHelp('rudder sim --server https://HOST:PORT --token TOKEN --nodes N [flags]', 'Run N hollow nodes: real nodes of the cluster whose pods run in a simulated runtime.', FLAGS),
  async run(argv) {
    const { values: v, args } = parseFlags(FLAGS, argv);
    if (args.length) throw new UsageError(`unexpected argument "${args[0]}"`);
    const nodes = v['nodes'] as number;
    if (nodes < 1) throw new UsageError(`invalid value "${nodes}" for flag --nodes: must be at least 1`);
    const token = v['token'] as string | undefined;
    const kubeconfig = v['kubeconfig'] as string | undefined;
    if (!token === !kubeconfig) throw new UsageError('give either --token (with --server) or --kubeconfig');
    let server = v['server'] as string | undefined;
    if (token) {
      if (!server) throw new UsageError('required flag --server not set');
      try {
        parseJoinToken(token);
      } catch (e) {
        throw new UsageError((e as Error).message);
      }
    }
    if (kubeconfig) {
      if (!existsSync(kubeconfig)) throw new UsageError(`--kubeconfig ${kubeconfig}: no such file`);
      server ??= loadKubeconfig(kubeconfig).server;
    }
    let origin: string;
    try {
      const u = new URL(server!);
      if (u.protocol !== 'https:') throw new Error();
      origin = u.origin;
    } catch {
      throw new UsageError(`invalid value "${server}" for flag --server: expected https://HOST:PORT`);
    }
    // Memory is what bounds how many hollow nodes one process holds: the agent's V8 settings. At
    // 100 nodes x 30 pods: 28 instead of 83 KiB per pod, 1.2 instead of 1.8 MiB per node, for about
    // twice the CPU per pod started (BENCHMARKS.md, "Kubelet and agent").
    favourMemoryOverThroughput();
    const shared = kubeconfig ? httpsTransportFromKubeconfig(kubeconfig, { userAgent: 'kubelet/v1.33.0 (linux/amd64) rudder-sim' }).transport : undefined;
    const started = Date.now();
    let joined = 0;
    // Joining may wait on nothing but fresh HTTP/2 sessions, which do not always hold the process open.
    const hold = setInterval(() => {}, 3_600_000);
    const sim = await startHollowNodes({
      server: origin,
      token,
      shared,
      nodes,
      prefix: v['node-name-prefix'] as string,
      dataDir: join((v['data-dir'] as string | undefined) ?? defaultDataDir()),
      clusterDns: v['cluster-dns'] as string[],
      concurrency: v['concurrency'] as number,
      log: process.env.RUDDER_SIM_VERBOSE ? log : undefined,
      onNode: () => {
        joined++;
        if (joined % 100 === 0 && joined < nodes) log(`${joined}/${nodes} nodes started`);
      },
    }).catch((e) => {
      clearInterval(hold);
      throw e;
    });
    log(`${nodes} hollow nodes (${sim.names[0]} … ${sim.names.at(-1)}) started in ${Date.now() - started} ms; RSS ${Math.round(process.memoryUsage.rss() / 1048576)} MiB`);
    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (sig: string) => {
        if (stopping) return;
        stopping = true;
        log(`${sig}: stopping ${nodes} hollow nodes`);
        sim.stop().then(resolve, resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    await shared?.close();
    clearInterval(hold);
    return 0;
  },
};
