// rudder agent: join a cluster with a token and run this machine's node (kubelet, runtime, and
// the components of agent-hooks.ts). Flags → AgentOptions → src/agent/agent.ts.
import { existsSync, readFileSync } from 'node:fs';
import { flushCompileCache } from 'node:module';
import { isIP } from 'node:net';
import { setFlagsFromString } from 'node:v8';
import { defaultNodeIP, defaultNodeName, runAgent, type AgentOptions, type NodeOptions } from '../agent/agent.ts';
import { parseJoinToken } from '../agent/join-token.ts';
import { parseIPv4Cidr } from '../kubelet/runtime/cni.ts';
import { parseRegistries } from '../kubelet/runtime/registries.ts';
import { agentHooks, preloadAgentComponents } from './agent-hooks.ts';
import type { Command } from './command.ts';
import { UsageError, formatHelp, parseFlags, type FlagSpec, type FlagValues } from './flags.ts';
import { defaultDataDir } from './paths.ts';

/** The flags of the node an agent runs; `rudder server` takes them too for the agent it runs. */
export const NODE_FLAGS: FlagSpec[] = [
  { name: 'node-name', type: 'string', metavar: 'NAME', help: "the node's name (default: this host's name)" },
  { name: 'node-ip', type: 'list', metavar: 'IP', default: [], help: "the node's address(es) (default: this host's first non-loopback IPv4)" },
  { name: 'kubelet-port', type: 'int', metavar: 'PORT', default: 10250, help: "port of the kubelet's API" },
  { name: 'container-runtime-endpoint', type: 'string', metavar: 'unix:///PATH', help: 'use this CRI runtime (containerd, CRI-O) instead of starting containerd' },
  { name: 'resolv-conf', type: 'string', metavar: 'FILE', help: 'resolvers for the cluster DNS and dnsPolicy Default pods (default /etc/resolv.conf)' },
  { name: 'registry-config', type: 'string', metavar: 'FILE', help: "registries file (k3s's registries.yaml: mirrors and credentials)" },
  { name: 'simulated', type: 'bool', help: 'run pods in a simulated runtime: no containers, no root needed (hollow node)' },
  { name: 'cgroup-root', type: 'string', metavar: 'PATH', help: "the kubelet's --cgroup-root: pods go under <PATH>/kubepods (default /)" },
  { name: 'pod-startup-trace', type: 'string', metavar: 'FILE', help: "append one JSON line per stage of each pod's start-up to FILE (for benchmarks and debugging)" },
  {
    name: 'cluster-dns-processes',
    type: 'int',
    metavar: 'N',
    default: 1,
    help: "processes answering the node's cluster DNS over UDP, the agent included; each further one is a child process of ~60-80 MB sharing the agent's socket (for nodes serving many queries)",
  },
];

const FLAGS: FlagSpec[] = [
  { name: 'server', type: 'string', metavar: 'https://HOST:PORT', required: true, help: 'the API server to join' },
  { name: 'token', type: 'string', metavar: 'TOKEN', required: true, help: 'join token from "rudder token create" on a server' },
  { name: 'data-dir', type: 'string', metavar: 'DIR', help: 'state directory (default /var/lib/rudder as root, ~/.rudder otherwise)' },
  ...NODE_FLAGS,
  { name: 'cluster-dns', type: 'list', metavar: 'IP', default: ['10.43.0.10'], help: 'ClusterIP of the cluster DNS Service' },
  { name: 'cluster-cidr', type: 'string', metavar: 'CIDR', default: '10.42.0.0/16', help: "the cluster's pod addresses (blackholed but for real routes)" },
  { name: 'service-cidr', type: 'string', metavar: 'CIDR', default: '10.43.0.0/16', help: "the cluster's Service addresses (blackholed but for proxy rules)" },
];

function checkCidr(flag: string, v: string): void {
  try {
    parseIPv4Cidr(v);
  } catch {
    throw new UsageError(`invalid value "${v}" for flag --${flag}: expected an IPv4 network such as 10.42.0.0/16`);
  }
}

/** The node part of the options from flag values (shared with `rudder server`). */
export function nodeOptionsFromFlags(
  v: FlagValues,
  o: { dataDir: string; clusterDns: string[]; clusterCidr: string; serviceCidr: string },
): NodeOptions {
  const s = (k: string) => v[k] as string | undefined;
  const ips = (v['node-ip'] as string[] | undefined) ?? [];
  for (const ip of ips) if (!isIP(ip)) throw new UsageError(`invalid value "${ip}" for flag --node-ip: not an IP address`);
  for (const ip of o.clusterDns) if (!isIP(ip)) throw new UsageError(`invalid value "${ip}" for flag --cluster-dns: not an IP address`);
  const port = v['kubelet-port'] as number;
  if (port < 1 || port > 65535) throw new UsageError(`invalid value "${port}" for flag --kubelet-port: must be 1-65535`);
  const endpoint = s('container-runtime-endpoint');
  if (endpoint && !/^unix:\/\/\/./.test(endpoint)) throw new UsageError(`invalid value "${endpoint}" for flag --container-runtime-endpoint: expected unix:///path/to/socket`);
  const dnsProcesses = v['cluster-dns-processes'] as number;
  if (!Number.isInteger(dnsProcesses) || dnsProcesses < 1 || dnsProcesses > 64) throw new UsageError(`invalid value "${dnsProcesses}" for flag --cluster-dns-processes: must be 1-64`);
  const resolvConf = s('resolv-conf');
  if (resolvConf && !existsSync(resolvConf)) throw new UsageError(`--resolv-conf ${resolvConf}: no such file`);
  const registryConfig = s('registry-config');
  if (registryConfig) {
    if (!existsSync(registryConfig)) throw new UsageError(`--registry-config ${registryConfig}: no such file`);
    try {
      parseRegistries(readFileSync(registryConfig, 'utf8'), registryConfig);
    } catch (e) {
      throw new UsageError((e as Error).message);
    }
  }
  const nodeName = s('node-name') ?? defaultNodeName();
  if (!/^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$/.test(nodeName) || nodeName.length > 253) {
    throw new UsageError(`invalid value "${nodeName}" for flag --node-name: must be a lower-case DNS name (a-z, 0-9, '-', '.')`);
  }
  let nodeIPs = ips;
  if (nodeIPs.length === 0) {
    const ip = defaultNodeIP();
    if (!ip) throw new UsageError('this host has no non-loopback IPv4 address: pass --node-ip IP');
    nodeIPs = [ip];
  }
  return {
    nodeName,
    nodeIPs,
    dataDir: o.dataDir,
    kubeletPort: port,
    containerRuntimeEndpoint: endpoint,
    simulated: !!v['simulated'],
    clusterDns: o.clusterDns,
    resolvConf,
    registryConfig,
    clusterCidr: o.clusterCidr,
    serviceCidr: o.serviceCidr,
    cgroupRoot: s('cgroup-root'),
    clusterDnsProcesses: dnsProcesses,
    podStartupTrace: s('pod-startup-trace'),
  };
}

export function agentConfig(argv: string[]): AgentOptions {
  const { values: v, args } = parseFlags(FLAGS, argv);
  if (args.length) throw new UsageError(`unexpected argument "${args[0]}"`);
  const server = v['server'] as string;
  let u: URL;
  try {
    u = new URL(server);
  } catch {
    throw new UsageError(`invalid value "${server}" for flag --server: expected https://HOST:PORT`);
  }
  if (u.protocol !== 'https:' || !u.hostname) throw new UsageError(`invalid value "${server}" for flag --server: expected https://HOST:PORT`);
  const token = v['token'] as string;
  try {
    parseJoinToken(token);
  } catch (e) {
    throw new UsageError((e as Error).message);
  }
  checkCidr('cluster-cidr', v['cluster-cidr'] as string);
  checkCidr('service-cidr', v['service-cidr'] as string);
  const node = nodeOptionsFromFlags(v, {
    dataDir: (v['data-dir'] as string | undefined) ?? defaultDataDir(),
    clusterDns: v['cluster-dns'] as string[],
    clusterCidr: v['cluster-cidr'] as string,
    serviceCidr: v['service-cidr'] as string,
  });
  return { ...node, server: u.origin, token };
}

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} rudder agent: ${msg}\n`);
}

/**
 * The agent is a long-lived process on every machine of the cluster, where memory is the scarce
 * resource, not allocation throughput (BENCHMARKS.md, "Kubelet and agent"):
 * - keep V8's young generation at its initial size (1 MiB semi-spaces) instead of letting it grow
 *   to 64 MiB ones after a burst of pod starts: ~30-130 MiB less RSS, a few scavenges a second more;
 *   the maximum cannot be lowered once the heap exists, the growth factor can;
 * - --optimize-for-size: V8's heap grows in smaller steps and is compacted and shrunk sooner (the
 *   mode V8 uses on low-memory devices): ~18 MiB less RSS with 10 running pods, measured.
 * Both apply to every isolate the process creates from now on (the DNS server's threads too).
 */
export function favourMemoryOverThroughput(): void {
  setFlagsFromString('--semi-space-growth-factor=1');
  setFlagsFromString('--optimize-for-size');
}

export const agentCommand: Command = {
  name: 'agent',
  summary: "Join a cluster and run this machine's node (kubelet, containerd)",
  help: () => formatHelp('rudder agent --server https://HOST:PORT --token TOKEN [flags]', "Join a cluster with a token from \"rudder token create\" and run this machine's node.", FLAGS),
  async preload() {
    // The same V8 flags as run(), so that the code cached for the components matches theirs.
    favourMemoryOverThroughput();
    await preloadAgentComponents();
  },
  async run(argv) {
    const cfg = agentConfig(argv);
    favourMemoryOverThroughput();
    const started = Date.now();
    // Joining may wait on nothing but a fresh HTTP/2 session, which does not always hold the process
    // open by itself: hold it until the agent has stopped.
    const hold = setInterval(() => {}, 3_600_000);
    const agent = await runAgent(cfg, { hooks: agentHooks(), log }).catch((e) => {
      clearInterval(hold);
      throw e;
    });
    let stopping = false;
    const done = new Promise<void>((resolve) => {
      const stop = (sig: string) => {
        if (stopping) return;
        stopping = true;
        log(`${sig}: shutting down (containers keep running)`);
        agent.stop().then(resolve, resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    // Every module the agent needs is loaded by now: write their compiled (type-stripped) form to
    // the compile cache that bin/rudder enables, so the next start neither strips TypeScript again
    // nor loads the stripper (~18 MiB resident) — an agent is seldom stopped cleanly (kill -9, a
    // reboot), when Node would otherwise write the cache.
    flushCompileCache();
    agent.kubelet.ready().then(
      () => log(`node ${cfg.nodeName} registered with ${cfg.server} in ${Date.now() - started} ms`),
      (e) => log(`node ${cfg.nodeName} did not register: ${(e as Error).message}`),
    );
    await done;
    clearInterval(hold);
    return 0;
  },
};
