// Scheduler throughput over the public API of a real `rudder server` (issue 4, item 5), in the
// shapes of upstream's scheduler_perf at 5,000 nodes. Not a test: it prints a table beside
// upstream's thresholds and rudder's targets and writes bench/results/<date>-scheduler.json.
//
//   node bench/scheduler-perf.ts                          every shape, 3 runs each (median reported)
//   node bench/scheduler-perf.ts --shapes basic --runs 1
//   node bench/scheduler-perf.ts --runs 0 --profile basic   one run of Basic under --cpu-prof
//   node bench/scheduler-perf.ts --nodes 500 --init 100 --measured 1000   (iterating; not the record)
//
// Options: --shapes basic,anti-affinity,spread  --runs N  --wire protobuf|json (bodies and watch;
// default protobuf, as client-go)  --concurrency N (create streams, default 100)  --nodes/--init/
// --measured N (override upstream's counts)  --profile SHAPES (one more run of each under the
// server's --cpu-prof; the summary goes to <out>-<shape>-profile.txt)  --timeout S (per phase, default 600)
// --wait-load L --wait-idle S (first wait up to S s for the 1-minute load average to drop below L)
// --baseline (per shape, the same creates against the API server alone, --disable-scheduler: the
// server CPU a create costs without the scheduler, the "of which the create alone" column)
// --scheduler-process (the server runs with --disable-scheduler and the scheduler is its own
// `rudder scheduler --kubeconfig` process over HTTPS/HTTP2; its CPU is reported beside the server's)
// --out FILE.
//
// Each run starts a fresh `rudder server --disable-agent --disable-controller-manager` (the API
// server and the scheduler, on SQLite in a temporary data dir, loopback, an OS-chosen port); the
// load generator (bench/scheduler-load.ts) is another process. Per run: namespaces and their
// default ServiceAccounts, the nodes, the init pods (waited for until all are bound), then the
// measured pods, created as fast as the API takes them while a watch records each binding.
// Throughput = measured pods ÷ (first measured create sent → last binding seen on the watch);
// latency per pod = create sent → binding seen.

import { fork, spawn, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, release, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import { CLI, NODE, ROOT, SERVER_NODE_FLAGS, cleanupAll, keepOutput, cpuSeconds, newDir, newestFile, readCreds, rssOf, track } from './processes.ts';
import { formatProfile, summarizeProfile } from './profile.ts';
import type { NodesResult, PodsResult, SchedJob, Target, Wire } from './scheduler-load.ts';
import { SHAPES, workload, type Shape, type Workload } from './scheduler-workloads.ts';
import { fmt, median } from './stats.ts';

const { values: opt } = parseArgs({
  options: {
    shapes: { type: 'string', default: SHAPES.join(',') },
    runs: { type: 'string', default: '3' },
    wire: { type: 'string', default: 'protobuf' },
    concurrency: { type: 'string', default: '100' },
    nodes: { type: 'string' },
    init: { type: 'string' },
    measured: { type: 'string' },
    profile: { type: 'string' },
    baseline: { type: 'boolean', default: false },
    'scheduler-process': { type: 'boolean', default: false },
    timeout: { type: 'string', default: '600' },
    'wait-load': { type: 'string', default: '1' },
    'wait-idle': { type: 'string', default: '0' },
    out: { type: 'string' },
  },
});

const shapes = opt.shapes.split(',').map((s) => {
  if (!SHAPES.includes(s as Shape)) throw new Error(`--shapes: unknown shape "${s}" (one of ${SHAPES.join(', ')})`);
  return s as Shape;
});
const RUNS = Number(opt.runs);
const WIRE = opt.wire as Wire;
if (WIRE !== 'protobuf' && WIRE !== 'json') throw new Error('--wire: protobuf or json');
const CONCURRENCY = Number(opt.concurrency);
const TIMEOUT_MS = Number(opt.timeout) * 1000;
const SCHED_PROC = opt['scheduler-process'];
const sizes = {
  ...(opt.nodes ? { nodes: Number(opt.nodes) } : {}),
  ...(opt.init ? { init: Number(opt.init) } : {}),
  ...(opt.measured ? { measured: Number(opt.measured) } : {}),
};

const T0 = performance.now();
const log = (msg: string) => process.stderr.write(`[sched-perf ${((performance.now() - T0) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);
const load1 = () => +loadavg()[0]!.toFixed(2);

// ---------------------------------------------------------------- processes

interface Server {
  target: Target;
  pid: number;
  /** The scheduler's own process (--scheduler-process), else undefined: it runs inside the server. */
  schedulerPid?: number;
  /** Scheduled events the scheduler's broadcaster dropped so far (its queue holds 1,000, as upstream's). */
  droppedEvents(): number;
  stop(): Promise<void>;
}

/** A child process whose output (stdout and stderr, the last 100-200 kB) is kept for matching. */
function spawnLogged(args: string[]): { proc: ChildProcess; out(): string; waitFor(re: RegExp, what: string): Promise<RegExpExecArray> } {
  const proc = track(spawn(NODE, args, { stdio: ['ignore', 'pipe', 'pipe'] }));
  const out = keepOutput(proc);
  const waitFor = (re: RegExp, what: string) =>
    new Promise<RegExpExecArray>((resolve, reject) => {
      const done = () => {
        clearTimeout(t);
        proc.stderr!.off('data', check);
        proc.off('exit', onExit);
      };
      const t = setTimeout(() => {
        done();
        reject(new Error(`${what} not in 60 s:\n${out().slice(-3000)}`));
      }, 60_000);
      const check = () => {
        const m = re.exec(out());
        if (m) {
          done();
          resolve(m);
        }
      };
      const onExit = (code: number | null) => {
        done();
        reject(new Error(`${what}: the process exited (${code}) before:\n${out().slice(-3000)}`));
      };
      proc.stderr!.on('data', check);
      proc.once('exit', onExit);
      check();
    });
  return { proc, out, waitFor };
}

/** SIGTERM (a clean exit, so --cpu-prof writes its profile); SIGKILL after 20 s. Our own child: its PID stays ours until we have seen it exit. */
async function stopChild(proc: ChildProcess): Promise<void> {
  if (proc.exitCode !== null || proc.signalCode !== null) return;
  const done = new Promise<void>((r) => proc.once('exit', () => r()));
  proc.kill('SIGTERM');
  const k = setTimeout(() => proc.kill('SIGKILL'), 20_000);
  await done;
  clearTimeout(k);
}

/**
 * `rudder server` with only the API server and the scheduler; resolves once the scheduler leads.
 * scheduler 'none' (the baseline): the API server alone. 'process': the server with
 * --disable-scheduler and `rudder scheduler --kubeconfig` (the admin kubeconfig) as its own process.
 */
async function startServer(cpuProfDir?: string, scheduler: 'embedded' | 'process' | 'none' = 'embedded'): Promise<Server> {
  const dataDir = newDir('rudder');
  const prof = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${cpuProfDir}`] : [];
  const srv = spawnLogged([
    '--disable-warning=ExperimentalWarning',
    ...SERVER_NODE_FLAGS,
    ...prof,
    CLI,
    'server',
    '--data-dir',
    dataDir,
    '--https-listen-port',
    '0',
    '--bind-address',
    '127.0.0.1',
    '--advertise-address',
    '127.0.0.1',
    '--disable-agent',
    '--disable-controller-manager',
    ...(scheduler === 'embedded' ? [] : ['--disable-scheduler']),
  ]);
  const port = Number((await srv.waitFor(/API server ready at https:\/\/127\.0\.0\.1:(\d+)/, "rudder server's API"))[1]);
  let sched: ReturnType<typeof spawnLogged> | undefined;
  const schedOut = () => (scheduler === 'process' ? (sched?.out() ?? '') : srv.out());
  try {
    if (scheduler === 'embedded') await srv.waitFor(/scheduler: scheduling with profiles/, "rudder server's scheduler leading");
    if (scheduler === 'process') {
      const sprof = cpuProfDir ? ['--cpu-prof', `--cpu-prof-dir=${join(cpuProfDir, 'scheduler')}`] : [];
      sched = spawnLogged(['--disable-warning=ExperimentalWarning', ...sprof, CLI, 'scheduler', '--kubeconfig', join(dataDir, 'kubeconfig.yaml')]);
      await sched.waitFor(/scheduler: scheduling with profiles/, 'rudder scheduler leading');
    }
  } catch (e) {
    if (sched) await stopChild(sched.proc);
    await stopChild(srv.proc);
    throw e;
  }
  let stopped = false;
  return {
    target: { url: `https://127.0.0.1:${port}`, creds: readCreds(join(dataDir, 'kubeconfig.yaml')) },
    pid: srv.proc.pid!,
    ...(sched ? { schedulerPid: sched.proc.pid! } : {}),
    droppedEvents() {
      let n = 0;
      for (const m of schedOut().matchAll(/unable to record event: too many queued events, dropped event \S+(?: \(and (\d+) more)?/g)) n += 1 + Number(m[1] ?? 0);
      return n;
    },
    async stop() {
      if (stopped) return;
      stopped = true;
      if (sched) await stopChild(sched.proc);
      await stopChild(srv.proc);
      // What the scheduler logged (dropped events, failed bindings…), by kind, for the record.
      const kinds = new Map<string, number>();
      for (const l of schedOut().split('\n')) {
        const m = /scheduler: (.*)/.exec(l);
        if (!m || /scheduling with profiles|leader/.test(m[1]!)) continue;
        const k = m[1]!.replace(/[\w.-]+\/[\w.-]+/g, 'NS/NAME').replace(/\d+/g, 'N').slice(0, 160);
        kinds.set(k, (kinds.get(k) ?? 0) + 1);
      }
      for (const [k, n] of kinds) log(`  scheduler log: ${n} × ${k}`);
    },
  };
}

class LoadGen {
  private readonly proc: ChildProcess;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  constructor() {
    this.proc = track(fork(join(import.meta.dirname, 'scheduler-load.ts'), [], { execPath: NODE, execArgv: ['--disable-warning=ExperimentalWarning'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] }));
    this.proc.on('message', (m: { id: number; result?: unknown; error?: string }) => {
      const w = this.waiting.get(m.id);
      if (!w) return;
      this.waiting.delete(m.id);
      if (m.error) w.reject(new Error(`load generator: ${m.error}`));
      else w.resolve(m.result);
    });
    this.proc.on('exit', (code) => {
      for (const w of this.waiting.values()) w.reject(new Error(`load generator exited (${code})`));
      this.waiting.clear();
    });
  }
  get pid(): number {
    return this.proc.pid!;
  }
  call<T>(job: SchedJob): Promise<T> {
    const id = ++this.seq;
    return new Promise<T>((resolve, reject) => {
      this.waiting.set(id, { resolve: resolve as (v: unknown) => void, reject });
      this.proc.send({ id, job });
    });
  }
  async close(): Promise<void> {
    if (this.proc.exitCode !== null) return;
    const done = new Promise((r) => this.proc.once('exit', r));
    this.proc.disconnect();
    await done;
  }
}

// ---------------------------------------------------------------- one run

/**
 * CPU seconds of one process's threads: its main thread (the event loop: TID = PID) and its
 * Node worker threads (comm "WorkerThread": the embedded scheduler's).
 */
function threadCpu(pid: number): { main: number; workers: number } {
  const read = (tid: string) => {
    const stat = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) / 100;
  };
  let workers = 0;
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      if (readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim() === 'WorkerThread') workers += read(tid);
    } catch {
      // the thread ended
    }
  }
  return { main: read(String(pid)), workers };
}

interface RunResult {
  shape: Shape;
  nodes: NodesResult;
  init: PodsResult;
  measured: Omit<PodsResult, 'perSecond'> & { perSecond: number[] };
  /** CPU seconds each process used during the measured phase, and cores (CPU s / wall s). */
  cpu: { server: number; loadgen: number; serverCores: number; loadgenCores: number; scheduler?: number; schedulerCores?: number; serverMainThread: number; serverWorkerThreads: number };
  /** Where the scheduler ran: inside the server process, or its own (--scheduler-process). */
  schedulerIn: 'server' | 'process';
  /** Measured pods per CPU-second of the server process (API server + scheduler). */
  podsPerServerCpuSecond: number;
  /** Scheduled events dropped by the scheduler's event broadcaster (init and measured phases). */
  eventsDropped: number;
  /** The server process's resident memory once every measured pod is bound (MB), and its peak so far. */
  serverRssMB: number;
  serverPeakRssMB: number;
  loadBefore: number;
  loadAfter: number;
  profile?: string;
}

async function runOnce(lg: LoadGen, w: Workload, shape: Shape, profileDir?: string): Promise<RunResult> {
  const loadBefore = load1();
  const server = await startServer(profileDir, SCHED_PROC ? 'process' : 'embedded');
  const sp = server.schedulerPid;
  try {
    const target = server.target;
    await lg.call({ kind: 'namespaces', target, names: w.namespaces });
    const nodes = await lg.call<NodesResult>({ kind: 'nodes', target, count: w.nodes, ...(w.zones ? { zones: w.zones } : {}), concurrency: CONCURRENCY, wire: WIRE });
    log(`  ${w.nodes} nodes in ${nodes.seconds.toFixed(1)} s (${fmt(nodes.rate)}/s)`);
    const phase = (p: Workload['init']) => lg.call<PodsResult>({ kind: 'pods', target, namespace: p.namespace, template: p.template, count: p.count, concurrency: CONCURRENCY, wire: WIRE, timeoutMs: TIMEOUT_MS });
    const init = await phase(w.init);
    log(`  init: ${init.bound}/${init.n} bound, ${fmt(init.throughput)} pods/s`);
    const c0 = { server: cpuSeconds(server.pid), loadgen: cpuSeconds(lg.pid), scheduler: sp ? cpuSeconds(sp) : 0, threads: threadCpu(server.pid), t: performance.now() };
    const measured = await phase(w.measured);
    const wall = (performance.now() - c0.t) / 1000;
    const t1 = threadCpu(server.pid);
    const cpu = {
      server: cpuSeconds(server.pid) - c0.server,
      loadgen: cpuSeconds(lg.pid) - c0.loadgen,
      ...(sp ? { scheduler: cpuSeconds(sp) - c0.scheduler } : {}),
      serverMainThread: t1.main - c0.threads.main,
      serverWorkerThreads: t1.workers - c0.threads.workers,
    };
    const r: RunResult = {
      shape,
      nodes,
      init,
      measured,
      cpu: {
        ...cpu,
        serverCores: +(cpu.server / wall).toFixed(2),
        loadgenCores: +(cpu.loadgen / wall).toFixed(2),
        ...(cpu.scheduler !== undefined ? { schedulerCores: +(cpu.scheduler / wall).toFixed(2) } : {}),
      },
      schedulerIn: sp ? 'process' : 'server',
      podsPerServerCpuSecond: measured.bound / cpu.server,
      eventsDropped: server.droppedEvents(),
      serverRssMB: Math.round(rssOf(server.pid).rss / 2 ** 20),
      serverPeakRssMB: Math.round(rssOf(server.pid).hwm / 2 ** 20),
      loadBefore,
      loadAfter: load1(),
    };
    log(
      `  measured: ${measured.bound}/${measured.n} bound in ${measured.seconds.toFixed(2)} s = ${fmt(measured.throughput)} pods/s; latency p50 ${fmt(measured.latency.p50)} ms p99 ${fmt(measured.latency.p99)} ms; creates ${fmt(measured.createRate)}/s; ${r.eventsDropped} Scheduled events dropped; server ${r.cpu.serverCores} cores (${fmt((1000 * cpu.server) / measured.bound)} ms/pod: main thread ${fmt((1000 * cpu.serverMainThread) / measured.bound)}, worker threads ${fmt((1000 * cpu.serverWorkerThreads) / measured.bound)})${cpu.scheduler !== undefined ? `, scheduler ${r.cpu.schedulerCores} cores (${fmt((1000 * cpu.scheduler) / measured.bound)} ms/pod)` : ''}, loadgen ${r.cpu.loadgenCores}; server RSS ${r.serverRssMB} MB (peak ${r.serverPeakRssMB}); load ${loadBefore} → ${r.loadAfter}` +
        (measured.createErrors ? `; ${measured.createErrors} create errors, e.g. ${measured.firstError}` : ''),
    );
    if (profileDir) {
      await server.stop();
      // Node names them CPU.<date>.<time>.<pid>.<thread id>.<seq>.cpuprofile: thread 0 is the
      // server's event loop, any other the embedded scheduler's worker thread.
      const files = readdirSync(profileDir).filter((f) => f.endsWith('.cpuprofile'));
      const main = files.find((f) => f.includes(`.${server.pid}.0.`));
      if (!main) throw new Error('the server wrote no .cpuprofile');
      r.profile = formatProfile(`rudder server's main thread during ${w.name} (measured phase: ${measured.n} pods)`, summarizeProfile(join(profileDir, main), ROOT, measured.monoWindow, 40), 30);
      for (const f of files.filter((f) => f !== main)) {
        r.profile += '\n\n' + formatProfile(`rudder server's worker thread (the scheduler) during ${w.name}`, summarizeProfile(join(profileDir, f), ROOT, measured.monoWindow, 40), 30);
      }
      if (sp) {
        const sf = newestFile(join(profileDir, 'scheduler'), '.cpuprofile');
        if (!sf) throw new Error('the scheduler wrote no .cpuprofile');
        r.profile += '\n\n' + formatProfile(`rudder scheduler (its own process) during ${w.name}`, summarizeProfile(sf, ROOT, measured.monoWindow, 40), 30);
      }
    }
    return r;
  } finally {
    await server.stop();
  }
}

/**
 * The same creates against the API server alone (--disable-scheduler): what a create costs the
 * server without the scheduler's work (its watch, binding, event). Server CPU seconds per create
 * of the measured phase.
 */
async function baselineOnce(lg: LoadGen, w: Workload): Promise<Baseline> {
  const loadBefore = load1();
  const server = await startServer(undefined, 'none');
  try {
    const target = server.target;
    await lg.call({ kind: 'namespaces', target, names: w.namespaces });
    await lg.call<NodesResult>({ kind: 'nodes', target, count: w.nodes, ...(w.zones ? { zones: w.zones } : {}), concurrency: CONCURRENCY, wire: WIRE });
    const phase = (p: Workload['init']) =>
      lg.call<PodsResult>({ kind: 'pods', target, namespace: p.namespace, template: p.template, count: p.count, concurrency: CONCURRENCY, wire: WIRE, timeoutMs: TIMEOUT_MS, waitBound: false });
    await phase(w.init);
    const c0 = cpuSeconds(server.pid);
    const m = await phase(w.measured);
    const cpu = cpuSeconds(server.pid) - c0;
    const b: Baseline = { creates: m.n - m.createErrors, createRate: m.createRate, serverCpuMsPerCreate: (1000 * cpu) / (m.n - m.createErrors), loadBefore, loadAfter: load1() };
    log(`  baseline (no scheduler): ${b.creates} creates at ${fmt(b.createRate)}/s, ${fmt(b.serverCpuMsPerCreate)} ms of server CPU each; load ${loadBefore} → ${b.loadAfter}`);
    return b;
  } finally {
    await server.stop();
  }
}

interface Baseline {
  creates: number;
  createRate: number;
  serverCpuMsPerCreate: number;
  loadBefore: number;
  loadAfter: number;
}

// ---------------------------------------------------------------- main

async function waitIdle(): Promise<void> {
  const max = Number(opt['wait-idle']) * 1000;
  const want = Number(opt['wait-load']);
  const end = performance.now() + max;
  while (performance.now() < end && load1() >= want) await new Promise((r) => setTimeout(r, 5000));
}

function machine() {
  const cs = cpus();
  return {
    cpu: cs[0]?.model ?? 'unknown',
    nproc: cs.length,
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    kernel: release(),
    node: process.version,
  };
}

interface Summary {
  shape: Shape;
  workload: string;
  nodes: number;
  init: number;
  measured: number;
  runs: number;
  throughput: number;
  throughputs: number[];
  p50: number;
  p99: number;
  createRate: number;
  serverCores: number;
  podsPerServerCpuSecond: number;
  /** Server CPU per measured pod, ms; and per create of the same pods without a scheduler. */
  serverCpuMsPerPod: number;
  /** Of serverCpuMsPerPod: the server's main thread (its event loop), and its worker threads (the embedded scheduler's). */
  serverMainThreadMsPerPod: number;
  serverWorkerThreadsMsPerPod: number;
  /** With --scheduler-process: the scheduler process's CPU per measured pod, ms. */
  schedulerCpuMsPerPod?: number;
  baselineCpuMsPerCreate?: number;
  upstreamThreshold: string;
  target: number;
  met: boolean;
}

function summarize(shape: Shape, w: Workload, rs: RunResult[], b: Baseline | undefined): Summary {
  const m = (f: (r: RunResult) => number) => median(rs.map(f));
  const throughput = m((r) => r.measured.throughput);
  return {
    shape,
    workload: w.name,
    nodes: w.nodes,
    init: w.init.count,
    measured: w.measured.count,
    runs: rs.length,
    throughput,
    throughputs: rs.map((r) => Math.round(r.measured.throughput)),
    p50: m((r) => r.measured.latency.p50),
    p99: m((r) => r.measured.latency.p99),
    createRate: m((r) => r.measured.createRate),
    serverCores: m((r) => r.cpu.serverCores),
    podsPerServerCpuSecond: m((r) => r.podsPerServerCpuSecond),
    serverCpuMsPerPod: m((r) => (1000 * r.cpu.server) / r.measured.bound),
    serverMainThreadMsPerPod: m((r) => (1000 * r.cpu.serverMainThread) / r.measured.bound),
    serverWorkerThreadsMsPerPod: m((r) => (1000 * r.cpu.serverWorkerThreads) / r.measured.bound),
    ...(rs.every((r) => r.cpu.scheduler !== undefined) ? { schedulerCpuMsPerPod: m((r) => (1000 * r.cpu.scheduler!) / r.measured.bound) } : {}),
    ...(b ? { baselineCpuMsPerCreate: b.serverCpuMsPerCreate } : {}),
    upstreamThreshold: w.upstreamThreshold,
    target: w.target,
    met: throughput >= w.target,
  };
}

function table(ss: Summary[]): string {
  const head = ['workload', 'pods/s (median)', 'runs', 'p50 ms', 'p99 ms', 'creates/s', 'server cores', 'server CPU ms/pod', 'main thread', 'worker threads', 'scheduler process CPU ms/pod', 'of which the create alone', 'upstream threshold', 'rudder target'];
  const rows = ss.map((s) => [
    s.workload + (s.nodes !== 5000 || s.measured !== workload(s.shape).measured.count ? ` (${s.nodes} nodes, ${s.init}+${s.measured} pods)` : ''),
    fmt(s.throughput),
    s.throughputs.join(', '),
    fmt(s.p50),
    fmt(s.p99),
    fmt(s.createRate),
    fmt(s.serverCores),
    fmt(s.serverCpuMsPerPod),
    fmt(s.serverMainThreadMsPerPod),
    fmt(s.serverWorkerThreadsMsPerPod),
    s.schedulerCpuMsPerPod !== undefined ? fmt(s.schedulerCpuMsPerPod) : '-',
    s.baselineCpuMsPerCreate !== undefined ? fmt(s.baselineCpuMsPerCreate) : '-',
    s.upstreamThreshold,
    `≥ ${s.target} ${s.met ? 'met' : 'missed'}`,
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (r: string[]) => `| ${r.map((c, i) => c.padEnd(widths[i]!)).join(' | ')} |`;
  return [line(head), `|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`, ...rows.map(line)].join('\n');
}

async function main(): Promise<void> {
  await waitIdle();
  const info = machine();
  const date = new Date().toISOString().replace(/[:]/g, '-').replace(/\..*/, '');
  const resultsDir = join(ROOT, 'bench', 'results');
  mkdirSync(resultsDir, { recursive: true });
  const file = opt.out ?? join(resultsDir, `${date}-scheduler.json`);
  log(`${info.nproc} CPUs (${info.cpu}), ${info.memoryGiB} GiB, Node ${info.node}; load ${loadavg().map((x) => x.toFixed(2)).join(' ')}; wire ${WIRE}, ${CONCURRENCY} create streams`);
  const lg = new LoadGen();
  const runs: RunResult[] = [];
  const summaries: Summary[] = [];
  const profiles: { shape: Shape; text: string; file: string | undefined }[] = [];
  const baselines: Partial<Record<Shape, Baseline>> = {};
  try {
    for (const shape of shapes) {
      const w = workload(shape, sizes);
      const rs: RunResult[] = [];
      for (let i = 0; i < RUNS; i++) {
        log(`${w.name}: run ${i + 1}/${RUNS} (${w.nodes} nodes, ${w.init.count} init pods, ${w.measured.count} measured)`);
        rs.push(await runOnce(lg, w, shape));
      }
      runs.push(...rs);
      if (opt.baseline) {
        log(`${w.name}: baseline`);
        baselines[shape] = await baselineOnce(lg, w);
      }
      if (rs.length) summaries.push(summarize(shape, w, rs, baselines[shape]));
    }
    for (const shape of opt.profile ? opt.profile.split(',') : []) {
      if (!SHAPES.includes(shape as Shape)) throw new Error(`--profile: unknown shape "${shape}"`);
      const w = workload(shape as Shape, sizes);
      log(`${w.name}: profiled run`);
      const dir = newDir('cpuprof');
      const r = await runOnce(lg, w, shape as Shape, dir);
      runs.push(r);
      profiles.push({ shape: shape as Shape, text: r.profile!, file: readdirSync(dir).filter((f) => /\.\d+\.0\.\d+\.cpuprofile$/.test(f)).map((f) => join(dir, f))[0] });
    }
  } finally {
    await lg.close();
  }
  const doc = {
    date: new Date().toISOString(),
    machine: info,
    method: { wire: WIRE, createStreams: CONCURRENCY, percentageOfNodesToScore: 'adaptive (default configuration)', server: 'rudder server --disable-agent --disable-controller-manager (SQLite)',
      scheduler: SCHED_PROC ? 'its own process: rudder scheduler --kubeconfig (HTTPS, HTTP/2, JSON), server with --disable-scheduler' : 'in the server process, on a worker thread of its own (the in-process transport answered on the main thread)' },
    loadAverage: loadavg(),
    summaries,
    baselines,
    runs: runs.map(({ profile: _p, ...r }) => r),
  };
  writeFileSync(file, JSON.stringify(doc, null, 1) + '\n');
  for (const p of profiles) {
    const pf = file.replace(/\.json$/, `-${p.shape}-profile.txt`);
    writeFileSync(pf, p.text + '\n');
    // The raw profile is kept beside the summary (not committed: bench/results/.gitignore).
    if (p.file) copyFileSync(p.file, pf.replace(/-profile\.txt$/, '.cpuprofile'));
    process.stdout.write(`\n${p.text}\n`);
    log(`profile summary: ${relative(ROOT, pf)}`);
  }
  process.stdout.write(`\n${table(summaries)}\n\n${info.nproc} CPUs (${info.cpu}), ${info.memoryGiB} GiB, kernel ${info.kernel}, Node ${info.node}; wire ${WIRE}; written: ${relative(ROOT, file)}\n`);
}

let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    if (interrupted) return;
    interrupted = true;
    process.stderr.write(`\n${sig}: stopping every benchmark process\n`);
    cleanupAll();
    process.exit(130);
  });
}
process.on('exit', cleanupAll);
main().catch((e) => {
  process.stderr.write(`scheduler-perf failed: ${(e as Error)?.stack ?? e}\n`);
  cleanupAll();
  process.exit(1);
});
