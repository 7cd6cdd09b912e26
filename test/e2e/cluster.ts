// A whole rudder cluster for end-to-end tests, built so that nothing can reach past this machine
// (DESIGN.md §8, network safety):
//
//   fabric netns  ── bridge br0 172.31.0.1/24, the test registry (Debian's docker-registry) on :5000
//     ├─ veth ── server netns  172.31.0.2   `rudder server` (the API on :6443)
//     ├─ veth ── node netns    172.31.0.10  `rudder agent` + its own containerd
//     └─ veth ── node netns    172.31.0.11  …
//
// Every namespace is created here with loopback up, one link into the fabric and no default route;
// the machine's own namespace and routes are never touched. Every process runs under
// `nsenter --net=/run/netns/<ns>` (not `ip netns exec`, which remounts /sys and breaks runc — see
// shared/notes/runtime-facts.md). Names are unique per run. destroy() removes everything by what
// was recorded: processes by PID (the server, agents, their containerd from its pid file, shims by
// their socket), pod sandboxes through CRI, mounts under the run's directory, cgroups, namespaces and
// the directory itself.
//
// Images: the test images (scripts/images/build.sh) are pushed to the registry, and every node's
// registries file mirrors docker.io, registry.k8s.io and registry.rudder.test to it, so every pull is
// a real pull that never leaves the machine.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { CriClient } from '../../src/kubelet/cri/client.ts';
import { agentPaths } from '../../src/kubelet/runtime/agent-runtime.ts';
import { containerdPaths } from '../../src/kubelet/runtime/containerd.ts';
import { mountsUnder, pidsWithArgs, removeCgroupTree, testImageTarballs } from '../../src/kubelet/runtime/testenv.ts';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const RUDDER = join(ROOT, 'bin', 'rudder');
const NODE24 = join(ROOT, 'node_modules', 'node', 'bin', 'node');
const PATH = '/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin';
const KUBECTL = '/usr/bin/kubectl';

const SUBNET = '172.31.0';
export const FABRIC_IP = `${SUBNET}.1`;
export const SERVER_IP = `${SUBNET}.2`;
const API_PORT = 6443;
const REGISTRY_PORT = 5000;

export interface Result {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Why these tests cannot run here, or undefined. */
export function e2eProblem(): string | undefined {
  if (process.getuid?.() !== 0) return 'end-to-end tests create network namespaces and run containerd: run them as root';
  for (const bin of ['ip', 'nsenter', 'containerd', 'runc', 'docker-registry', 'tar']) {
    try {
      execFileSync('sh', ['-c', `command -v ${bin}`], { stdio: 'ignore', env: { PATH } });
    } catch {
      return `${bin} is missing: run scripts/setup.sh`;
    }
  }
  return undefined;
}

function sh(cmd: string, args: string[]): string {
  return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], env: { PATH } });
}

function alive(pid: number | undefined): boolean {
  if (!pid) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function waitGone(pid: number, ms: number): Promise<boolean> {
  const end = Date.now() + ms;
  while (alive(pid) && Date.now() < end) await new Promise((r) => setTimeout(r, 50));
  return !alive(pid);
}

/** SIGTERM, then SIGKILL after graceMs; by PID only. */
async function terminate(pid: number | undefined, graceMs = 10_000): Promise<void> {
  if (!pid || !alive(pid)) return;
  try {
    process.kill(pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await waitGone(pid, graceMs)) return;
  try {
    process.kill(pid, 'SIGKILL');
  } catch {
    return;
  }
  await waitGone(pid, 5000);
}

/** A process started inside a namespace, with its output kept. */
export class NsProcess {
  readonly proc: ChildProcess;
  #out = '';
  #exit: Promise<number | null>;
  constructor(ns: string, cmd: string, args: string[], env: Record<string, string> = {}) {
    this.proc = spawn('nsenter', [`--net=/run/netns/${ns}`, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], env: { PATH, HOME: '/root', ...env } });
    this.proc.stdout!.on('data', (c) => (this.#out += c));
    this.proc.stderr!.on('data', (c) => (this.#out += c));
    this.#exit = new Promise((r) => this.proc.once('exit', (code) => r(code)));
  }
  get pid(): number | undefined {
    return this.proc.pid;
  }
  get running(): boolean {
    return this.proc.exitCode === null && this.proc.signalCode === null;
  }
  logs(): string {
    return this.#out;
  }
  exited(): Promise<number | null> {
    return this.#exit;
  }
  /** Resolves with the first match of re in the output; rejects when the process exits first or after timeoutMs. */
  waitFor(re: RegExp, timeoutMs: number, what: string): Promise<RegExpExecArray> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const m = re.exec(this.#out);
        if (m) {
          done();
          resolve(m);
        }
      };
      const onExit = (code: number | null) => {
        done();
        reject(new Error(`${what}: the process exited (${code}) first:\n${this.#out}`));
      };
      const t = setTimeout(() => {
        done();
        reject(new Error(`${what}: not within ${timeoutMs} ms:\n${this.#out}`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(t);
        this.proc.stdout!.off('data', check);
        this.proc.stderr!.off('data', check);
        this.proc.off('exit', onExit);
      };
      this.proc.stdout!.on('data', check);
      this.proc.stderr!.on('data', check);
      this.proc.once('exit', onExit);
      check();
    });
  }
  stop(graceMs?: number): Promise<void> {
    return terminate(this.pid, graceMs);
  }
}

/** Runs a command to completion inside a namespace (without blocking the event loop). */
export function runIn(ns: string, cmd: string, args: string[], o: { env?: Record<string, string>; input?: string; timeoutMs?: number } = {}): Promise<Result> {
  return new Promise((resolve) => {
    const p = spawn('nsenter', [`--net=/run/netns/${ns}`, cmd, ...args], { stdio: ['pipe', 'pipe', 'pipe'], env: { PATH, HOME: '/root', ...o.env } });
    let stdout = '';
    let stderr = '';
    p.stdout.on('data', (c) => (stdout += c));
    p.stderr.on('data', (c) => (stderr += c));
    const t = setTimeout(() => p.kill('SIGKILL'), o.timeoutMs ?? 120_000);
    p.on('close', (code) => {
      clearTimeout(t);
      resolve({ code, stdout, stderr });
    });
    // A program that exits without reading its input closes the pipe first (EPIPE): its exit code says how it went.
    p.stdin.on('error', () => {});
    p.stdin.end(o.input ?? '');
  });
}

export interface E2ENode {
  name: string;
  ns: string;
  ip: string;
  dataDir: string;
  cgroupRoot: string;
  /** The running agent process (replaced by restartAgent). */
  agent: NsProcess;
  /** The PID of the node's own containerd, from its pid file. */
  containerdPid(): number | undefined;
}

export interface AgentOptions {
  /** The join token (default: a fresh one from `rudder token create`). */
  token?: string;
  extraArgs?: string[];
  /** Resolve once the agent logs that its node registered (default true). */
  waitRegistered?: boolean;
  /** Extra environment for the agent process (e.g. NODE_OPTIONS for a CPU profile). */
  env?: Record<string, string>;
}

export interface ClusterOptions {
  /** Run the server with its own agent (node "srv", with its own containerd) instead of --disable-agent. */
  serverAgent?: boolean;
  serverArgs?: string[];
  /**
   * Run an upstream resolver in the fabric on FABRIC_IP:53 (the nameserver of the nodes'
   * --resolv-conf) answering these names' A records, every other name NXDOMAIN. Without it that
   * address answers nothing: names outside the cluster time out.
   */
  upstreamDns?: Record<string, string>;
}

/** The name of the server's own node when it runs an agent. */
export const SERVER_NODE = 'srv';

interface NetnsMember {
  ns: string;
  ip: string;
}

export class E2ECluster {
  readonly run: string;
  readonly dir: string;
  readonly fabricNs: string;
  readonly serverNs: string;
  readonly registryUrl = `http://${FABRIC_IP}:${REGISTRY_PORT}`;
  readonly serverUrl = `https://${SERVER_IP}:${API_PORT}`;
  readonly registriesFile: string;
  readonly resolvConf: string;
  readonly kubeconfig: string;
  readonly nodes: E2ENode[] = [];
  server?: NsProcess;
  registry?: NsProcess;
  /** The upstream resolver (ClusterOptions.upstreamDns); its output has a line per question asked. */
  upstreamDns?: NsProcess;
  readonly #namespaces: string[] = [];
  readonly #cgroupRoots: string[] = [];
  readonly #oneShots: NsProcess[] = [];
  /** The command line each joined node's agent was started with, for restartAgent. */
  readonly #agentArgs = new Map<string, string[]>();
  readonly #agentEnv = new Map<string, Record<string, string>>();
  /** Agents replaced by restartAgent, stopped again in destroy() in case they outlived their kill. */
  readonly #retired: NsProcess[] = [];
  #nextHost = 10;

  constructor() {
    this.run = randomBytes(3).toString('hex');
    this.dir = join('/tmp', `rudder-e2e-${this.run}`);
    this.fabricNs = `rdr-${this.run}-fab`;
    this.serverNs = `rdr-${this.run}-srv`;
    this.registriesFile = join(this.dir, 'registries.yaml');
    this.resolvConf = join(this.dir, 'resolv.conf');
    this.kubeconfig = join(this.dir, 'server', 'kubeconfig.yaml');
  }

  #netns(ns: string): void {
    sh('ip', ['netns', 'add', ns]);
    this.#namespaces.push(ns);
    sh('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  }

  /** A namespace joined to the fabric by a veth: `eth0` inside, `p-<tag>` on the bridge; no default route. */
  #member(ns: string, tag: string, ip: string): NetnsMember {
    this.#netns(ns);
    const port = `p-${tag}`.slice(0, 15);
    sh('ip', ['-n', this.fabricNs, 'link', 'add', port, 'type', 'veth', 'peer', 'name', 'eth0', 'netns', ns]);
    sh('ip', ['-n', this.fabricNs, 'link', 'set', port, 'master', 'br0', 'up']);
    sh('ip', ['-n', ns, 'addr', 'add', `${ip}/24`, 'dev', 'eth0']);
    sh('ip', ['-n', ns, 'link', 'set', 'eth0', 'up']);
    return { ns, ip };
  }

  /** The routes of a namespace (`ip route show`). */
  routes(ns: string, ...args: string[]): string {
    return sh('ip', ['-n', ns, 'route', 'show', ...args]);
  }

  async start(o: ClusterOptions = {}): Promise<void> {
    mkdirSync(this.dir, { recursive: true, mode: 0o700 });
    // The fabric: a bridge with the registry's address, and nothing else.
    this.#netns(this.fabricNs);
    sh('ip', ['-n', this.fabricNs, 'link', 'add', 'br0', 'type', 'bridge']);
    sh('ip', ['-n', this.fabricNs, 'addr', 'add', `${FABRIC_IP}/24`, 'dev', 'br0']);
    sh('ip', ['-n', this.fabricNs, 'link', 'set', 'br0', 'up']);

    // The registry, with the test images pushed into it.
    const tarballs = testImageTarballs();
    const regDir = join(this.dir, 'registry');
    mkdirSync(regDir, { recursive: true });
    writeFileSync(
      join(regDir, 'config.yml'),
      ['version: 0.1', 'log:', '  level: warn', 'storage:', '  filesystem:', `    rootdirectory: ${join(regDir, 'data')}`, 'http:', `  addr: ${FABRIC_IP}:${REGISTRY_PORT}`, ''].join('\n'),
    );
    this.registry = new NsProcess(this.fabricNs, 'docker-registry', ['serve', join(regDir, 'config.yml')]);
    const pushed = await runIn(this.fabricNs, NODE24, ['--disable-warning=ExperimentalWarning', join(ROOT, 'test', 'e2e', 'push-images.ts'), this.registryUrl, ...tarballs], { timeoutMs: 120_000 });
    if (pushed.code !== 0) throw new Error(`pushing the test images failed:\n${pushed.stderr}${pushed.stdout}\n${this.registry.logs()}`);
    writeFileSync(
      this.registriesFile,
      ['mirrors:', ...['docker.io', 'registry.k8s.io', 'registry.rudder.test'].flatMap((h) => [`  ${h}:`, '    endpoint:', `      - "${this.registryUrl}"`]), ''].join('\n'),
    );
    // Upstream resolvers for pods and the cluster DNS: an address in the fabric, where nothing
    // answers unless the test asked for the stub resolver.
    writeFileSync(this.resolvConf, `nameserver ${FABRIC_IP}\n`);
    if (o.upstreamDns) {
      this.upstreamDns = new NsProcess(this.fabricNs, NODE24, ['--disable-warning=ExperimentalWarning', join(ROOT, 'test', 'e2e', 'upstream-dns.ts'), FABRIC_IP, JSON.stringify(o.upstreamDns)]);
      await this.upstreamDns.waitFor(/upstream dns ready/, 30_000, 'the upstream resolver');
    }

    // The server.
    this.#member(this.serverNs, 'srv', SERVER_IP);
    const serverDir = join(this.dir, 'server');
    const agentArgs = o.serverAgent
      ? ['--node-name', SERVER_NODE, '--node-ip', SERVER_IP, '--registry-config', this.registriesFile, '--resolv-conf', this.resolvConf, '--cgroup-root', `/rdr-${this.run}-${SERVER_NODE}`]
      : ['--disable-agent'];
    this.server = new NsProcess(this.serverNs, RUDDER, [
      'server',
      '--data-dir',
      join(this.dir, 'server'),
      '--https-listen-port',
      String(API_PORT),
      '--bind-address',
      '0.0.0.0',
      '--advertise-address',
      SERVER_IP,
      ...agentArgs,
      ...(o.serverArgs ?? []),
    ]);
    if (o.serverAgent) {
      // The server's own node is cleaned up like any other: its containerd lives under the server's data dir.
      this.#cgroupRoots.push(`rdr-${this.run}-${SERVER_NODE}`);
      this.nodes.push(this.#nodeRecord(SERVER_NODE, this.serverNs, SERVER_IP, serverDir, `/rdr-${this.run}-${SERVER_NODE}`, this.server));
    }
    await this.server.waitFor(/API server ready at https:\/\/127\.0\.0\.1:\d+/, 60_000, 'rudder server');
  }

  /** kubectl with the admin kubeconfig, run inside the server's namespace. */
  kubectl(args: string[], o: { input?: string; timeoutMs?: number } = {}): Promise<Result> {
    const home = join(this.dir, 'kubectl-home');
    mkdirSync(home, { recursive: true });
    return runIn(this.serverNs, KUBECTL, ['--kubeconfig', this.kubeconfig, '--cache-dir', join(home, 'cache'), ...args], { env: { HOME: home }, ...o });
  }

  /** kubectl that must succeed; answers stdout. */
  async k(args: string[], o: { input?: string } = {}): Promise<string> {
    const r = await this.kubectl(args, o);
    if (r.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${r.code}):\n${r.stderr}${r.stdout}`);
    return r.stdout;
  }

  /** `rudder token create` on the server machine. */
  async token(args: string[] = []): Promise<string> {
    const r = await runIn(this.serverNs, RUDDER, ['token', 'create', '--data-dir', join(this.dir, 'server'), ...args]);
    if (r.code !== 0) throw new Error(`rudder token create failed (${r.code}): ${r.stderr}`);
    return r.stdout.trim();
  }

  /** A fresh namespace on the fabric for a node, and its address. */
  newNodeNamespace(name: string): NetnsMember {
    const ip = `${SUBNET}.${this.#nextHost++}`;
    return this.#member(`rdr-${this.run}-${name}`, name, ip);
  }

  /** Starts `rudder agent` for a new node in a namespace of its own, with its own containerd. */
  async addNode(name: string, o: AgentOptions = {}): Promise<E2ENode> {
    const { ns, ip } = this.newNodeNamespace(name);
    const token = o.token ?? (await this.token());
    const dataDir = join(this.dir, 'nodes', name);
    const cgroupRoot = `/rdr-${this.run}-${name}`;
    this.#cgroupRoots.push(cgroupRoot.slice(1));
    const args = [
      'agent',
      '--server',
      this.serverUrl,
      '--token',
      token,
      '--data-dir',
      dataDir,
      '--node-name',
      name,
      '--node-ip',
      ip,
      '--registry-config',
      this.registriesFile,
      '--resolv-conf',
      this.resolvConf,
      '--cgroup-root',
      cgroupRoot,
      ...(o.extraArgs ?? []),
    ];
    this.#agentArgs.set(name, args);
    this.#agentEnv.set(name, o.env ?? {});
    const agent = new NsProcess(ns, RUDDER, args, o.env);
    const node = this.#nodeRecord(name, ns, ip, dataDir, cgroupRoot, agent);
    this.nodes.push(node);
    if (o.waitRegistered !== false) await agent.waitFor(new RegExp(`node ${name} registered with`), 120_000, `node ${name}`);
    return node;
  }

  /**
   * Kills a joined node's agent with `signal` (SIGKILL by default: no shutdown of any kind; its
   * containerd and containers are left as they are), then starts it again with the same flags and
   * data dir. Resolves once the new agent logs that its node registered.
   */
  async restartAgent(name: string, signal: NodeJS.Signals = 'SIGKILL'): Promise<E2ENode> {
    const node = this.nodes.find((n) => n.name === name);
    const args = this.#agentArgs.get(name);
    if (!node || !args) throw new Error(`${name} is not a node joined by addNode`);
    const old = node.agent;
    this.#retired.push(old);
    if (old.running && old.pid) {
      process.kill(old.pid, signal);
      await old.exited();
    }
    node.agent = new NsProcess(node.ns, RUDDER, args, this.#agentEnv.get(name));
    await node.agent.waitFor(new RegExp(`node ${name} registered with`), 120_000, `node ${name} after a restart`);
    return node;
  }

  #nodeRecord(name: string, ns: string, ip: string, dataDir: string, cgroupRoot: string, agent: NsProcess): E2ENode {
    return {
      name,
      ns,
      ip,
      dataDir,
      cgroupRoot,
      agent,
      containerdPid: () => {
        try {
          return Number(readFileSync(containerdPaths(agentPaths(dataDir).containerd).pidFile, 'utf8').trim()) || undefined;
        } catch {
          return undefined;
        }
      },
    };
  }

  /**
   * Starts `rudder ARGS…` inside a namespace of this cluster (the server's by default), e.g.
   * `rudder sim`; it is stopped in destroy() if still running.
   */
  rudder(args: string[], ns = this.serverNs, env: Record<string, string> = {}): NsProcess {
    const p = new NsProcess(ns, RUDDER, args, env);
    this.#oneShots.push(p);
    return p;
  }

  /** Runs `rudder agent` once in a fresh namespace of its own and waits for it to exit (for refusals). */
  async runAgentOnce(name: string, token: string, timeoutMs = 60_000): Promise<Result> {
    const { ns, ip } = this.newNodeNamespace(name);
    const p = new NsProcess(ns, RUDDER, ['agent', '--server', this.serverUrl, '--token', token, '--data-dir', join(this.dir, 'nodes', name), '--node-name', name, '--node-ip', ip, '--registry-config', this.registriesFile]);
    this.#oneShots.push(p);
    const t = setTimeout(() => void p.stop(1000), timeoutMs);
    const code = await p.exited();
    clearTimeout(t);
    return { code, stdout: '', stderr: p.logs() };
  }

  /** Waits until the node reports Ready=True. */
  async waitReady(name: string, timeoutMs = 120_000): Promise<Record<string, any>> {
    const end = Date.now() + timeoutMs;
    let last = '';
    for (;;) {
      const r = await this.kubectl(['get', 'node', name, '-o', 'json']);
      if (r.code === 0) {
        const node = JSON.parse(r.stdout);
        const ready = (node.status?.conditions ?? []).find((c: { type: string }) => c.type === 'Ready');
        if (ready?.status === 'True') return node;
        last = JSON.stringify(ready);
      } else last = r.stderr;
      if (Date.now() > end) throw new Error(`node ${name} not Ready within ${timeoutMs} ms (${last})\n${this.nodes.find((n) => n.name === name)?.agent.logs() ?? ''}`);
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  /** Removes everything this cluster made; collects what it could not and throws it at the end. */
  async destroy(): Promise<void> {
    const errors: string[] = [];
    const step = async (what: string, f: () => unknown): Promise<void> => {
      try {
        await f();
      } catch (e) {
        errors.push(`${what}: ${(e as Error).message}`);
      }
    };
    for (const n of this.nodes) {
      const socket = containerdPaths(agentPaths(n.dataDir).containerd).socket;
      // Pods first, while the node's containerd still runs (it tears their networks down).
      await step(`${n.name}: removing sandboxes`, async () => {
        if (!existsSync(socket)) return;
        const c = new CriClient(`unix://${socket}`, { timeoutMs: 20_000 });
        try {
          const up = await c.version().then(() => true, () => false);
          if (!up) return;
          for (const s of await c.listPodSandbox()) {
            await c.stopPodSandbox(s.id).catch(() => undefined);
            await c.removePodSandbox(s.id).catch(() => undefined);
          }
        } finally {
          c.close();
        }
      });
      await step(`${n.name}: stopping the agent`, () => n.agent.stop());
      await step(`${n.name}: stopping containerd`, () => terminate(n.containerdPid()));
      await step(`${n.name}: killing shims`, () => {
        for (const pid of pidsWithArgs('-address', socket)) {
          try {
            process.kill(pid, 'SIGKILL');
          } catch {
            // gone
          }
        }
      });
      const runcRoot = join(containerdPaths(agentPaths(n.dataDir).containerd).state, 'runc', 'k8s.io');
      await step(`${n.name}: deleting runc containers`, () => {
        if (!existsSync(runcRoot)) return;
        for (const id of readdirSync(runcRoot)) {
          try {
            sh('runc', ['--root', runcRoot, 'delete', '--force', id]);
          } catch {
            // already gone
          }
        }
      });
    }
    for (const p of this.#oneShots) await step('stopping a process started by the test', () => p.stop(5000));
    for (const p of this.#retired) await step('stopping a replaced agent', () => p.stop(2000));
    await step('stopping the server', () => this.server?.stop());
    await step('stopping the registry', () => this.registry?.stop(5000));
    await step('stopping the upstream resolver', () => this.upstreamDns?.stop(5000));
    await step('unmounting', () => {
      for (const mp of mountsUnder(this.dir)) {
        try {
          sh('umount', [mp]);
        } catch {
          sh('umount', ['-l', mp]);
        }
      }
    });
    await step('removing cgroups', () => {
      for (const name of this.#cgroupRoots) removeCgroupTree(name);
    });
    for (const ns of this.#namespaces.reverse()) {
      await step(`removing the network namespace ${ns}`, () => sh('ip', ['netns', 'del', ns]));
    }
    await step('removing the run directory', () => {
      if (mountsUnder(this.dir).length) throw new Error(`mounts remain under ${this.dir}`);
      rmSync(this.dir, { recursive: true, force: true });
    });
    if (errors.length) throw new Error(`e2e cleanup: ${errors.join('; ')}`);
  }
}

/** Starts a cluster: fabric, registry, server. Call destroy() in an after hook, whatever happened. */
export async function startCluster(o: ClusterOptions = {}): Promise<E2ECluster> {
  const problem = e2eProblem();
  if (problem) throw new Error(problem);
  const c = new E2ECluster();
  try {
    await c.start(o);
  } catch (e) {
    await c.destroy().catch(() => undefined);
    throw e;
  }
  return c;
}
