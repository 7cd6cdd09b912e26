// The agent's own containerd: its configuration (version 2 config.toml), start-up (optionally inside
// a node's network namespace), supervision (restart when it dies, adoption of a healthy one left by
// an earlier agent), shutdown, and image import from OCI/docker tarballs.
//
// Layout under `dir` (the agent uses <data-dir>/agent/containerd):
//   config.toml  containerd.sock  containerd.pid  containerd.log  root/  state/  opt/
//   imported.json  (tarballs already imported from the auto-import directory)
//
// containerd runs detached in its own session, so it and the containers' shims survive the agent
// (kill -9 included); a restarted agent adopts it when its pid file, command line and socket check
// out, and restarts it when they do not. Stopping containerd does not stop containers.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { createReadStream, existsSync, mkdirSync, openSync, closeSync, readFileSync, writeFileSync, statSync, readdirSync, renameSync } from 'node:fs';
import { join, delimiter, basename } from 'node:path';
import { createGunzip } from 'node:zlib';
import { setTimeout as sleep } from 'node:timers/promises';
import { CriClient } from '../cri/client.ts';
import type { RegistriesConfig } from './registries.ts';

export const DEFAULT_SANDBOX_IMAGE = 'registry.k8s.io/pause:3.10';
export const DEFAULT_CNI_BIN_DIR = '/usr/lib/cni';
export const INSTALL_HINT = 'install with: apt-get install containerd runc containernetworking-plugins';

/** A runtime that cannot start on this machine; the message is one line and says the fix. */
export class RuntimeSetupError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RuntimeSetupError';
  }
}

export interface ContainerdConfig {
  /** containerd's home: config, socket, root and state all live under it. */
  dir: string;
  sandboxImage?: string;
  cniBinDir?: string;
  cniConfDir: string;
  registries?: RegistriesConfig;
  logLevel?: 'debug' | 'info' | 'warn' | 'error';
}

export interface ContainerdPaths {
  config: string;
  socket: string;
  pidFile: string;
  log: string;
  root: string;
  state: string;
  imported: string;
}

export function containerdPaths(dir: string): ContainerdPaths {
  return {
    config: join(dir, 'config.toml'),
    socket: join(dir, 'containerd.sock'),
    pidFile: join(dir, 'containerd.pid'),
    log: join(dir, 'containerd.log'),
    root: join(dir, 'root'),
    state: join(dir, 'state'),
    imported: join(dir, 'imported.json'),
  };
}

/**
 * Entries in the order of their keys' code units: the same file whatever the locale, and without
 * localeCompare, whose ICU collation data (~2.5 MiB of the node binary) the agent then pages in.
 */
const byKey = ([a]: [string, unknown], [b]: [string, unknown]): number => (a < b ? -1 : a > b ? 1 : 0);
const q = (s: string): string => JSON.stringify(s); // TOML basic strings accept JSON's escapes
const CRI = '[plugins."io.containerd.grpc.v1.cri"';
/**
 * Go's GC target for the agent's containerd (unless GOGC is set in the agent's environment): its
 * heap is small and its collections cheap, so collect at +50% instead of +100%: ~3 MiB less RSS
 * with 10 running pods, measured (BENCHMARKS.md, "Kubelet and agent").
 */
const GOGC = '50';

/**
 * containerd 1.6 plugins the agent's containerd does not load. Not the v1 runtime
 * (io.containerd.runtime.v1.linux): 1.6's tasks service, and with it CRI, fails without it.
 */
export const UNUSED_PLUGINS = [
  'io.containerd.snapshotter.v1.aufs',
  'io.containerd.snapshotter.v1.btrfs',
  'io.containerd.snapshotter.v1.devmapper',
  'io.containerd.snapshotter.v1.zfs',
  'io.containerd.tracing.processor.v1.otlp',
  'io.containerd.internal.v1.tracing',
];

/** containerd's config.toml (version 2) for rudder. Pure. */
export function containerdConfigToml(c: ContainerdConfig): string {
  const p = containerdPaths(c.dir);
  const lines = [
    '# Written by rudder; rewritten at every agent start.',
    'version = 2',
    `root = ${q(p.root)}`,
    `state = ${q(p.state)}`,
    'oom_score = 0',
    // Snapshotters and exporters rudder never uses (CRI here unpacks into overlayfs only): each
    // loaded plugin probes the host and keeps its state (BENCHMARKS.md, "Kubelet and agent").
    `disabled_plugins = [${UNUSED_PLUGINS.map(q).join(', ')}]`,
    '',
    '[grpc]',
    `  address = ${q(p.socket)}`,
    '',
    '[debug]',
    `  level = ${q(c.logLevel ?? 'info')}`,
    '',
    '[plugins."io.containerd.internal.v1.opt"]',
    `  path = ${q(join(c.dir, 'opt'))}`,
    '',
    `${CRI}]`,
    `  sandbox_image = ${q(c.sandboxImage ?? DEFAULT_SANDBOX_IMAGE)}`,
    // Root here may lack CAP_SYS_RESOURCE; runc then cannot lower oom_score_adj below the agent's.
    '  restrict_oom_score_adj = true',
    '  stream_server_address = "127.0.0.1"',
    '  stream_server_port = "0"',
    '  enable_selinux = false',
    '  netns_mounts_under_state_dir = true',
    '  enable_unprivileged_ports = true',
    '  enable_unprivileged_icmp = true',
    '',
    `${CRI}.containerd]`,
    '  snapshotter = "overlayfs"',
    '  default_runtime_name = "runc"',
    '',
    `${CRI}.containerd.runtimes.runc]`,
    '  runtime_type = "io.containerd.runc.v2"',
    '',
    `${CRI}.containerd.runtimes.runc.options]`,
    '  SystemdCgroup = false',
    `  Root = ${q(join(p.state, 'runc'))}`,
    '',
    `${CRI}.cni]`,
    `  bin_dir = ${q(c.cniBinDir ?? DEFAULT_CNI_BIN_DIR)}`,
    `  conf_dir = ${q(c.cniConfDir)}`,
    '  max_conf_num = 1',
  ];
  const reg = c.registries;
  if (reg) {
    for (const [host, m] of Object.entries(reg.mirrors).sort(byKey)) {
      lines.push('', `${CRI}.registry.mirrors.${q(host)}]`, `  endpoint = [${m.endpoint.map(q).join(', ')}]`);
    }
    for (const [host, cfg] of Object.entries(reg.configs).sort(byKey)) {
      if (cfg.auth) {
        lines.push('', `${CRI}.registry.configs.${q(host)}.auth]`);
        if (cfg.auth.username !== undefined) lines.push(`  username = ${q(cfg.auth.username)}`);
        if (cfg.auth.password !== undefined) lines.push(`  password = ${q(cfg.auth.password)}`);
        if (cfg.auth.auth !== undefined) lines.push(`  auth = ${q(cfg.auth.auth)}`);
        if (cfg.auth.identity_token !== undefined) lines.push(`  identitytoken = ${q(cfg.auth.identity_token)}`);
      }
      if (cfg.tls) {
        lines.push('', `${CRI}.registry.configs.${q(host)}.tls]`);
        if (cfg.tls.ca_file !== undefined) lines.push(`  ca_file = ${q(cfg.tls.ca_file)}`);
        if (cfg.tls.cert_file !== undefined) lines.push(`  cert_file = ${q(cfg.tls.cert_file)}`);
        if (cfg.tls.key_file !== undefined) lines.push(`  key_file = ${q(cfg.tls.key_file)}`);
        if (cfg.tls.insecure_skip_verify !== undefined) lines.push(`  insecure_skip_verify = ${cfg.tls.insecure_skip_verify}`);
      }
    }
  }
  return lines.join('\n') + '\n';
}

/** The absolute path of an executable on PATH, or undefined. */
export function which(name: string, path = process.env.PATH ?? ''): string | undefined {
  for (const d of path.split(delimiter)) {
    if (!d) continue;
    const f = join(d, name);
    try {
      if (statSync(f).isFile()) return f;
    } catch {
      // not here
    }
  }
  return undefined;
}

export interface PrerequisiteOptions {
  cniBinDir?: string;
  netns?: string;
  /** Overrides for tests: the user id and PATH to check against. */
  uid?: number;
  path?: string;
}

/** Why containerd cannot run here (one line with the fix), or undefined when it can. */
export function runtimePrerequisiteProblem(o: PrerequisiteOptions = {}): string | undefined {
  const uid = o.uid ?? process.getuid?.() ?? 0;
  if (uid !== 0) {
    return 'running containers needs root: run the agent as root, or use --simulated, or point --container-runtime-endpoint at a running containerd';
  }
  const path = o.path ?? process.env.PATH ?? '';
  for (const bin of ['containerd', 'containerd-shim-runc-v2', 'runc']) {
    if (!which(bin, path)) return `${bin} is not installed: ${INSTALL_HINT}`;
  }
  const cni = o.cniBinDir ?? DEFAULT_CNI_BIN_DIR;
  for (const plugin of ['bridge', 'host-local', 'loopback', 'portmap']) {
    if (!existsSync(join(cni, plugin))) return `the CNI plugin ${plugin} is missing from ${cni}: ${INSTALL_HINT}`;
  }
  if (!which('iptables', path)) return 'iptables is not installed (the CNI portmap plugin needs it): install with: apt-get install iptables';
  if (o.netns !== undefined) {
    if (!which('nsenter', path)) return 'nsenter is not installed: install with: apt-get install util-linux';
    if (!existsSync(o.netns)) return `network namespace ${o.netns} does not exist (create it with: ip netns add NAME)`;
  }
  return undefined;
}

export type ContainerdEvent =
  | { type: 'started'; pid: number }
  | { type: 'adopted'; pid: number }
  | { type: 'exited'; pid: number; code: number | null; signal: string | null }
  | { type: 'restart-failed'; error: string };

export interface ContainerdOptions extends ContainerdConfig {
  /** A network namespace to run containerd in, as a path (/run/netns/NAME). */
  netns?: string;
  /** How long to wait for the socket to answer; default 30 s. */
  startTimeoutMs?: number;
  onEvent?: (e: ContainerdEvent) => void;
}

/**
 * Why containerd stopped, from its log: the error it exited with (a plain `containerd: …` line), else
 * its last fatal, else its last error (`msg: error`). For one-line start-up failures.
 */
export function lastLoggedError(log: string): string | undefined {
  const lines = log.split('\n');
  const exit = lines.findLast((l) => l.startsWith('containerd: '));
  if (exit) return exit.slice('containerd: '.length).trim();
  const last = lines.findLast((l) => /level=fatal/.test(l)) ?? lines.findLast((l) => /level=error/.test(l));
  if (!last) return undefined;
  const m = /msg="((?:[^"\\]|\\.)*)"(?:.*error="((?:[^"\\]|\\.)*)")?/.exec(last);
  if (!m) return last.trim();
  return m[2] ? `${m[1]}: ${m[2]}` : m[1];
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function cmdline(pid: number): string[] {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  } catch {
    return [];
  }
}

/** Supervises one containerd. start() once; stop() to shut it down and end supervision. */
export class Containerd {
  readonly paths: ContainerdPaths;
  readonly #o: ContainerdOptions;
  #pid: number | undefined;
  #child: ChildProcess | undefined;
  #stopping = false;
  #poll: NodeJS.Timeout | undefined;
  #restartTimer: NodeJS.Timeout | undefined;
  #restarts = 0;
  #lastStart = 0;

  constructor(options: ContainerdOptions) {
    this.#o = options;
    this.paths = containerdPaths(options.dir);
  }

  /** The CRI endpoint, unix:///…/containerd.sock. */
  get endpoint(): string {
    return `unix://${this.paths.socket}`;
  }
  get pid(): number | undefined {
    return this.#pid;
  }

  /**
   * Writes the config and brings containerd up: adopts a healthy one from an earlier agent when its
   * configuration is unchanged, else starts one. Resolves when its CRI socket answers. Rejects with a
   * RuntimeSetupError (one line) when the machine cannot run it or it does not come up.
   */
  async start(): Promise<'started' | 'adopted'> {
    const problem = runtimePrerequisiteProblem({ cniBinDir: this.#o.cniBinDir, netns: this.#o.netns });
    if (problem) throw new RuntimeSetupError(problem);
    if (Buffer.byteLength(this.paths.socket) > 107) {
      throw new RuntimeSetupError(`containerd's socket path ${this.paths.socket} is longer than a unix socket allows (107 bytes): use a shorter --data-dir`);
    }
    for (const d of [this.#o.dir, this.paths.root, this.paths.state, this.#o.cniConfDir]) mkdirSync(d, { recursive: true, mode: 0o700 });
    const config = containerdConfigToml(this.#o);
    const previous = existsSync(this.paths.config) ? readFileSync(this.paths.config, 'utf8') : undefined;
    writeFileSync(this.paths.config, config, { mode: 0o600 });

    const old = this.#runningPid();
    if (old !== undefined) {
      if (previous === config && (await this.#answers(3000))) {
        this.#pid = old;
        this.#watchAdopted();
        this.#o.onEvent?.({ type: 'adopted', pid: old });
        return 'adopted';
      }
      // A different configuration, or a containerd that does not answer: replace it. Containers survive.
      await this.#terminate(old);
    }
    await this.#spawn();
    return 'started';
  }

  /** Stops supervision and containerd (TERM, then KILL after 10 s). Containers keep running. */
  async stop(): Promise<void> {
    this.#stopping = true;
    clearInterval(this.#poll);
    clearTimeout(this.#restartTimer);
    const pid = this.#pid ?? this.#runningPid();
    if (pid !== undefined) await this.#terminate(pid);
    this.#pid = undefined;
  }

  /**
   * Ends supervision and leaves containerd running, as an agent that exits without stopping it
   * (an upgrade, a crash): the next start() adopts it.
   */
  release(): void {
    this.#stopping = true;
    clearInterval(this.#poll);
    clearTimeout(this.#restartTimer);
    this.#child = undefined;
    this.#pid = undefined;
  }

  /** The pid in the pid file when that process is a containerd running our config. */
  #runningPid(): number | undefined {
    let pid: number;
    try {
      pid = Number.parseInt(readFileSync(this.paths.pidFile, 'utf8').trim(), 10);
    } catch {
      return undefined;
    }
    if (!Number.isInteger(pid) || pid <= 1 || !alive(pid)) return undefined;
    const argv = cmdline(pid);
    const ci = argv.indexOf('--config');
    if (!argv.some((a) => basename(a) === 'containerd') || argv[ci + 1] !== this.paths.config) return undefined;
    return pid;
  }

  async #answers(timeoutMs: number): Promise<boolean> {
    if (!existsSync(this.paths.socket)) return false;
    const c = new CriClient(this.endpoint, { timeoutMs });
    try {
      await c.version();
      return true;
    } catch {
      return false;
    } finally {
      c.close();
    }
  }

  async #spawn(): Promise<void> {
    const containerd = which('containerd')!;
    const args = ['--config', this.paths.config];
    // nsenter execs containerd in place, so the pid spawned is containerd's. Not `ip netns exec`: it
    // remounts /sys, and runc then finds no cgroup mounts.
    const [cmd, argv] = this.#o.netns ? [which('nsenter')!, [`--net=${this.#o.netns}`, containerd, ...args]] : [containerd, args];
    const log = openSync(this.paths.log, 'a');
    let child: ChildProcess;
    try {
      child = spawn(cmd, argv, { detached: true, stdio: ['ignore', log, log], env: { GOGC: GOGC, ...process.env, TMPDIR: this.paths.state } });
    } finally {
      closeSync(log);
    }
    const pid = child.pid;
    if (pid === undefined) throw new RuntimeSetupError(`could not start ${containerd}`);
    child.unref();
    this.#child = child;
    this.#pid = pid;
    this.#lastStart = Date.now();
    const tmp = `${this.paths.pidFile}.tmp`;
    writeFileSync(tmp, `${pid}\n`);
    renameSync(tmp, this.paths.pidFile);
    let exited: { code: number | null; signal: string | null } | undefined;
    child.once('exit', (code, signal) => {
      exited = { code, signal };
      if (this.#child === child) this.#onExit(pid, code, signal);
    });
    const deadline = Date.now() + (this.#o.startTimeoutMs ?? 30_000);
    while (!(await this.#answers(1000))) {
      if (exited) {
        const why = lastLoggedError(this.#logTail()) ?? `exit code ${exited.code ?? exited.signal}`;
        throw new RuntimeSetupError(`containerd exited during start-up: ${why} (log: ${this.paths.log})`);
      }
      if (Date.now() > deadline) {
        await this.#terminate(pid);
        throw new RuntimeSetupError(`containerd did not answer on ${this.paths.socket} within ${(this.#o.startTimeoutMs ?? 30_000) / 1000}s (log: ${this.paths.log})`);
      }
      await sleep(50);
    }
    this.#o.onEvent?.({ type: 'started', pid });
  }

  #logTail(): string {
    try {
      const s = readFileSync(this.paths.log, 'utf8');
      return s.slice(-16384);
    } catch {
      return '';
    }
  }

  #watchAdopted(): void {
    // Not our child: no exit event, so poll. The command line check guards against pid reuse.
    const pid = this.#pid!;
    this.#poll = setInterval(() => {
      if (this.#stopping || this.#pid !== pid) return clearInterval(this.#poll);
      if (!alive(pid) || !cmdline(pid).includes(this.paths.config)) {
        clearInterval(this.#poll);
        this.#onExit(pid, null, null);
      }
    }, 1000);
    this.#poll.unref();
  }

  #onExit(pid: number, code: number | null, signal: string | null): void {
    if (this.#pid === pid) this.#pid = undefined;
    if (this.#stopping) return;
    this.#o.onEvent?.({ type: 'exited', pid, code, signal });
    // Back off 0.5 s doubling to 30 s; a containerd that ran a minute resets the back-off.
    if (Date.now() - this.#lastStart > 60_000) this.#restarts = 0;
    const delay = Math.min(30_000, 500 * 2 ** this.#restarts++);
    this.#restartTimer = setTimeout(() => {
      if (this.#stopping) return;
      this.#spawn().catch((e: Error) => {
        this.#o.onEvent?.({ type: 'restart-failed', error: e.message });
        if (!this.#stopping && this.#pid === undefined) this.#onExit(-1, null, null);
      });
    }, delay);
    this.#restartTimer.unref();
  }

  async #terminate(pid: number): Promise<void> {
    const child = this.#child?.pid === pid ? this.#child : undefined;
    if (child) this.#child = undefined;
    try {
      process.kill(pid, 'SIGTERM');
    } catch {
      return;
    }
    const deadline = Date.now() + 10_000;
    while (alive(pid) && Date.now() < deadline) {
      await sleep(50);
      // A child of ours stays a zombie (alive to kill(0)) until reaped; its exit event marks the end.
      if (child && child.exitCode !== null) return;
      if (child && child.signalCode !== null) return;
    }
    if (alive(pid) && !(child && (child.exitCode !== null || child.signalCode !== null))) {
      try {
        process.kill(pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
  }
}

// ---- images ----

/** The image names an import reported (`unpacking NAME (sha256:…)...done` lines of ctr). */
export function parseImportOutput(out: string): string[] {
  const names: string[] = [];
  for (const m of out.matchAll(/^unpacking (\S+) \(sha256:[0-9a-f]+\)/gm)) names.push(m[1]);
  return names;
}

/**
 * Imports an image tarball (OCI image layout or `docker save` format; .tar, or .tar.gz/.tgz) into the
 * containerd on `socket`, in the k8s.io namespace the CRI uses, unpacked for the overlayfs
 * snapshotter. Resolves with the image names imported.
 */
export function importImage(socket: string, file: string): Promise<string[]> {
  const ctr = which('ctr');
  if (!ctr) return Promise.reject(new RuntimeSetupError(`ctr is not installed: ${INSTALL_HINT}`));
  const gz = /\.(tar\.gz|tgz)$/.test(file);
  return new Promise((resolve, reject) => {
    const child = execFile(
      ctr,
      ['--address', socket, '-n', 'k8s.io', 'images', 'import', '--snapshotter', 'overlayfs', gz ? '-' : file],
      { maxBuffer: 4 * 1024 * 1024 },
      (err, stdout, stderr) => {
        if (err) {
          const why = (stderr.trim().split('\n').at(-1) || err.message).replace(/^ctr: /, '');
          reject(new Error(`importing ${file}: ${why}`));
        } else resolve(parseImportOutput(stdout));
      },
    );
    if (gz) createReadStream(file).pipe(createGunzip()).on('error', (e) => child.kill() && reject(e)).pipe(child.stdin!);
  });
}

interface ImportRecord {
  [file: string]: { size: number; mtimeMs: number; images: string[] };
}

/**
 * Imports every tarball in `dir` (<data-dir>/agent/images) not imported before, once each: a file
 * counts as imported while its name, size and modification time are unchanged. The record lives
 * beside containerd's root, so wiping containerd forgets it too. Failures are collected, not thrown,
 * so one bad file does not keep the agent from starting.
 */
export async function importImagesOnce(
  socket: string,
  dir: string,
  recordFile: string,
): Promise<{ imported: Record<string, string[]>; failed: Record<string, string> }> {
  const result = { imported: {} as Record<string, string[]>, failed: {} as Record<string, string> };
  if (!existsSync(dir)) return result;
  let record: ImportRecord = {};
  try {
    record = JSON.parse(readFileSync(recordFile, 'utf8')) as ImportRecord;
  } catch {
    // first run
  }
  for (const name of readdirSync(dir).sort()) {
    if (!/\.(tar|tar\.gz|tgz)$/.test(name)) continue;
    const file = join(dir, name);
    const st = statSync(file);
    if (!st.isFile()) continue;
    const prev = record[name];
    if (prev && prev.size === st.size && prev.mtimeMs === st.mtimeMs) continue;
    try {
      const images = await importImage(socket, file);
      record[name] = { size: st.size, mtimeMs: st.mtimeMs, images };
      result.imported[name] = images;
      writeFileSync(recordFile, JSON.stringify(record, null, 1) + '\n');
    } catch (e) {
      result.failed[name] = (e as Error).message;
    }
  }
  return result;
}
