// The processes a benchmark run starts: rudder servers, etcd with its default settings, optionally
// under strace (to count fsyncs) or `node --cpu-prof`. Every process is tracked by PID and killed
// by PID when the run ends, however it ends; every directory lives under one scratch root that is
// removed at the end.

import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, statSync } from 'node:fs';
import { get as httpGet } from 'node:http';
import { get as httpsGet } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parse as parseYaml } from 'yaml';

export const ROOT = resolve(import.meta.dirname, '..');
/** What bin/rudder runs: the project's own Node 24 and the CLI entry point. */
export const NODE = join(ROOT, 'node_modules', 'node', 'bin', 'node');
export const CLI = join(ROOT, 'src', 'cli', 'main.ts');
export const ETCD = '/usr/bin/etcd';
/**
 * rudder's processes run as bin/rudder runs them: with Node's compile cache where the launcher
 * keeps it, so a start measures what a user's second and later starts cost (the first start on a
 * machine compiles and fills the cache).
 */
const RUDDER_ENV = { ...process.env, NODE_COMPILE_CACHE: process.env.NODE_COMPILE_CACHE ?? join(ROOT, 'node_modules', '.cache', 'rudder-compile') };

export interface Creds {
  ca: string;
  cert: string;
  key: string;
}

const children = new Set<ChildProcess>();
/** Commands started under strace (not our children): PID and start time. */
const tracees = new Map<number, string | undefined>();
let scratch: string | undefined;

/** The run's scratch directory (created on first use, under the OS temp dir, i.e. the same disk for every store). */
export function scratchDir(): string {
  if (!scratch) scratch = mkdtempSync(join(tmpdir(), 'rudder-bench-'));
  return scratch;
}

export function newDir(name: string): string {
  const d = join(scratchDir(), `${name}-${Math.random().toString(36).slice(2, 8)}`);
  mkdirSync(d, { recursive: true });
  return d;
}

/** Kills every process still running (by PID) and removes the scratch directory. Synchronous, for exit handlers. */
export function cleanupAll(): void {
  for (const c of children) {
    if (c.pid && c.exitCode === null && c.signalCode === null) {
      try {
        process.kill(c.pid, 'SIGKILL');
      } catch {
        // already gone
      }
    }
  }
  children.clear();
  for (const [pid, started] of tracees) signal(pid, started, 'SIGKILL');
  tracees.clear();
  if (scratch) rmSync(scratch, { recursive: true, force: true });
  scratch = undefined;
}

/** Registers a child process to be killed by PID when the run ends. */
export function track(c: ChildProcess): ChildProcess {
  children.add(c);
  c.once('exit', () => children.delete(c));
  return c;
}

export async function freePort(): Promise<number> {
  return new Promise((res, rej) => {
    const s = createServer();
    s.once('error', rej);
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => res(p));
    });
  });
}

export interface StraceOptions {
  /** File strace writes one line per traced syscall to (with -ttt -T). */
  out: string;
}

/** strace only the sync calls (seccomp-bpf keeps every other syscall at full speed), following threads. */
function straceArgs(o: StraceOptions): string[] {
  return ['-f', '--seccomp-bpf', '-qq', '-ttt', '-T', '-e', 'trace=fsync,fdatasync,sync_file_range,syncfs', '-e', 'signal=none', '-o', o.out, '--'];
}

/**
 * The PID of the command strace started, once it runs `exe`. strace forks short-lived helper
 * children first (its seccomp-bpf probe), so "strace's first child" is not good enough: a PID
 * taken from one of those would, once reused, point a later kill() at an unrelated process.
 */
async function tracee(strace: ChildProcess, exe: string): Promise<number> {
  const end = Date.now() + 10_000;
  while (Date.now() < end) {
    let kids: string[] = [];
    try {
      kids = readFileSync(`/proc/${strace.pid}/task/${strace.pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch {
      // not there yet
    }
    for (const k of kids) {
      try {
        if (readFileSync(`/proc/${k}/cmdline`, 'utf8').split('\0')[0] === exe) return Number(k);
      } catch {
        // exited meanwhile
      }
    }
    if (strace.exitCode !== null || strace.signalCode !== null) throw new Error('strace exited before its command started');
    await new Promise((r) => setTimeout(r, 10));
  }
  throw new Error(`strace did not start ${exe}`);
}

/** The kernel's start time of a process: with the PID, it names one process even after PID reuse. */
function startTime(pid: number): string | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19];
  } catch {
    return undefined;
  }
}

/** Signals pid only if it is still the process that had `started` as its start time. */
function signal(pid: number, started: string | undefined, sig: NodeJS.Signals): void {
  // A PID of 0 or less would signal a whole process group (ours included).
  if (!Number.isInteger(pid) || pid <= 1) throw new Error(`refusing to signal PID ${pid}`);
  if (started !== undefined && startTime(pid) !== started) return;
  try {
    process.kill(pid, sig);
  } catch {
    // already gone
  }
}

/** Resident set size of a process in bytes (VmRSS), and its peak (VmHWM). */
export function rssOf(pid: number): { rss: number; hwm: number } {
  const s = readFileSync(`/proc/${pid}/status`, 'utf8');
  const kb = (k: string) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(s)?.[1] ?? NaN) * 1024;
  return { rss: kb('VmRSS'), hwm: kb('VmHWM') };
}

/** USER_HZ, the unit of /proc/PID/stat times: 100 on Linux. */
const CLK_TCK = 100;

/** CPU seconds (user + system, all threads) a process has used so far. */
export function cpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  // Fields after the parenthesised command name; utime and stime are the 14th and 15th overall.
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(f[11]) + Number(f[12])) / CLK_TCK;
}

/** Starts measuring; the returned function gives the cores each named process used since (CPU seconds / wall seconds). */
export function cpuMeter(pids: Record<string, number>): () => Record<string, number> {
  const t0 = performance.now();
  const c0 = Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, cpuSeconds(p)]));
  return () => {
    const secs = (performance.now() - t0) / 1000;
    return Object.fromEntries(Object.entries(pids).map(([k, p]) => [k, +((cpuSeconds(p) - c0[k]!) / secs).toFixed(2)]));
  };
}

/**
 * Stops child `c`: `sig` to `pid` (c itself, or the command c runs under strace), SIGKILL to both
 * after graceMs; resolves when c has exited.
 */
async function waitExit(c: ChildProcess, pid: number, started: string | undefined, sig: NodeJS.Signals, graceMs: number): Promise<void> {
  if (c.exitCode !== null || c.signalCode !== null) return;
  const done = new Promise<void>((r) => c.once('exit', () => r()));
  signal(pid, started, sig);
  const t = setTimeout(() => {
    signal(pid, started, 'SIGKILL');
    if (c.pid !== pid && c.exitCode === null && c.signalCode === null) signal(c.pid!, undefined, 'SIGKILL');
  }, graceMs);
  await done;
  clearTimeout(t);
}

export interface Rudder {
  url: string;
  port: number;
  /** The node process serving (the tracee when run under strace). */
  pid: number;
  dataDir: string;
  creds: Creds;
  /** Milliseconds from spawn to the "API server ready" line. */
  readyMs: number;
  logs(): string;
  /** SIGTERM (a clean exit, so --cpu-prof writes its profile), SIGKILL after 15 s; keeps or removes the data dir. */
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

export interface RudderOptions {
  /** etcd client URL; default the embedded SQLite store in the data dir. */
  datastore?: string;
  dataDir?: string;
  port?: number;
  /** Run under `node --cpu-prof --cpu-prof-dir=DIR`. */
  cpuProfDir?: string;
  strace?: StraceOptions;
  /** Also pass --disable-scheduler --disable-controller-manager: the API server alone. */
  apiOnly?: boolean;
  /** More `rudder server` flags (e.g. --authorization-mode, --audit-policy-file). */
  extraArgs?: string[];
}

export function readCreds(kubeconfig: string): Creds {
  const kc = parseYaml(readFileSync(kubeconfig, 'utf8'));
  const b64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');
  return {
    ca: b64(kc.clusters[0].cluster['certificate-authority-data']),
    cert: b64(kc.users[0].user['client-certificate-data']),
    key: b64(kc.users[0].user['client-key-data']),
  };
}

export function rudderArgs(dataDir: string, port: number, datastore?: string, apiOnly = false): string[] {
  return [
    'server',
    '--data-dir',
    dataDir,
    '--https-listen-port',
    String(port),
    '--bind-address',
    '127.0.0.1',
    '--advertise-address',
    '127.0.0.1',
    '--disable-agent',
    ...(datastore ? ['--datastore-endpoint', datastore] : []),
    ...(apiOnly ? ['--disable-scheduler', '--disable-controller-manager'] : []),
  ];
}

/** Keeps a child's stdout and stderr (the last 100-200 kB) for matching; returns a reader of it. */
export function keepOutput(proc: ChildProcess): () => string {
  let out = '';
  const keep = (c: Buffer) => {
    out += c.toString();
    if (out.length > 200_000) out = out.slice(-100_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  return () => out;
}

/** The V8 flags bin/rudder gives a `rudder server` process (keep in step with bin/rudder). */
export const SERVER_NODE_FLAGS = ['--max-semi-space-size=8'];

export async function startRudder(o: RudderOptions = {}): Promise<Rudder> {
  const dataDir = o.dataDir ?? newDir('rudder');
  const nodeArgs = ['--disable-warning=ExperimentalWarning', ...SERVER_NODE_FLAGS, ...(o.cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${o.cpuProfDir}`] : []), CLI];
  const args = [...nodeArgs, ...rudderArgs(dataDir, o.port ?? 0, o.datastore, o.apiOnly), ...(o.extraArgs ?? [])];
  const t0 = performance.now();
  const proc = track(o.strace ? spawn('strace', [...straceArgs(o.strace), NODE, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(NODE, args, { stdio: ['ignore', 'pipe', 'pipe'], env: RUDDER_ENV }));
  const output = keepOutput(proc);
  const port = await new Promise<number>((res, rej) => {
    const t = setTimeout(() => rej(new Error(`rudder server not ready in 60 s:\n${output().slice(-3000)}`)), 60_000);
    const check = () => {
      const m = /API server ready at https:\/\/127\.0\.0\.1:(\d+)/.exec(output());
      if (m) {
        clearTimeout(t);
        proc.stderr!.off('data', check);
        proc.off('exit', onExit);
        res(Number(m[1]));
      }
    };
    const onExit = (code: number | null) => {
      clearTimeout(t);
      rej(new Error(`rudder server exited (${code}) before it was ready:\n${output().slice(-3000)}`));
    };
    proc.stderr!.on('data', check);
    proc.once('exit', onExit);
  });
  const readyMs = performance.now() - t0;
  const pid = o.strace ? await tracee(proc, NODE) : proc.pid!;
  const started = startTime(pid);
  if (o.strace) tracees.set(pid, started);
  return {
    url: `https://127.0.0.1:${port}`,
    port,
    pid,
    dataDir,
    creds: readCreds(join(dataDir, 'kubeconfig.yaml')),
    readyMs,
    logs: output,
    async stop(so = {}) {
      await waitExit(proc, pid, started, 'SIGTERM', 15_000);
      tracees.delete(pid);
      if (!so.keepData && !o.dataDir) rmSync(dataDir, { recursive: true, force: true });
    },
  };
}

export interface Etcd {
  /** Client URL, http://127.0.0.1:PORT. */
  url: string;
  pid: number;
  stop(): Promise<void>;
}

function etcdHealthy(url: string): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpGet(`${url}/health`, { timeout: 1000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(res.statusCode === 200 && body.includes('"true"')));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/**
 * One etcd member with etcd's default settings: only its names, addresses and data dir are given
 * (the test harness's shorter election timers and larger request limit are deliberately absent).
 */
export async function startEtcdDefault(o: { strace?: StraceOptions } = {}): Promise<Etcd> {
  if (!existsSync(ETCD)) throw new Error(`${ETCD} is missing (apt-get install etcd-server)`);
  const dir = newDir('etcd');
  const [cp, pp] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${cp}`;
  const peer = `http://127.0.0.1:${pp}`;
  const args = [
    '--name=bench',
    `--data-dir=${join(dir, 'data')}`,
    `--listen-client-urls=${url}`,
    `--advertise-client-urls=${url}`,
    `--listen-peer-urls=${peer}`,
    `--initial-advertise-peer-urls=${peer}`,
    `--initial-cluster=bench=${peer}`,
  ];
  const proc = track(o.strace ? spawn('strace', [...straceArgs(o.strace), ETCD, ...args], { stdio: ['ignore', 'pipe', 'pipe'] }) : spawn(ETCD, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  let log = '';
  const keep = (c: Buffer) => {
    log += c.toString();
    if (log.length > 100_000) log = log.slice(-50_000);
  };
  proc.stdout!.on('data', keep);
  proc.stderr!.on('data', keep);
  const pid = o.strace ? await tracee(proc, ETCD) : proc.pid!;
  const started = startTime(pid);
  if (o.strace) tracees.set(pid, started);
  const deadline = Date.now() + 20_000;
  while (!(await etcdHealthy(url))) {
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`etcd exited during startup:\n${log.slice(-2000)}`);
    if (Date.now() > deadline) {
      await waitExit(proc, pid, started, 'SIGKILL', 1000);
      throw new Error(`etcd not healthy in 20 s:\n${log.slice(-2000)}`);
    }
    await new Promise((r) => setTimeout(r, 50));
  }
  return {
    url,
    pid,
    async stop() {
      await waitExit(proc, pid, started, 'SIGTERM', 5000);
      tracees.delete(pid);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** GET /readyz without credentials; true on 200 "ok". */
export function readyz(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const req = httpsGet({ host: '127.0.0.1', port, path: '/readyz', rejectUnauthorized: false, agent: false, timeout: 2000 }, (res) => {
      let body = '';
      res.on('data', (d: Buffer) => (body += d.toString()));
      res.on('end', () => resolve(res.statusCode === 200 && body === 'ok'));
    });
    req.on('timeout', () => req.destroy());
    req.on('error', () => resolve(false));
  });
}

/** Spawns `rudder server` on a chosen port and times spawn → first /readyz ok. The caller stops it. */
export async function timeToReady(dataDir: string, datastore?: string): Promise<{ ms: number; pid: number; stop(): Promise<void> }> {
  const port = await freePort();
  const t0 = performance.now();
  const proc = track(spawn(NODE, ['--disable-warning=ExperimentalWarning', ...SERVER_NODE_FLAGS, CLI, ...rudderArgs(dataDir, port, datastore)], { stdio: ['ignore', 'ignore', 'pipe'], env: RUDDER_ENV }));
  const started = startTime(proc.pid!);
  let err = '';
  proc.stderr!.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-5000)));
  const deadline = t0 + 60_000;
  for (;;) {
    if (await readyz(port)) break;
    if (proc.exitCode !== null || proc.signalCode !== null) throw new Error(`rudder server exited during startup:\n${err}`);
    if (performance.now() > deadline) {
      await waitExit(proc, proc.pid!, started, 'SIGKILL', 1000);
      throw new Error(`rudder server not ready in 60 s:\n${err}`);
    }
    await new Promise((r) => setTimeout(r, 5));
  }
  const ms = performance.now() - t0;
  return { ms, pid: proc.pid!, stop: () => waitExit(proc, proc.pid!, started, 'SIGTERM', 15_000) };
}

/** Newest file in dir with the given extension (for --cpu-prof output). */
export function newestFile(dir: string, ext: string): string | undefined {
  const files = readdirSync(dir).filter((f) => f.endsWith(ext));
  files.sort();
  return files.length ? join(dir, files[files.length - 1]!) : undefined;
}

/**
 * The CPU profile of a process's main thread in dir. Node's --cpu-prof writes one per thread
 * (CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile; the main thread is 0): a server's or an
 * agent's worker threads (the scheduler's, DNS serving threads) write their own and may end later.
 * The largest of the main-thread profiles: the launcher may run a short compile-only pass of the
 * same command first (bin/rudder), which writes one too.
 */
export function mainThreadProfile(dir: string): string | undefined {
  const files = readdirSync(dir).filter((f) => /^CPU\.\d+\.\d+\.\d+\.0\.\d+\.cpuprofile$/.test(f));
  const size = (f: string) => statSync(join(dir, f)).size;
  return files.length ? join(dir, files.sort((a, b) => size(b) - size(a))[0]!) : undefined;
}
