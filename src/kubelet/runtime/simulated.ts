// A runtime without containers, for hollow nodes: sandboxes and containers go through CRI's states
// with containerd 1.6's semantics (see runtime.ts), with configurable delays and injected failures.
//
// What a "container" does is read from its command, by a small interpreter of the commands tests use:
// `echo` (with >&2), `sleep N`, `exit N`, `true`, `false`, `:`, run directly or as `sh -c SCRIPT` with
// statements separated by `;`, `&&`, `||` or newlines (all read as `;`) and $VAR/${VAR} taken from the
// container's env. A container whose command is something else (a server, an image's default entry
// point) runs until stopped; exec of something else succeeds with no output. Output goes to the CRI
// log file when writeLogs is set (off by default: thousands of hollow pods should not write files).
import { createHash, randomBytes } from 'node:crypto';
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { parseIPv4Cidr, ipv4ToString } from './cni.ts';
import { DEFAULT_SANDBOX_IMAGE } from './containerd.ts';
import {
  RuntimeError, formatCriLogLine, normalizeImageName,
  type ExecResult, type Runtime,
} from './runtime.ts';
import type {
  AttachRequest, AuthConfig, Container, ContainerConfig, ContainerFilter, ContainerState, ContainerStats, ContainerStatsFilter,
  ContainerStatus, FilesystemUsage, Image, LinuxContainerResources, PodSandbox, PodSandboxConfig, PodSandboxFilter,
  PodSandboxState, PodSandboxStatus, RuntimeCondition, VersionResponse,
} from '../cri/types.ts';

export type SimOp =
  | 'runPodSandbox' | 'stopPodSandbox' | 'removePodSandbox' | 'createContainer' | 'startContainer' | 'stopContainer'
  | 'removeContainer' | 'execSync' | 'pullImage';

export interface SimulatedRuntimeOptions {
  /** Milliseconds each operation takes before it acts (default 0). */
  delays?: Partial<Record<SimOp, number>>;
  /** Failure injection: return an error (or its message, code Unknown) to fail that call. */
  fail?: (op: SimOp, subject: string) => RuntimeError | string | undefined;
  /** Pod IPs come from here (default 10.88.0.0/16); hostNetwork sandboxes get none, as from containerd. */
  podCidr?: string;
  /** Images present from the start (default: the pause image). */
  images?: string[];
  /** Whether a pull of an image finds it (default: every image). */
  pullable?: (image: string) => boolean;
  /** Write containers' output to their CRI log files (default false). */
  writeLogs?: boolean;
  /** The clock, in milliseconds since the epoch (default Date.now). */
  now?: () => number;
}

type Step = { out: 'stdout' | 'stderr'; text: string } | { sleepMs: number } | { exit: number };

interface SimSandbox {
  id: string;
  config: PodSandboxConfig;
  state: PodSandboxState;
  createdAt: string;
  ip: string;
  ipIndex: number;
  runtimeHandler: string;
  containers: Set<string>;
}

interface SimContainer {
  id: string;
  sandboxId: string;
  config: ContainerConfig;
  name: string;
  state: ContainerState;
  createdAt: string;
  startedAt: string;
  finishedAt: string;
  exitCode: number;
  reason: string;
  imageId: string;
  imageName: string;
  logPath: string;
  resources: LinuxContainerResources | null;
  timer?: NodeJS.Timeout;
  logChain: Promise<void>;
}

const SHELLS = new Set(['sh', 'bash', 'ash', '/bin/sh', '/bin/bash', '/bin/ash', '/usr/bin/sh', '/bin/busybox']);

/** Splits a shell statement into words, honouring '…' and "…" quotes and expanding $VAR / ${VAR}. */
function words(stmt: string, env: Record<string, string>): string[] {
  const out: string[] = [];
  let cur = '';
  let has = false;
  const expand = (s: string): string => s.replace(/\$\{(\w+)\}|\$(\w+)/g, (_, a: string, b: string) => env[a ?? b] ?? '');
  for (let i = 0; i < stmt.length; i++) {
    const ch = stmt[i];
    if (ch === "'") {
      const j = stmt.indexOf("'", i + 1);
      cur += stmt.slice(i + 1, j < 0 ? undefined : j);
      i = j < 0 ? stmt.length : j;
      has = true;
    } else if (ch === '"') {
      const j = stmt.indexOf('"', i + 1);
      cur += expand(stmt.slice(i + 1, j < 0 ? undefined : j));
      i = j < 0 ? stmt.length : j;
      has = true;
    } else if (/\s/.test(ch)) {
      if (has) out.push(cur);
      cur = '';
      has = false;
    } else {
      let j = i;
      while (j < stmt.length && !/[\s'"]/.test(stmt[j])) j++;
      cur += expand(stmt.slice(i, j));
      i = j - 1;
      has = true;
    }
  }
  if (has) out.push(cur);
  return out;
}

/** One command's steps, or undefined when the interpreter does not know it. */
function command(argv: string[], env: Record<string, string>): Step[] | undefined {
  if (argv.length === 0) return [];
  let [cmd, ...args] = argv;
  cmd = cmd.replace(/^.*\//, '');
  if (cmd === 'testserver' && ['echo', 'sleep', 'exit'].includes(args[0])) [cmd, ...args] = args;
  if (SHELLS.has(argv[0]) && args[0] === '-c' && args.length >= 2) return script(args[1], env);
  let stream: 'stdout' | 'stderr' = 'stdout';
  const plain = args.filter((a) => {
    if (a === '>&2' || a === '1>&2') return !(stream = 'stderr');
    return true;
  });
  switch (cmd) {
    case 'echo':
      if (plain[0] === '--stderr') {
        plain.shift();
        stream = 'stderr';
      }
      if (plain[0] === '-n') return [{ out: stream, text: plain.slice(1).join(' ') }, { exit: 0 }];
      return [{ out: stream, text: plain.join(' ') + '\n' }, { exit: 0 }];
    case 'sleep': {
      const s = Number(plain[0] ?? 0);
      return Number.isFinite(s) ? [{ sleepMs: s * 1000 }, { exit: 0 }] : [{ sleepMs: Infinity }];
    }
    case 'exit':
      return [{ exit: Number(plain[0] ?? 0) & 255 }];
    case 'true':
    case ':':
      return [{ exit: 0 }];
    case 'false':
      return [{ exit: 1 }];
    default:
      return undefined;
  }
}

/** A script's steps; `exit` ends it, and the last statement's status is its exit code. */
function script(src: string, env: Record<string, string>): Step[] | undefined {
  const steps: Step[] = [];
  let status = 0;
  for (const stmt of src.split(/;|&&|\|\||\n/)) {
    const w = words(stmt, env);
    if (w.length === 0) continue;
    const s = command(w, env);
    if (!s) return undefined;
    for (const step of s) {
      if ('exit' in step) status = step.exit;
      else steps.push(step);
    }
    if (w[0] === 'exit') return [...steps, { exit: status }];
  }
  return [...steps, { exit: status }];
}

/** What a container or exec with this command line does; undefined: unknown (a long-running program). */
export function interpret(argv: string[], env: Record<string, string> = {}): Step[] | undefined {
  return command(argv, env);
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

export class SimulatedRuntime implements Runtime {
  readonly kind = 'simulated';
  readonly #o: SimulatedRuntimeOptions;
  readonly #sandboxes = new Map<string, SimSandbox>();
  readonly #containers = new Map<string, SimContainer>();
  readonly #images = new Map<string, Image>();
  readonly #cidr: { base: number; size: number };
  readonly #usedIps = new Set<number>();
  #nextIp = 2;

  constructor(options: SimulatedRuntimeOptions = {}) {
    this.#o = options;
    const { base, prefix } = parseIPv4Cidr(options.podCidr ?? '10.88.0.0/16');
    this.#cidr = { base, size: 2 ** (32 - prefix) };
    for (const i of options.images ?? [DEFAULT_SANDBOX_IMAGE]) this.#addImage(i);
  }

  #nanos(): string {
    return (BigInt(Math.round((this.#o.now ?? Date.now)())) * 1_000_000n).toString();
  }

  async #enter(op: SimOp, subject: string): Promise<void> {
    const d = this.#o.delays?.[op];
    if (d) await sleep(d);
    const f = this.#o.fail?.(op, subject);
    if (f !== undefined) throw typeof f === 'string' ? new RuntimeError(op, 'Unknown', f) : f;
  }

  #addImage(name: string): Image {
    const tag = normalizeImageName(name);
    const id = `sha256:${createHash('sha256').update(tag).digest('hex')}`;
    const image: Image = { id, repo_tags: [tag], repo_digests: [], size: '1048576', uid: null, username: '', spec: { image: id }, pinned: false };
    this.#images.set(tag, image);
    return image;
  }
  #findImage(name: string): Image | undefined {
    if (name.startsWith('sha256:')) return [...this.#images.values()].find((i) => i.id === name);
    return this.#images.get(normalizeImageName(name));
  }

  #sandbox(op: string, id: string): SimSandbox {
    const s = this.#sandboxes.get(id);
    if (!s) throw new RuntimeError(op, 'NotFound', `rpc error: code = NotFound desc = an error occurred when try to find sandbox "${id}": not found`);
    return s;
  }
  #container(op: string, id: string): SimContainer {
    const c = this.#containers.get(id);
    if (!c) throw new RuntimeError(op, 'NotFound', `rpc error: code = NotFound desc = an error occurred when try to find container "${id}": not found`);
    return c;
  }

  #allocateIp(): number {
    for (let n = 0; n < this.#cidr.size - 3; n++) {
      const i = ((this.#nextIp - 2 + n) % (this.#cidr.size - 3)) + 2;
      if (!this.#usedIps.has(i)) {
        this.#usedIps.add(i);
        this.#nextIp = i + 1;
        return i;
      }
    }
    throw new RuntimeError('runPodSandbox', 'ResourceExhausted', 'rpc error: code = Unknown desc = failed to setup network for sandbox: no IP addresses available in range set');
  }

  // ---- RuntimeService ----

  async version(): Promise<VersionResponse> {
    return { version: '0.1.0', runtime_name: 'simulated', runtime_version: '0.1.0', runtime_api_version: 'v1' };
  }
  async status(): Promise<RuntimeCondition[]> {
    return [
      { type: 'RuntimeReady', status: true, reason: '', message: '' },
      { type: 'NetworkReady', status: true, reason: '', message: '' },
    ];
  }

  async runPodSandbox(config: PodSandboxConfig, runtimeHandler = ''): Promise<string> {
    await this.#enter('runPodSandbox', config.metadata.name);
    const id = randomBytes(32).toString('hex');
    const hostNetwork = config.linux?.security_context?.namespace_options?.network === 'NODE';
    const ipIndex = hostNetwork ? -1 : this.#allocateIp();
    this.#sandboxes.set(id, {
      id,
      config,
      state: 'SANDBOX_READY',
      createdAt: this.#nanos(),
      ip: ipIndex < 0 ? '' : ipv4ToString(this.#cidr.base + ipIndex),
      ipIndex,
      runtimeHandler,
      containers: new Set(),
    });
    return id;
  }

  async stopPodSandbox(id: string): Promise<void> {
    await this.#enter('stopPodSandbox', id);
    const s = this.#sandbox('stopPodSandbox', id);
    for (const cid of s.containers) this.#terminate(this.#containers.get(cid)!, 137);
    if (s.ipIndex >= 0) this.#usedIps.delete(s.ipIndex);
    s.ipIndex = -1;
    s.ip = '';
    s.state = 'SANDBOX_NOTREADY';
  }

  async removePodSandbox(id: string): Promise<void> {
    await this.#enter('removePodSandbox', id);
    const s = this.#sandboxes.get(id);
    if (!s) return;
    if (s.state === 'SANDBOX_READY') await this.stopPodSandbox(id);
    for (const cid of s.containers) this.#containers.delete(cid);
    this.#sandboxes.delete(id);
  }

  async podSandboxStatus(id: string): Promise<PodSandboxStatus> {
    const s = this.#sandbox('podSandboxStatus', id);
    return {
      id,
      metadata: s.config.metadata,
      state: s.state,
      created_at: s.createdAt,
      network: { ip: s.ip, additional_ips: [] },
      linux: { namespaces: { options: s.config.linux?.security_context?.namespace_options ?? null } },
      labels: s.config.labels ?? {},
      annotations: s.config.annotations ?? {},
      runtime_handler: s.runtimeHandler,
    };
  }

  async listPodSandboxes(filter?: PodSandboxFilter): Promise<PodSandbox[]> {
    const out: PodSandbox[] = [];
    for (const s of this.#sandboxes.values()) {
      if (filter?.id && filter.id !== s.id) continue;
      if (filter?.state && filter.state.state !== s.state) continue;
      if (!labelsMatch(s.config.labels, filter?.label_selector)) continue;
      out.push({
        id: s.id,
        metadata: s.config.metadata,
        state: s.state,
        created_at: s.createdAt,
        labels: s.config.labels ?? {},
        annotations: s.config.annotations ?? {},
        runtime_handler: s.runtimeHandler,
      });
    }
    return out;
  }

  async createContainer(podSandboxId: string, config: ContainerConfig, sandboxConfig: PodSandboxConfig): Promise<string> {
    await this.#enter('createContainer', config.metadata.name);
    const s = this.#sandboxes.get(podSandboxId);
    if (!s) throw new RuntimeError('createContainer', 'NotFound', `rpc error: code = NotFound desc = failed to find sandbox id "${podSandboxId}": not found`);
    if (s.state !== 'SANDBOX_READY') {
      throw new RuntimeError('createContainer', 'NotFound', `rpc error: code = NotFound desc = failed to get sandbox container task: no running task found: task ${podSandboxId} not found: not found`);
    }
    const image = this.#findImage(config.image.image);
    if (!image) throw new RuntimeError('createContainer', 'NotFound', `rpc error: code = NotFound desc = failed to resolve image "${config.image.image}": not found`);
    const m = sandboxConfig.metadata;
    const name = `${config.metadata.name}_${m.name}_${m.namespace}_${m.uid}_${config.metadata.attempt ?? 0}`;
    for (const other of s.containers) {
      const o = this.#containers.get(other)!;
      if (o.name === name) {
        throw new RuntimeError('createContainer', 'Unknown', `rpc error: code = Unknown desc = failed to reserve container name "${name}": name "${name}" is reserved for "${o.id}"`);
      }
    }
    const id = randomBytes(32).toString('hex');
    const logDir = s.config.log_directory;
    this.#containers.set(id, {
      id,
      sandboxId: podSandboxId,
      config,
      name,
      state: 'CONTAINER_CREATED',
      createdAt: this.#nanos(),
      startedAt: '0',
      finishedAt: '0',
      exitCode: 0,
      reason: '',
      imageId: image.id,
      imageName: image.repo_tags[0],
      logPath: logDir && config.log_path ? join(logDir, config.log_path) : '',
      resources: config.linux?.resources ?? null,
      logChain: Promise.resolve(),
    });
    s.containers.add(id);
    return id;
  }

  async startContainer(id: string): Promise<void> {
    await this.#enter('startContainer', id);
    const c = this.#container('startContainer', id);
    if (c.state !== 'CONTAINER_CREATED') {
      throw new RuntimeError('startContainer', 'Unknown', `rpc error: code = Unknown desc = failed to set starting state for container "${id}": container is in ${c.state} state`);
    }
    c.state = 'CONTAINER_RUNNING';
    c.startedAt = this.#nanos();
    const steps = interpret([...(c.config.command ?? []), ...(c.config.args ?? [])], envOf(c.config));
    if (steps) this.#run(c, steps, 0);
  }

  #run(c: SimContainer, steps: Step[], i: number): void {
    for (; i < steps.length; i++) {
      if (c.state !== 'CONTAINER_RUNNING') return;
      const step = steps[i];
      if ('out' in step) this.#log(c, step.out, step.text);
      else if ('sleepMs' in step) {
        if (step.sleepMs === Infinity) return;
        c.timer = setTimeout(() => this.#run(c, steps, i + 1), step.sleepMs);
        c.timer.unref?.();
        return;
      } else return this.#terminate(c, step.exit);
    }
  }

  #log(c: SimContainer, stream: 'stdout' | 'stderr', text: string): void {
    if (!this.#o.writeLogs || !c.logPath) return;
    const now = new Date((this.#o.now ?? Date.now)());
    const lines = text.split('\n');
    const last = lines.pop()!;
    let out = lines.map((l) => formatCriLogLine(now, stream, l)).join('');
    if (last) out += formatCriLogLine(now, stream, last, true);
    const path = c.logPath;
    c.logChain = c.logChain.then(async () => {
      await mkdir(dirname(path), { recursive: true });
      await appendFile(path, out);
    }).catch(() => undefined);
  }

  #terminate(c: SimContainer, exitCode: number): void {
    if (c.state !== 'CONTAINER_RUNNING' && c.state !== 'CONTAINER_CREATED') return;
    clearTimeout(c.timer);
    const wasCreated = c.state === 'CONTAINER_CREATED';
    c.state = 'CONTAINER_EXITED';
    c.finishedAt = this.#nanos();
    if (wasCreated) {
      // Never started: containerd reports it exited with no code and reason.
      c.exitCode = 0;
      c.reason = '';
      return;
    }
    c.exitCode = exitCode;
    c.reason = exitCode === 0 ? 'Completed' : 'Error';
  }

  async stopContainer(id: string, _timeoutSeconds: number): Promise<void> {
    await this.#enter('stopContainer', id);
    const c = this.#container('stopContainer', id);
    // The simulated process dies of its stop signal at once (128 + SIGTERM), like busybox's sleep.
    if (c.state === 'CONTAINER_RUNNING') this.#terminate(c, 143);
  }

  async removeContainer(id: string): Promise<void> {
    await this.#enter('removeContainer', id);
    const c = this.#containers.get(id);
    if (!c) return;
    if (c.state === 'CONTAINER_RUNNING') this.#terminate(c, 137);
    this.#sandboxes.get(c.sandboxId)?.containers.delete(id);
    this.#containers.delete(id);
  }

  async containerStatus(id: string): Promise<ContainerStatus> {
    const c = this.#container('containerStatus', id);
    return {
      id,
      metadata: { name: c.config.metadata.name, attempt: c.config.metadata.attempt ?? 0 },
      state: c.state,
      created_at: c.createdAt,
      started_at: c.startedAt,
      finished_at: c.finishedAt,
      exit_code: c.exitCode,
      image: { image: c.imageName },
      image_ref: c.imageId,
      reason: c.reason,
      message: '',
      labels: c.config.labels ?? {},
      annotations: c.config.annotations ?? {},
      mounts: c.config.mounts ?? [],
      log_path: c.logPath,
      resources: c.resources ? { linux: c.resources } : null,
      image_id: c.imageId,
    };
  }

  async listContainers(filter?: ContainerFilter): Promise<Container[]> {
    const out: Container[] = [];
    for (const c of this.#containers.values()) {
      if (filter?.id && filter.id !== c.id) continue;
      if (filter?.pod_sandbox_id && filter.pod_sandbox_id !== c.sandboxId) continue;
      if (filter?.state && filter.state.state !== c.state) continue;
      if (!labelsMatch(c.config.labels, filter?.label_selector)) continue;
      out.push({
        id: c.id,
        pod_sandbox_id: c.sandboxId,
        metadata: { name: c.config.metadata.name, attempt: c.config.metadata.attempt ?? 0 },
        image: { image: c.imageName },
        image_ref: c.imageId,
        state: c.state,
        created_at: c.createdAt,
        labels: c.config.labels ?? {},
        annotations: c.config.annotations ?? {},
        image_id: c.imageId,
      });
    }
    return out;
  }

  async updateContainerResources(id: string, linux: LinuxContainerResources): Promise<void> {
    const c = this.#container('updateContainerResources', id);
    c.resources = { ...(c.resources ?? {}), ...linux };
  }

  async reopenContainerLog(id: string): Promise<void> {
    const c = this.#container('reopenContainerLog', id);
    if (c.state !== 'CONTAINER_RUNNING') {
      throw new RuntimeError('reopenContainerLog', 'Unknown', 'rpc error: code = Unknown desc = container is not running');
    }
  }

  async execSync(id: string, cmd: string[], timeoutSeconds = 0): Promise<ExecResult> {
    await this.#enter('execSync', id);
    const c = this.#containers.get(id);
    if (!c) throw new RuntimeError('execSync', 'NotFound', `rpc error: code = NotFound desc = failed to exec in container: failed to find container "${id}" in store: not found`);
    if (c.state !== 'CONTAINER_RUNNING') {
      throw new RuntimeError('execSync', 'Unknown', `rpc error: code = Unknown desc = failed to exec in container: container is in ${c.state} state`);
    }
    const steps = interpret(cmd, envOf(c.config)) ?? [{ exit: 0 }];
    const out = { stdout: '', stderr: '' };
    let waited = 0;
    for (const step of steps) {
      if ('out' in step) out[step.out] += step.text;
      else if ('sleepMs' in step) {
        const ms = step.sleepMs === Infinity ? Infinity : step.sleepMs;
        if (timeoutSeconds > 0 && waited + ms > timeoutSeconds * 1000) {
          await sleep(timeoutSeconds * 1000 - waited);
          throw new RuntimeError('execSync', 'DeadlineExceeded', `rpc error: code = DeadlineExceeded desc = failed to exec in container: timeout ${timeoutSeconds}s exceeded: context deadline exceeded`);
        }
        if (ms === Infinity) return { stdout: Buffer.from(out.stdout), stderr: Buffer.from(out.stderr), exitCode: 0 };
        await sleep(ms);
        waited += ms;
      } else return { stdout: Buffer.from(out.stdout), stderr: Buffer.from(out.stderr), exitCode: step.exit };
    }
    return { stdout: Buffer.from(out.stdout), stderr: Buffer.from(out.stderr), exitCode: 0 };
  }

  async exec(req: { container_id: string }): Promise<string> {
    this.#container('exec', req.container_id);
    throw new RuntimeError('exec', 'Unimplemented', 'streaming is not available on a simulated node');
  }
  async attach(req: AttachRequest): Promise<string> {
    this.#container('attach', req.container_id);
    throw new RuntimeError('attach', 'Unimplemented', 'streaming is not available on a simulated node');
  }
  async portForward(podSandboxId: string, _ports: number[]): Promise<string> {
    this.#sandbox('portForward', podSandboxId);
    throw new RuntimeError('portForward', 'Unimplemented', 'streaming is not available on a simulated node');
  }

  #stats(c: SimContainer): ContainerStats {
    const t = this.#nanos();
    const zero = { value: '0' };
    return {
      attributes: { id: c.id, metadata: { name: c.config.metadata.name, attempt: c.config.metadata.attempt ?? 0 }, labels: c.config.labels ?? {}, annotations: c.config.annotations ?? {} },
      cpu: { timestamp: t, usage_core_nano_seconds: zero, usage_nano_cores: zero },
      memory: { timestamp: t, working_set_bytes: zero, available_bytes: zero, usage_bytes: zero, rss_bytes: zero, page_faults: zero, major_page_faults: zero },
      writable_layer: { timestamp: t, fs_id: { mountpoint: '' }, used_bytes: zero, inodes_used: zero },
    };
  }
  async containerStats(id: string): Promise<ContainerStats | null> {
    return this.#stats(this.#container('containerStats', id));
  }
  async listContainerStats(filter?: ContainerStatsFilter): Promise<ContainerStats[]> {
    const out: ContainerStats[] = [];
    for (const c of this.#containers.values()) {
      if (c.state !== 'CONTAINER_RUNNING') continue;
      if (filter?.id && filter.id !== c.id) continue;
      if (filter?.pod_sandbox_id && filter.pod_sandbox_id !== c.sandboxId) continue;
      if (!labelsMatch(c.config.labels, filter?.label_selector)) continue;
      out.push(this.#stats(c));
    }
    return out;
  }

  // ---- ImageService ----

  async pullImage(image: string, _auth?: AuthConfig, _sandboxConfig?: PodSandboxConfig): Promise<string> {
    await this.#enter('pullImage', image);
    const name = normalizeImageName(image);
    if (this.#o.pullable && !this.#o.pullable(image)) {
      throw new RuntimeError('pullImage', 'NotFound', `rpc error: code = NotFound desc = failed to pull and unpack image "${name}": failed to resolve reference "${name}": ${name}: not found`);
    }
    return (this.#findImage(image) ?? this.#addImage(image)).id;
  }
  async imageStatus(image: string): Promise<Image | null> {
    return this.#findImage(image) ?? null;
  }
  async listImages(): Promise<Image[]> {
    return [...this.#images.values()];
  }
  async removeImage(image: string): Promise<void> {
    const i = this.#findImage(image);
    if (i) for (const t of i.repo_tags) this.#images.delete(t);
  }
  async imageFsInfo(): Promise<FilesystemUsage[]> {
    return [{ timestamp: this.#nanos(), fs_id: { mountpoint: '/simulated' }, used_bytes: { value: String(this.#images.size * 1048576) }, inodes_used: { value: String(this.#images.size) } }];
  }

  async close(): Promise<void> {
    for (const c of this.#containers.values()) clearTimeout(c.timer);
  }
}

function envOf(config: ContainerConfig): Record<string, string> {
  const env: Record<string, string> = {};
  for (const kv of config.envs ?? []) env[kv.key] = kv.value;
  return env;
}

function labelsMatch(labels: Record<string, string> | undefined, selector: Record<string, string> | undefined): boolean {
  if (!selector) return true;
  for (const [k, v] of Object.entries(selector)) if (labels?.[k] !== v) return false;
  return true;
}
