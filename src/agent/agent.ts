// The agent, composed: what `rudder agent` runs on a worker and `rudder server` runs beside its
// control plane. In order, so that nothing starts half-way:
//
//   1. preflight: whether this machine can run what the flags ask (root, containerd, CNI, ip);
//   2. credentials: the node's client certificate (bootstrapped with the join token, or saved),
//      or, in the server's process, the in-process transport acting as the node;
//   3. network safety: blackhole routes for the whole cluster and service CIDRs;
//   4. the runtime (own containerd, an existing CRI endpoint, or simulated);
//   5. the kubelet;
//   6. the kubelet's serving certificate (renewing) and the components that plug in through
//      AgentHooks: the port-10250 API, the service proxy and the cluster DNS.
//
// A failure at any step stops what the earlier steps started and reports one line.
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import type { Transport } from '../api/transport.ts';
import { Client } from '../client/client.ts';
import { realClock, type Clock } from '../client/clock.ts';
import { startKubelet, type Kubelet } from '../kubelet/kubelet.ts';
import type { KubeletConfig } from '../kubelet/config.ts';
import { startAgentRuntime, type AgentRuntime, type AgentRuntimeEvent } from '../kubelet/runtime/agent-runtime.ts';
import { RuntimeSetupError, runtimePrerequisiteProblem, which } from '../kubelet/runtime/containerd.ts';
import { NoTmpfsMounter, type Mounter } from '../kubelet/volumes/mounter.ts';
import {
  bootstrapNodeCredentials,
  CLIENT_USAGES,
  KUBE_APISERVER_CLIENT_SIGNER,
  credentialPaths,
  httpsTransportFactory,
  KUBELET_CLIENT_SIGNER,
  KUBELET_SERVING_SIGNER,
  SERVING_USAGES,
  type NodeCredentials,
  type TransportFactory,
} from './bootstrap.ts';
import { CertificateManager, type CertPair, type CertSource } from './cert-manager.ts';
import { parseJoinToken } from './join-token.ts';
import { installBlackholeRoutes, systemIp, type IpRunner } from './routes.ts';
import { RotatingTransport } from './rotating-transport.ts';

/** What a component plugged into the agent gets. */
export interface AgentHookContext {
  nodeName: string;
  nodeIPs: string[];
  dataDir: string;
  kubelet: Kubelet;
  kubeletPort: number;
  /** A client acting as the node. */
  client: Client;
  /**
   * A client acting as one of the node's component identities (NODE_COMPONENT_USERS of the CSR
   * approver: system:kube-proxy, system:kube-dns), for components the node's own identity may not
   * serve. On a joined agent it holds a renewing client certificate for that user; in the server's
   * process it is the in-process transport acting as that user.
   */
  clientFor(user: string): Promise<Client>;
  runtime: AgentRuntime;
  /** The kubelet's serving certificate (for the port-10250 API); renews itself. */
  servingCert: CertSource;
  /** The CA of client certificates: the kubelet API accepts the API server's client certificate by it. */
  clientCaPem?: string;
  clusterCidr: string;
  serviceCidr: string;
  clusterDns: string[];
  resolvConf?: string;
  /** Processes answering the node's cluster DNS over UDP (NodeOptions.clusterDnsProcesses). */
  clusterDnsProcesses: number;
  log: (msg: string) => void;
}

export interface AgentComponent {
  stop(): Promise<void>;
}

/**
 * The components the agent starts after the kubelet, each optional: the port-10250 API (logs,
 * exec, attach, port-forward), the service proxy and the cluster DNS (issue 6). Started in that
 * order, stopped in reverse; one that fails to start stops the agent.
 */
export interface AgentHooks {
  kubeletServer?: (ctx: AgentHookContext) => Promise<AgentComponent>;
  proxy?: (ctx: AgentHookContext) => Promise<AgentComponent>;
  dns?: (ctx: AgentHookContext) => Promise<AgentComponent>;
}

export interface NodeOptions {
  nodeName: string;
  nodeIPs: string[];
  dataDir: string;
  kubeletPort: number;
  /** --container-runtime-endpoint: use that CRI and start no containerd. */
  containerRuntimeEndpoint?: string;
  simulated: boolean;
  clusterDns: string[];
  resolvConf?: string;
  /**
   * --cluster-dns-processes: processes answering the node's cluster DNS over UDP, the agent
   * included (default 1). Further ones are child processes reading the agent's own socket.
   */
  clusterDnsProcesses?: number;
  registryConfig?: string;
  clusterCidr: string;
  serviceCidr: string;
  cgroupRoot?: string;
  nodeLabels?: Record<string, string>;
  /** --pod-startup-trace: the kubelet's per-pod start-up stages appended to this file. */
  podStartupTrace?: string;
}

export interface NodeDeps {
  hooks?: AgentHooks;
  log?: (msg: string) => void;
  clock?: Clock;
  ip?: IpRunner;
  mounter?: Mounter;
  /** Overrides of the kubelet's configuration (tests shorten its periods). */
  kubelet?: Partial<KubeletConfig>;
  /** Whether to ask for a serving certificate (default true; hollow nodes have no kubelet API). */
  servingCertificate?: boolean;
}

/** Makes clients for component identities; stop() ends their renewals and connections. */
export interface ComponentClients {
  clientFor(user: string): Promise<Client>;
  stop(): Promise<void>;
}

export interface RunningAgent {
  nodeName: string;
  kubelet: Kubelet;
  runtime: AgentRuntime;
  client: Client;
  servingCert?: CertSource;
  /** The node's client certificate, when the agent holds one (not in the server's process). */
  clientCert?: CertSource;
  /** Stops every component; containers keep running (a new agent adopts them). */
  stop(): Promise<void>;
}

/** Why the agent cannot run here as asked (one line with the fix), or undefined. */
export function agentPreflight(o: { simulated: boolean; containerRuntimeEndpoint?: string; uid?: number; path?: string }): string | undefined {
  if (o.simulated) return undefined;
  const uid = o.uid ?? process.getuid?.() ?? 0;
  if (o.containerRuntimeEndpoint) {
    if (uid !== 0) return 'the agent installs network routes and needs root: run it as root, or use --simulated';
  } else {
    const p = runtimePrerequisiteProblem({ uid, path: o.path });
    if (p) return p;
  }
  if (!which('ip', o.path ?? process.env.PATH ?? '')) return 'ip is not installed (the agent installs routes with it): install with: apt-get install iproute2';
  return undefined;
}

/** The first non-loopback IPv4 address of this network namespace (k3s's default node IP). */
export function defaultNodeIP(): string | undefined {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return undefined;
}

/** The default node name: the hostname, lower-cased (upstream's). */
export function defaultNodeName(): string {
  return hostname().toLowerCase();
}

/**
 * Starts the node's parts (steps 3–6 above) over a transport that already acts as the node. Takes
 * ownership of `transport` (closed on stop).
 */
export async function startNode(
  o: NodeOptions,
  transport: Transport,
  deps: NodeDeps & { clientCaPem?: string; clientCert?: CertSource; onStop?: () => Promise<void> | void; components?: ComponentClients } = {},
): Promise<RunningAgent> {
  const log = deps.log ?? ((m: string) => console.error(`agent: ${m}`));
  const clock = deps.clock ?? realClock;
  const stops: (() => Promise<void> | void)[] = [() => transport.close()];
  if (deps.onStop) stops.push(deps.onStop);
  const components = deps.components;
  if (components) stops.push(() => components.stop());
  const stopAll = async () => {
    for (const s of stops.splice(0).reverse()) {
      try {
        await s();
      } catch (e) {
        log(`stopping: ${(e as Error).message}`);
      }
    }
  };
  try {
    if (!o.simulated) {
      await installBlackholeRoutes([o.clusterCidr, o.serviceCidr], deps.ip ?? systemIp);
      log(`blackhole routes for ${o.clusterCidr} and ${o.serviceCidr} in place`);
    }
    const runtime = await startAgentRuntime({
      dataDir: o.dataDir,
      endpoint: o.containerRuntimeEndpoint,
      simulated: o.simulated,
      registriesFile: o.registryConfig,
      onEvent: (e: AgentRuntimeEvent) => log(runtimeEventLine(e)),
    });
    stops.push(() => runtime.stop());
    const client = new Client(transport);
    const kubelet = await startKubelet(
      {
        nodeName: o.nodeName,
        nodeIP: o.nodeIPs,
        clusterDNS: o.clusterDns,
        resolvConf: o.resolvConf,
        rootDir: join(o.dataDir, 'agent', 'kubelet'),
        podLogsDir: runtime.paths.podLogs,
        kubeletPort: o.kubeletPort,
        cgroupRoot: o.cgroupRoot,
        podStartupTrace: o.podStartupTrace,
        nodeLabels: o.nodeLabels,
        volumes: o.simulated ? 'none' : 'host',
        ...deps.kubelet,
      },
      { client, runtime: runtime.runtime, clock, log: (m) => log(`kubelet: ${m}`), setPodCidr: (c) => runtime.setPodCidr(c), mounter: deps.mounter ?? (o.simulated ? new NoTmpfsMounter() : undefined) },
    );
    stops.push(() => kubelet.stop());
    let servingCert: CertSource | undefined;
    if (deps.servingCertificate !== false) {
      const paths = credentialPaths(o.dataDir);
      const serving = new CertificateManager({
        name: 'kubelet serving',
        client: () => client,
        subject: () => ({ commonName: `system:node:${o.nodeName}`, organizations: ['system:nodes'], names: [o.nodeName, ...o.nodeIPs] }),
        signerName: KUBELET_SERVING_SIGNER,
        usages: SERVING_USAGES,
        certFile: paths.servingCert,
        keyFile: paths.servingKey,
        clock,
        log,
      });
      serving.start();
      stops.push(() => serving.stop());
      servingCert = serving;
    }
    const ctx: AgentHookContext = {
      nodeName: o.nodeName,
      nodeIPs: o.nodeIPs,
      dataDir: o.dataDir,
      kubelet,
      kubeletPort: o.kubeletPort,
      client,
      clientFor: (user) => (components ? components.clientFor(user) : Promise.reject(new Error(`no credentials for ${user} on this agent`))),
      runtime,
      servingCert: servingCert ?? unavailableCert(),
      clientCaPem: deps.clientCaPem,
      clusterCidr: o.clusterCidr,
      serviceCidr: o.serviceCidr,
      clusterDns: o.clusterDns,
      resolvConf: o.resolvConf,
      clusterDnsProcesses: o.clusterDnsProcesses ?? 1,
      log,
    };
    for (const which of ['kubeletServer', 'proxy', 'dns'] as const) {
      const start = deps.hooks?.[which];
      if (!start) continue;
      const c = await start(ctx);
      stops.push(() => c.stop());
    }
    return { nodeName: o.nodeName, kubelet, runtime, client, servingCert, clientCert: deps.clientCert, stop: stopAll };
  } catch (e) {
    await stopAll();
    throw e;
  }
}

function unavailableCert(): CertSource {
  return { current: () => undefined, ready: () => new Promise<CertPair>(() => {}), onChange: () => () => {} };
}

function runtimeEventLine(e: AgentRuntimeEvent): string {
  switch (e.type) {
    case 'started':
      return `containerd started (pid ${e.pid})`;
    case 'adopted':
      return `containerd adopted (pid ${e.pid})`;
    case 'exited':
      return `containerd (pid ${e.pid}) exited (${e.signal ?? `code ${e.code}`})`;
    case 'restart-failed':
      return `containerd restart failed: ${e.error}`;
    case 'imported':
      return `imported ${e.images.join(', ')} from ${e.file}`;
    case 'import-failed':
      return `could not import ${e.file}: ${e.error}`;
  }
}

export interface AgentOptions extends NodeOptions {
  /** https://HOST:PORT of an API server. */
  server: string;
  /** The join token (K10<ca-hash>::<id>.<secret>). */
  token: string;
}

export interface AgentDeps extends NodeDeps {
  transportFor?: TransportFactory;
  /** How long to wait for the bootstrap certificate (default 5 min). */
  bootstrapTimeoutMs?: number;
}

/**
 * `rudder agent`: preflight, join (or reuse the saved certificate), then the node. The node's
 * client certificate renews itself; each renewal moves the kubelet's connection to the new one.
 */
export async function runAgent(o: AgentOptions, deps: AgentDeps = {}): Promise<RunningAgent> {
  const log = deps.log ?? ((m: string) => console.error(`agent: ${m}`));
  const problem = agentPreflight({ simulated: o.simulated, containerRuntimeEndpoint: o.containerRuntimeEndpoint });
  if (problem) throw new RuntimeSetupError(problem);
  const joinToken = parseJoinToken(o.token);
  const transportFor = deps.transportFor ?? httpsTransportFactory;
  const creds: NodeCredentials = await bootstrapNodeCredentials({
    server: o.server,
    joinToken,
    nodeName: o.nodeName,
    dataDir: o.dataDir,
    transportFor,
    timeoutMs: deps.bootstrapTimeoutMs,
    clock: deps.clock,
    log,
  });
  const make = (p: CertPair) => transportFor({ server: o.server, caPem: creds.serverCaPem, certPem: p.certPem, keyPem: p.keyPem });
  const transport = new RotatingTransport(make({ certPem: creds.certPem, keyPem: creds.keyPem }));
  const client = new Client(transport);
  const clientCert = new CertificateManager({
    name: 'node client',
    client: () => client,
    subject: () => ({ commonName: `system:node:${o.nodeName}`, organizations: ['system:nodes'] }),
    signerName: KUBELET_CLIENT_SIGNER,
    usages: CLIENT_USAGES,
    certFile: creds.paths.cert,
    keyFile: creds.paths.key,
    initial: { certPem: creds.certPem, keyPem: creds.keyPem },
    onRotate: (p) => transport.rotate(make(p)),
    clock: deps.clock,
    log,
  });
  clientCert.start();
  const components = certificateComponentClients({
    dir: creds.paths.dir,
    nodeClient: client,
    transportFor: (p) => transportFor({ server: o.server, caPem: creds.serverCaPem, certPem: p.certPem, keyPem: p.keyPem }),
    clock: deps.clock,
    log,
  });
  return startNode(o, transport, { ...deps, log, clientCaPem: creds.clientCaPem, clientCert, onStop: () => clientCert.stop(), components });
}

/**
 * Component identities on a joined agent: for each user asked for, a client certificate
 * (kubernetes.io/kube-apiserver-client, CN the user) requested through the node's identity, kept as
 * <agent dir>/client-<user without "system:">.crt/.key and renewed like the node's own.
 */
export function certificateComponentClients(o: {
  dir: string;
  nodeClient: Client;
  transportFor: (p: CertPair) => Transport;
  clock?: Clock;
  log: (msg: string) => void;
}): ComponentClients {
  const made = new Map<string, Promise<Client>>();
  const certs: CertificateManager[] = [];
  const transports: RotatingTransport[] = [];
  let stopped = false;
  return {
    clientFor(user) {
      let p = made.get(user);
      if (!p) {
        const base = join(o.dir, `client-${user.replace(/^system:/, '').replace(/[^a-zA-Z0-9.-]/g, '-')}`);
        let transport: RotatingTransport | undefined;
        const cert = new CertificateManager({
          name: `${user} client`,
          client: () => o.nodeClient,
          subject: () => ({ commonName: user }),
          signerName: KUBE_APISERVER_CLIENT_SIGNER,
          usages: CLIENT_USAGES,
          certFile: `${base}.crt`,
          keyFile: `${base}.key`,
          onRotate: (pair) => transport?.rotate(o.transportFor(pair)),
          clock: o.clock,
          log: o.log,
        });
        certs.push(cert);
        cert.start();
        p = cert.ready().then((pair) => {
          if (stopped) throw new Error('the agent is stopping');
          transport = new RotatingTransport(o.transportFor(pair));
          transports.push(transport);
          return new Client(transport);
        });
        made.set(user, p);
      }
      return p;
    },
    async stop() {
      stopped = true;
      for (const c of certs) c.stop();
      await Promise.all(transports.map((t) => t.close()));
    },
  };
}

export interface ServerAgentOptions extends NodeOptions {
  /** The client CA of the server's PKI (what the kubelet API trusts). */
  clientCaPem?: string;
}

/**
 * The agent `rudder server` runs in its own process: no bootstrap, the in-process transport acting
 * as system:node:<name> (groups system:nodes, system:authenticated). `transportFor` builds that
 * transport for a user: in the server, `(user) => api.localTransport(user, AGENT_USER_AGENT)`.
 */
export async function startServerAgent(
  o: ServerAgentOptions,
  transportFor: (user: { name: string; groups: string[] }) => Transport,
  deps: NodeDeps = {},
): Promise<RunningAgent> {
  const problem = agentPreflight({ simulated: o.simulated, containerRuntimeEndpoint: o.containerRuntimeEndpoint });
  if (problem) throw new RuntimeSetupError(problem);
  const transport = transportFor({ name: `system:node:${o.nodeName}`, groups: ['system:nodes', 'system:authenticated'] });
  const opened: Transport[] = [];
  const components: ComponentClients = {
    async clientFor(user) {
      const t = transportFor({ name: user, groups: ['system:authenticated'] });
      opened.push(t);
      return new Client(t);
    },
    async stop() {
      await Promise.all(opened.splice(0).map((t) => t.close()));
    },
  };
  return startNode(o, transport, { ...deps, clientCaPem: o.clientCaPem, components });
}
