// rudder server: the control plane on this machine. Flags → ServerConfig → components.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { flushCompileCache } from 'node:module';
import { dirname, join } from 'node:path';
import { parse as parseYaml } from 'yaml';
import { apiCodecs, apiHooks } from '../apiserver/codecs.ts';
import { ensureAdminCert, ensurePki } from '../apiserver/pki.ts';
import { startApiServer } from '../apiserver/server.ts';
import { parseCidr, intToIp } from '../apiserver/allocators.ts';
import { openStore } from '../storage/open.ts';
import { startControllerManager, type ControllerManager } from '../controllers/manager.ts';
import { startSchedulerThread, type SchedulerThread } from '../scheduler/scheduler-thread.ts';
import { allControllers, controllerManagerConfig } from './controllers.ts';
import type { Command } from './command.ts';
import { UsageError, formatHelp, parseFlags, type FlagSpec, type FlagValues } from './flags.ts';
import { defaultDataDir, defaultKubeconfig } from './paths.ts';
import { NODE_FLAGS, nodeOptionsFromFlags } from './agent.ts';
import { prepareJoining, serverAgentPreflight, serverSigningConfig, startServerNode } from './server-agent.ts';
import type { NodeOptions, RunningAgent } from '../agent/agent.ts';

export interface ServerConfig {
  dataDir: string;
  httpsListenPort: number;
  bindAddress: string;
  advertiseAddress: string;
  writeKubeconfig: string;
  datastoreEndpoint: string;
  datastoreTls: { caFile?: string; certFile?: string; keyFile?: string };
  clusterCidr: string;
  nodeCidrMaskSize: number;
  serviceCidr: string;
  serviceNodePortRange: string;
  clusterDns: string;
  tlsSans: string[];
  disableAgent: boolean;
  disableScheduler: boolean;
  disableControllerManager: boolean;
  nodeMonitorGracePeriodMs: number;
  defaultNotReadyTolerationSeconds: number;
  defaultUnreachableTolerationSeconds: number;
  schedulerConfig?: string;
  auditPolicyFile?: string;
  /** upstream's --authorization-mode: Node,RBAC, or AlwaysAllow (for measuring authorization's cost). */
  authorizationMode?: 'Node,RBAC' | 'AlwaysAllow';
  /** The agent this server runs (absent with --disable-agent). */
  node?: NodeOptions;
  maxRequestsInflight: number;
  maxMutatingRequestsInflight: number;
  /** undefined: secrets are stored in plain text (--secrets-encryption=false). */
  encryptionConfigFile?: string;
  auditLogPath: string;
  auditLogMaxSizeMB: number;
  auditLogMaxBackups: number;
  auditLogMaxAgeDays: number;
}

const FLAGS: FlagSpec[] = [
  { name: 'config', type: 'string', metavar: 'FILE', help: "rudder's YAML config file with the same names as these flags" },
  { name: 'data-dir', type: 'string', metavar: 'DIR', help: 'state directory (default /var/lib/rudder as root, ~/.rudder otherwise)' },
  { name: 'https-listen-port', type: 'int', metavar: 'PORT', default: 6443, help: 'port of the API server (0 picks a free one)' },
  { name: 'bind-address', type: 'string', metavar: 'ADDR', default: '0.0.0.0', help: 'address the API server listens on' },
  { name: 'advertise-address', type: 'string', metavar: 'IP', help: "address the cluster reaches the API server at (default: this host's first non-loopback IPv4)" },
  { name: 'write-kubeconfig', type: 'string', metavar: 'FILE', help: "where to write the admin kubeconfig (default <data-dir>/kubeconfig.yaml)" },
  { name: 'datastore-endpoint', type: 'string', metavar: 'URL', help: 'sqlite:///path.db (default <data-dir>/db/state.db) or etcd http(s)://host:port[,…]' },
  { name: 'datastore-cafile', type: 'string', metavar: 'FILE', help: 'CA bundle for an https etcd datastore' },
  { name: 'datastore-certfile', type: 'string', metavar: 'FILE', help: 'client certificate for an https etcd datastore' },
  { name: 'datastore-keyfile', type: 'string', metavar: 'FILE', help: 'client key for an https etcd datastore' },
  { name: 'cluster-cidr', type: 'string', metavar: 'CIDR', default: '10.42.0.0/16', help: 'pod addresses' },
  { name: 'node-cidr-mask-size', type: 'int', metavar: 'BITS', default: 24, help: "size of each node's pod CIDR" },
  { name: 'service-cidr', type: 'string', metavar: 'CIDR', default: '10.43.0.0/16', help: 'Service ClusterIPs' },
  { name: 'service-node-port-range', type: 'string', metavar: 'FROM-TO', default: '30000-32767', help: 'NodePort range' },
  { name: 'cluster-dns', type: 'string', metavar: 'IP', default: '10.43.0.10', help: 'ClusterIP of the cluster DNS Service' },
  { name: 'tls-san', type: 'list', metavar: 'NAME|IP', default: [], help: 'extra names and addresses for the serving certificate (repeatable)' },
  { name: 'disable-agent', type: 'bool', help: 'do not run an agent (kubelet, proxy) on this machine' },
  { name: 'disable-scheduler', type: 'bool', help: 'do not run the scheduler' },
  { name: 'disable-controller-manager', type: 'bool', help: 'do not run the controller-manager' },
  { name: 'node-monitor-grace-period', type: 'duration', default: 50_000, help: 'how long a node may miss Lease renewals before it is NotReady' },
  { name: 'default-not-ready-toleration-seconds', type: 'int', default: 300, help: 'tolerationSeconds added for node.kubernetes.io/not-ready' },
  { name: 'default-unreachable-toleration-seconds', type: 'int', default: 300, help: 'tolerationSeconds added for node.kubernetes.io/unreachable' },
  { name: 'scheduler-config', type: 'string', metavar: 'FILE', help: 'KubeSchedulerConfiguration file' },
  { name: 'authorization-mode', type: 'string', metavar: 'MODES', default: 'Node,RBAC', help: 'Node,RBAC, or AlwaysAllow (every authenticated request allowed: for benchmarks, never for a cluster)' },
  { name: 'audit-policy-file', type: 'string', metavar: 'FILE', help: 'audit Policy (audit.k8s.io/v1); auditing is off without one' },
  { name: 'audit-log-path', type: 'string', metavar: 'FILE', help: 'where audit events go (default <data-dir>/server/logs/audit.log)' },
  { name: 'audit-log-maxsize', type: 'int', default: 100, help: 'megabytes before the audit log is rotated (0: never)' },
  { name: 'audit-log-maxbackup', type: 'int', default: 10, help: 'rotated audit logs kept (0: all)' },
  { name: 'audit-log-maxage', type: 'int', default: 30, help: 'days a rotated audit log is kept (0: forever)' },
  { name: 'secrets-encryption', type: 'bool', default: true, help: 'encrypt secrets at rest (a key is made on first start; see rudder secrets-encrypt)' },
  { name: 'encryption-provider-config', type: 'string', metavar: 'FILE', help: 'EncryptionConfiguration file (default <data-dir>/server/cred/encryption-config.yaml)' },
  { name: 'max-requests-inflight', type: 'int', default: 400, help: 'read-only requests served at once before 429s (0: no limit)' },
  { name: 'max-mutating-requests-inflight', type: 'int', default: 200, help: 'mutating requests served at once before 429s (0: no limit)' },
  ...NODE_FLAGS,
];

/** Values from --config FILE under the same names; command-line flags win. */
function withConfigFile(argv: string[]): string[] {
  const i = argv.findIndex((a) => a === '--config' || a.startsWith('--config='));
  if (i < 0) return argv;
  const file = argv[i]!.includes('=') ? argv[i]!.split('=').slice(1).join('=') : argv[i + 1];
  if (!file) throw new UsageError('flag needs an argument: --config');
  let doc: unknown;
  try {
    doc = parseYaml(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new UsageError(`cannot read --config ${file}: ${(e as Error).message.split('\n')[0]}`);
  }
  if (doc === null || doc === undefined) return argv;
  if (typeof doc !== 'object' || Array.isArray(doc)) throw new UsageError(`--config ${file}: expected a mapping of flag names to values`);
  const fromFile: string[] = [];
  for (const [k, v] of Object.entries(doc as Record<string, unknown>)) {
    const spec = FLAGS.find((f) => f.name === k);
    if (!spec || k === 'config') throw new UsageError(`--config ${file}: unknown setting "${k}"`);
    if (Array.isArray(v)) for (const x of v) fromFile.push(`--${k}=${String(x)}`);
    else fromFile.push(`--${k}=${String(v)}`);
  }
  return [...fromFile, ...argv];
}

function firstIPv4(): string {
  for (const addrs of Object.values(networkInterfaces())) {
    for (const a of addrs ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

export function serverConfig(argv: string[]): ServerConfig {
  const { values: v, args } = parseFlags(FLAGS, withConfigFile(argv));
  if (args.length) throw new UsageError(`unexpected argument "${args[0]}"`);
  const s = (k: string) => v[k] as string | undefined;
  const dataDir = s('data-dir') ?? defaultDataDir();
  for (const c of ['cluster-cidr', 'service-cidr']) {
    try {
      parseCidr(s(c)!);
    } catch (e) {
      throw new UsageError(`invalid value "${s(c)}" for flag --${c}: ${(e as Error).message}`);
    }
  }
  if (!/^\d+-\d+$/.test(s('service-node-port-range')!)) {
    throw new UsageError(`invalid value "${s('service-node-port-range')}" for flag --service-node-port-range: want FROM-TO, e.g. 30000-32767`);
  }
  const authorizationMode = s('authorization-mode')!;
  if (authorizationMode !== 'Node,RBAC' && authorizationMode !== 'AlwaysAllow') {
    throw new UsageError(`invalid value "${authorizationMode}" for flag --authorization-mode: rudder supports Node,RBAC and AlwaysAllow`);
  }
  const port = v['https-listen-port'] as number;
  if (port < 0 || port > 65535) throw new UsageError(`invalid value "${port}" for flag --https-listen-port: must be 0-65535`);
  return {
    dataDir,
    httpsListenPort: port,
    bindAddress: s('bind-address')!,
    advertiseAddress: s('advertise-address') ?? firstIPv4(),
    writeKubeconfig: s('write-kubeconfig') ?? defaultKubeconfig(dataDir),
    datastoreEndpoint: s('datastore-endpoint') ?? `sqlite://${join(dataDir, 'db', 'state.db')}`,
    datastoreTls: { caFile: s('datastore-cafile'), certFile: s('datastore-certfile'), keyFile: s('datastore-keyfile') },
    clusterCidr: s('cluster-cidr')!,
    nodeCidrMaskSize: v['node-cidr-mask-size'] as number,
    serviceCidr: s('service-cidr')!,
    serviceNodePortRange: s('service-node-port-range')!,
    clusterDns: s('cluster-dns')!,
    tlsSans: (v['tls-san'] as string[]) ?? [],
    disableAgent: !!v['disable-agent'],
    disableScheduler: !!v['disable-scheduler'],
    disableControllerManager: !!v['disable-controller-manager'],
    nodeMonitorGracePeriodMs: v['node-monitor-grace-period'] as number,
    defaultNotReadyTolerationSeconds: v['default-not-ready-toleration-seconds'] as number,
    defaultUnreachableTolerationSeconds: v['default-unreachable-toleration-seconds'] as number,
    schedulerConfig: s('scheduler-config'),
    auditPolicyFile: s('audit-policy-file'),
    authorizationMode,
    node: v['disable-agent'] ? undefined : nodeOptionsFromFlags(v, { dataDir, clusterDns: [s('cluster-dns')!], clusterCidr: s('cluster-cidr')!, serviceCidr: s('service-cidr')! }),
    maxRequestsInflight: v['max-requests-inflight'] as number,
    maxMutatingRequestsInflight: v['max-mutating-requests-inflight'] as number,
    auditLogPath: s('audit-log-path') ?? join(dataDir, 'server', 'logs', 'audit.log'),
    auditLogMaxSizeMB: v['audit-log-maxsize'] as number,
    auditLogMaxBackups: v['audit-log-maxbackup'] as number,
    auditLogMaxAgeDays: v['audit-log-maxage'] as number,
    encryptionConfigFile: v['secrets-encryption'] ? (s('encryption-provider-config') ?? join(dataDir, 'server', 'cred', 'encryption-config.yaml')) : undefined,
  };
}

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} rudder: ${msg}\n`);
}

function kubeconfigYaml(server: string, caPem: string, cert: string, key: string): string {
  const b64 = (s: string) => Buffer.from(s).toString('base64');
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: default',
    '  cluster:',
    `    server: ${server}`,
    `    certificate-authority-data: ${b64(caPem)}`,
    'contexts:',
    '- name: default',
    '  context:',
    '    cluster: default',
    '    user: default',
    'current-context: default',
    'users:',
    '- name: default',
    '  user:',
    `    client-certificate-data: ${b64(cert)}`,
    `    client-key-data: ${b64(key)}`,
    'preferences: {}',
    '',
  ].join('\n');
}

export async function runServer(cfg: ServerConfig): Promise<{ stop(): Promise<void>; port: number }> {
  const started = Date.now();
  if (cfg.node) serverAgentPreflight(cfg.node);
  // The datastore first: an endpoint it refuses leaves nothing behind, not even the data dir.
  const store = await openStore(cfg.datastoreEndpoint, cfg.datastoreTls);
  mkdirSync(cfg.dataDir, { recursive: true, mode: 0o700 });
  const serviceIP = intToIp(parseCidr(cfg.serviceCidr).base + 1);
  const sans = new Set<string>([
    'kubernetes',
    'kubernetes.default',
    'kubernetes.default.svc',
    'kubernetes.default.svc.cluster.local',
    'localhost',
    '127.0.0.1',
    serviceIP,
    hostname(),
    cfg.advertiseAddress,
    ...cfg.tlsSans,
  ]);
  for (const addrs of Object.values(networkInterfaces())) for (const a of addrs ?? []) if (a.family === 'IPv4') sans.add(a.address);
  if (cfg.bindAddress !== '0.0.0.0' && cfg.bindAddress !== '::') sans.add(cfg.bindAddress);
  const pki = await ensurePki(join(cfg.dataDir, 'server', 'tls'), { sans: [...sans] });
  const api = await startApiServer(
    {
      bindAddress: cfg.bindAddress,
      port: cfg.httpsListenPort,
      advertiseAddress: cfg.advertiseAddress,
      serviceCidr: cfg.serviceCidr,
      serviceNodePortRange: cfg.serviceNodePortRange,
      minRequestTimeoutSeconds: 1800,
      defaultNotReadyTolerationSeconds: cfg.defaultNotReadyTolerationSeconds,
      defaultUnreachableTolerationSeconds: cfg.defaultUnreachableTolerationSeconds,
      maxRequestsInflight: cfg.maxRequestsInflight,
      maxMutatingRequestsInflight: cfg.maxMutatingRequestsInflight,
      encryptionConfigFile: cfg.encryptionConfigFile,
      alwaysAllow: cfg.authorizationMode === 'AlwaysAllow',
      audit: cfg.auditPolicyFile
        ? { policyFile: cfg.auditPolicyFile, logPath: cfg.auditLogPath, maxSizeMB: cfg.auditLogMaxSizeMB, maxBackups: cfg.auditLogMaxBackups, maxAgeDays: cfg.auditLogMaxAgeDays }
        : undefined,
    },
    { store, pki, hooks: apiHooks(), codecs: apiCodecs(), log },
  );
  let cm: ControllerManager | undefined;
  if (!cfg.disableControllerManager) {
    cm = startControllerManager({
      transport: api.localTransport({ name: 'system:kube-controller-manager', groups: ['system:authenticated'] }, 'kube-controller-manager/v1.33.0 (rudder)'),
      transportFor: (sa) =>
        api.localTransport(
          { name: `system:serviceaccount:kube-system:${sa}`, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] },
          `kube-controller-manager/v1.33.0 (rudder) ${sa}`,
        ),
      config: controllerManagerConfig({ ...cfg, rootCaCert: pki.serverCaCert, signing: serverSigningConfig(cfg.dataDir) }),
      controllers: allControllers(),
      log,
    });
  }
  // The scheduler runs on a worker thread of its own (off the API server's event loop), through
  // the in-process transport answered on this thread.
  let scheduler: SchedulerThread | undefined;
  if (!cfg.disableScheduler) {
    try {
      scheduler = startSchedulerThread({
        transport: api.localTransport({ name: 'system:kube-scheduler', groups: ['system:authenticated'] }, 'kube-scheduler/v1.33.0 (rudder)'),
        config: cfg.schedulerConfig ? readFileSync(cfg.schedulerConfig, 'utf8') : undefined,
        log: (m) => log(`scheduler: ${m}`),
      });
    } catch (e) {
      // an invalid --scheduler-config: the server exits with the error instead of serving without a scheduler
      await cm?.stop();
      await api.close();
      await store.close();
      throw e;
    }
  }
  await prepareJoining((u, ua) => api.localTransport(u, ua));
  let agent: RunningAgent | undefined;
  if (cfg.node) {
    try {
      agent = await startServerNode((u, ua) => api.localTransport(u, ua), cfg.node, pki.clientCaCert, log);
    } catch (e) {
      await scheduler?.stop();
      await cm?.stop();
      await api.close();
      await store.close();
      throw e;
    }
  }
  const admin = await ensureAdminCert(pki);
  const host = cfg.bindAddress === '0.0.0.0' || cfg.bindAddress === '::' ? '127.0.0.1' : cfg.bindAddress;
  mkdirSync(dirname(cfg.writeKubeconfig), { recursive: true, mode: 0o700 });
  writeFileSync(cfg.writeKubeconfig, kubeconfigYaml(`https://${host}:${api.port}`, pki.serverCaCert, admin.cert, admin.key), { mode: 0o600 });
  log(`API server ready at https://${host}:${api.port} in ${Date.now() - started} ms (datastore ${cfg.datastoreEndpoint.replace(/\/\/[^@/]*@/, '//')})`);
  log(`admin kubeconfig written to ${cfg.writeKubeconfig}; try: KUBECONFIG=${cfg.writeKubeconfig} kubectl get namespaces`);
  return {
    port: api.port,
    async stop() {
      await agent?.stop();
      await scheduler?.stop();
      await cm?.stop();
      await api.close();
      await store.close();
    },
  };
}

export const serverCommand: Command = {
  name: 'server',
  summary: 'Run the control plane (API server, controllers, scheduler) on this machine',
  help: () => formatHelp('rudder server [flags]', 'Run the control plane: the API server on an embedded SQLite store (or etcd), with its controllers.', FLAGS),
  async run(argv) {
    const cfg = serverConfig(argv);
    if (cfg.schedulerConfig && !existsSync(cfg.schedulerConfig)) throw new UsageError(`--scheduler-config ${cfg.schedulerConfig}: no such file`);
    if (cfg.auditPolicyFile && !existsSync(cfg.auditPolicyFile)) throw new UsageError(`--audit-policy-file ${cfg.auditPolicyFile}: no such file`);
    const srv = await runServer(cfg);
    // Every module the server needs is loaded by now: write their compiled (type-stripped) form to
    // the compile cache bin/rudder enables, so the next start skips stripping TypeScript (and the
    // stripper's memory) even if this one ends with kill -9 rather than a clean exit.
    flushCompileCache();
    await new Promise<void>((resolve) => {
      let stopping = false;
      const stop = (sig: string) => {
        if (stopping) return;
        stopping = true;
        log(`${sig}: shutting down`);
        srv.stop().then(resolve, resolve);
      };
      process.once('SIGTERM', () => stop('SIGTERM'));
      process.once('SIGINT', () => stop('SIGINT'));
    });
    return 0;
  },
};

export type { FlagValues };
