// The kubelet and agent benchmark (issue 5, item 9): pod start-up latency through the whole system
// beside the raw CRI floor measured in the same run, the agent's memory with running pods, and
// `rudder sim` holding many hollow nodes with their pods. Not a test: it prints figures and writes
// JSON (bench/results/kubelet-<date>.json); BENCHMARKS.md ("Kubelet and agent") has the method.
//
//   node bench/kubelet.ts [--only floor,startup,rss,sim] [--runs 5] [--pods 30]
//                         [--sim-nodes 1000] [--sim-pods 30] [--sim-steps 1] [--sim-mode token|kubeconfig]
//                         [--paired] [--cpu-prof] [--out FILE]
//
// Root only. Every cluster is test/e2e/cluster.ts's: the server and each node in network namespaces
// this run creates, with no route out (DESIGN.md §8); the pods' clients (bench/kubelet-driver.ts)
// run inside the server's namespace. Everything is removed at the end, also on Ctrl-C.
import { spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { hollowNodeName } from '../src/agent/hollow.ts';
import { agentPaths } from '../src/kubelet/runtime/agent-runtime.ts';
import { containerdPaths } from '../src/kubelet/runtime/containerd.ts';
import { pidsWithArgs } from '../src/kubelet/runtime/testenv.ts';
import { runIn, startCluster, type E2ECluster, type E2ENode, type NsProcess } from '../test/e2e/cluster.ts';
import { cpuSeconds, mainThreadProfile, rssOf } from './processes.ts';
import { formatProfile, summarizeProfile } from './profile.ts';
import { fmt, median, quantile } from './stats.ts';

const ROOT = join(import.meta.dirname, '..');
const DRIVER = join(import.meta.dirname, 'kubelet-driver.ts');
const MiB = 1024 * 1024;

const { values } = parseArgs({
  options: {
    only: { type: 'string', default: 'floor,startup,rss,sim' },
    runs: { type: 'string', default: '5' },
    pods: { type: 'string', default: '30' },
    'sim-nodes': { type: 'string', default: '1000' },
    'sim-pods': { type: 'string', default: '30' },
    // The fill in this many equal steps (pods per node / steps each), each with its rate, CPU per
    // pod and RSS: how the cost grows with the pods held.
    'sim-steps': { type: 'string', default: '1' },
    'sim-mode': { type: 'string', default: 'token' },
    'cpu-prof': { type: 'boolean', default: false },
    // With floor and startup: the floor's runs alternate with the system's (1 floor run, then 1
    // system run, `runs` times) instead of all floor runs first, so that each pair meets the same
    // load on a machine shared with others. The cluster idles (leases, relists) during the floor's runs.
    paired: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const parts = new Set(values.only!.split(','));
const paired = values.paired! && parts.has('floor') && parts.has('startup');
const runs = Number(values.runs);
const burst = Number(values.pods);
const simNodes = Number(values['sim-nodes']);
const simPods = Number(values['sim-pods']);
const simSteps = Number(values['sim-steps']);
if (!(simSteps >= 1) || simPods % simSteps !== 0) throw new Error(`--sim-steps ${values['sim-steps']} must divide --sim-pods ${simPods}`);
const simMode = values['sim-mode'] === 'kubeconfig' ? 'kubeconfig' : 'token';
const profDir = values['cpu-prof'] ? mkdtempSync('/tmp/rudder-bench-prof-') : undefined;
const when = new Date().toISOString();
const stamp = when.slice(0, 19).replace(/[:T]/g, '-');

const clusters = new Set<E2ECluster>();
let interrupted = false;
/** Set on SIGINT: every cluster being removed; the process exits when it settles. */
let teardown: Promise<void> | undefined;
process.once('SIGINT', () => {
  interrupted = true;
  teardown = Promise.all([...clusters].map((c) => c.destroy().catch(() => undefined))).then(() => process.exit(130));
});

const log = (m: string) => process.stderr.write(`${new Date().toISOString().slice(11, 19)} ${m}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function withCluster<T>(f: (c: E2ECluster) => Promise<T>): Promise<T> {
  const c = await startCluster();
  clusters.add(c);
  try {
    return await f(c);
  } finally {
    if (!interrupted) {
      await c.destroy();
      clusters.delete(c);
    }
  }
}

/** Runs bench/kubelet-driver.ts inside the server's namespace; answers its JSON. */
async function drive<T>(c: E2ECluster, command: string, arg: unknown, timeoutMs = 600_000): Promise<T> {
  const r = await runIn(c.serverNs, process.execPath, ['--disable-warning=ExperimentalWarning', DRIVER, c.kubeconfig, command, JSON.stringify(arg)], { timeoutMs });
  if (r.code !== 0) throw new Error(`driver ${command} failed (${r.code}):\n${r.stderr}${r.stdout}`);
  return JSON.parse(r.stdout.trim().split('\n').at(-1)!) as T;
}

interface Timeline {
  name: string;
  uid?: string;
  sent: number;
  created: number;
  bound: number;
  seen: number;
  running: number;
}
interface Batch {
  t0: number;
  lines: Timeline[];
  /** The driver's time origin, when batches of several drivers are put together (--paired). */
  origin?: number;
}

// ---- floor -------------------------------------------------------------------------------------

interface Floor {
  single: { totalP50Ms: number; sandboxMs: number; createMs: number; startMs: number };
  burst: { pods: number; perPodP50Ms: number; perPodP99Ms: number; wallP50Ms: number; stages?: FloorStages[] };
}
/** One burst pod of the floor: its CRI calls' durations and its total from the burst's start (ms). */
interface FloorStages {
  sandbox: number;
  create: number;
  start: number;
  total: number;
}

async function floor(floorRuns = runs): Promise<Floor> {
  const out = join(mkdtempSync('/tmp/rudder-bench-floor-'), 'floor.json');
  log(`CRI floor: bench/cri-floor.ts --runs ${floorRuns} --pods ${burst}`);
  const code = await new Promise<number | null>((resolve) => {
    const p = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', join(import.meta.dirname, 'cri-floor.ts'), '--runs', String(floorRuns), '--pods', String(burst), '--out', out], { stdio: ['ignore', 'inherit', 'inherit'] });
    p.on('exit', resolve);
  });
  if (code !== 0) throw new Error(`cri-floor exited ${code}`);
  const f = JSON.parse(readFileSync(out, 'utf8')) as Floor;
  rmSync(join(out, '..'), { recursive: true, force: true });
  return f;
}

/** Floors of one run each (--paired) as one: medians of the single-pod figures, quantiles over every burst pod. */
function mergeFloors(fs: Floor[]): Floor {
  const stages = fs.flatMap((f) => f.burst.stages ?? []);
  const totals = stages.map((x) => x.total);
  return {
    single: {
      totalP50Ms: median(fs.map((f) => f.single.totalP50Ms)),
      sandboxMs: median(fs.map((f) => f.single.sandboxMs)),
      createMs: median(fs.map((f) => f.single.createMs)),
      startMs: median(fs.map((f) => f.single.startMs)),
    },
    burst: { pods: burst, perPodP50Ms: quantile(totals, 0.5), perPodP99Ms: quantile(totals, 0.99), wallP50Ms: median(fs.map((f) => f.burst.wallP50Ms)), stages },
    pairs: fs,
  } as Floor;
}

// ---- start-up latency and agent memory (one real node) -----------------------------------------

function agentMemory(node: E2ENode): { agentMiB: number; containerdMiB: number; totalMiB: number; shims: number; shimsMiB: number } {
  const agent = rssOf(node.agent.pid!).rss;
  const containerd = rssOf(node.containerdPid()!).rss;
  const shims = pidsWithArgs('-address', containerdPaths(agentPaths(node.dataDir).containerd).socket);
  const shimBytes = shims.reduce((s, p) => s + (rssOfSafe(p) ?? 0), 0);
  return { agentMiB: agent / MiB, containerdMiB: containerd / MiB, totalMiB: (agent + containerd) / MiB, shims: shims.length, shimsMiB: shimBytes / MiB };
}

function rssOfSafe(pid: number): number | undefined {
  try {
    return rssOf(pid).rss;
  } catch {
    return undefined;
  }
}

async function realNode(doStartup: boolean, doRss: boolean): Promise<Record<string, unknown>> {
  return withCluster(async (c) => {
    const env: Record<string, string> = profDir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${join(profDir, 'agent')}` } : {};
    // The kubelet marks each pod's stages there (src/kubelet/pod-trace.ts): read after the start-up part.
    const traceFile = join(c.dir, 'kubelet-trace.jsonl');
    const node = await c.addNode('n1', { env, extraArgs: doStartup ? ['--pod-startup-trace', traceFile] : [] });
    await c.waitReady('n1');
    // The agent's pid is node's: nsenter and bin/rudder exec into it.
    const cmdline = readFileSync(`/proc/${node.agent.pid}/cmdline`, 'utf8');
    if (!cmdline.includes('main.ts')) throw new Error(`pid ${node.agent.pid} is not the agent: ${cmdline}`);
    const out: Record<string, unknown> = {};
    if (doRss) {
      await sleep(5000);
      out.idle = agentMemory(node);
    }
    if (doStartup) {
      log(`start-up latency: 1 pod x ${runs}, ${burst} pods at once x ${runs} (busybox, image present)${paired ? ', each run after a run of the floor' : ''}`);
      type Startup = { single: Batch[]; bursts: Batch[]; timeOrigin?: number };
      const pids = { agent: node.agent.pid!, server: c.server!.pid!, containerd: node.containerdPid()! };
      type Cpu = Record<keyof typeof pids, number>;
      const cpuNow = (): Cpu => ({ agent: cpuSeconds(pids.agent), server: cpuSeconds(pids.server), containerd: cpuSeconds(pids.containerd) });
      // CPU (s) of the agent, the server and containerd over the system's runs (with --paired, not
      // the floor's runs in between): all three share the machine's cores with the pods starting.
      const used: Cpu = { agent: 0, server: 0, containerd: 0 };
      let busyMs = 0;
      const measured = async <T>(f: () => Promise<T>): Promise<T> => {
        const c0 = cpuNow();
        const t0 = performance.now();
        const v = await f();
        busyMs += performance.now() - t0;
        const c1 = cpuNow();
        for (const k of Object.keys(used) as (keyof Cpu)[]) used[k] += c1[k] - c0[k];
        return v;
      };
      let r: Startup;
      let started: number;
      if (paired) {
        const floors: Floor[] = [];
        r = { single: [], bursts: [] };
        for (let i = 0; i < runs; i++) {
          floors.push(await floor(1));
          const one = await measured(() => drive<Startup>(c, 'startup', { runs: 1, pods: burst }));
          for (const b of [...one.single, ...one.bursts]) b.origin = one.timeOrigin;
          r.single.push(...one.single);
          r.bursts.push(...one.bursts);
        }
        out.floor = mergeFloors(floors);
        started = runs * (2 + burst);
      } else {
        r = await measured(() => drive<Startup>(c, 'startup', { runs, pods: burst }));
        started = 1 + runs + runs * burst;
      }
      out.agentCoresDuringStartup = used.agent / (busyMs / 1000);
      // CPU per pod started (and stopped again: the part deletes each batch before the next).
      out.cpuMsPerPod = { agent: (used.agent / started) * 1000, server: (used.server / started) * 1000, containerd: (used.containerd / started) * 1000 };
      out.startup = r;
      out.trace = readTrace(traceFile);
    }
    if (doRss) {
      log('agent memory with 10 running pods');
      await drive(c, 'hold', { count: 10, prefix: 'rss' });
      await sleep(15_000);
      const samples = [];
      for (let i = 0; i < 5; i++) {
        samples.push(agentMemory(node));
        await sleep(2000);
      }
      const cpu0 = cpuSeconds(node.agent.pid!);
      await sleep(20_000);
      out.rss = { samples, agentCoresIdle10Pods: (cpuSeconds(node.agent.pid!) - cpu0) / 20, hwmMiB: rssOf(node.agent.pid!).hwm / MiB };
      await drive(c, 'clear', {});
    }
    if (profDir) {
      await node.agent.stop(30_000);
      // Keep the raw profile beside the results (not committed: bench/results/.gitignore).
      const raw = mainThreadProfile(join(profDir, 'agent'));
      if (raw) writeFileSync(join(ROOT, 'bench', 'results', `kubelet-${stamp}-agent.cpuprofile`), readFileSync(raw));
      const f = mainThreadProfile(join(profDir, 'agent'));
      if (f) out.profile = formatProfile('agent (whole run)', summarizeProfile(f, ROOT), 25);
    }
    return out;
  });
}

// ---- hollow nodes -------------------------------------------------------------------------------

/** What sim() has measured so far: kept in the JSON if a later step fails (e.g. the fill times out). */
const simSoFar: Record<string, unknown> = {};

async function sim(): Promise<Record<string, unknown>> {
  return withCluster(async (c) => {
    const env: Record<string, string> = profDir ? { NODE_OPTIONS: `--cpu-prof --cpu-prof-dir=${join(profDir, 'sim')}` } : {};
    const auth = simMode === 'token' ? ['--server', c.serverUrl, '--token', await c.token()] : ['--kubeconfig', c.kubeconfig];
    log(`rudder sim --nodes ${simNodes} (${simMode}), then ${simPods} pods each`);
    const t0 = performance.now();
    const p: NsProcess = c.rudder(['sim', ...auth, '--nodes', String(simNodes), '--data-dir', join(c.dir, 'sim')], c.serverNs, env);
    await p.waitFor(/hollow nodes \(.*\) started in \d+ ms/, 1_800_000, 'rudder sim');
    const joinedMs = performance.now() - t0;
    const pid = p.pid!;
    const serverPid = c.server!.pid!;
    const idleWindow = async (what: string) => {
      await sleep(20_000);
      const c0 = cpuSeconds(pid);
      const s0 = cpuSeconds(serverPid);
      await sleep(30_000);
      const r = { what, simRssMiB: rssOf(pid).rss / MiB, simHwmMiB: rssOf(pid).hwm / MiB, simCores: (cpuSeconds(pid) - c0) / 30, serverRssMiB: rssOf(serverPid).rss / MiB, serverCores: (cpuSeconds(serverPid) - s0) / 30 };
      log(`  ${what}: sim RSS ${fmt(r.simRssMiB)} MiB (peak ${fmt(r.simHwmMiB)}), ${fmt(r.simCores)} cores; server RSS ${fmt(r.serverRssMiB)} MiB, ${fmt(r.serverCores)} cores`);
      return r;
    };
    Object.assign(simSoFar, { mode: simMode, nodes: simNodes, podsPerNode: simPods, joinedMs });
    const nodesOnly = await idleWindow(`${simNodes} nodes, no pods`);
    simSoFar.nodesOnly = nodesOnly;
    const names = Array.from({ length: simNodes }, (_, i) => hollowNodeName('hollow-node', i, simNodes));
    const cpu0 = cpuSeconds(pid);
    const steps: Record<string, number>[] = [];
    const fill = { pods: 0, createdMs: 0, allRunningMs: 0, p50: 0, p99: 0 };
    for (let k = 0; k < simSteps; k++) {
      const c1 = cpuSeconds(pid);
      const s1 = cpuSeconds(serverPid);
      const t1 = performance.now();
      const f = await drive<{ pods: number; createdMs: number; allRunningMs: number; p50: number; p99: number }>(c, 'fill', { nodes: names, perNode: simPods / simSteps, concurrency: 64, prefix: simSteps > 1 ? `s${k}` : undefined }, 3_600_000);
      const wall = (performance.now() - t1) / 1000;
      const step = {
        podsBefore: fill.pods,
        pods: f.pods,
        podsPerSecond: f.pods / wall,
        simCpuMsPerPod: ((cpuSeconds(pid) - c1) / f.pods) * 1000,
        serverCpuMsPerPod: ((cpuSeconds(serverPid) - s1) / f.pods) * 1000,
        simRssMiB: rssOf(pid).rss / MiB,
        serverRssMiB: rssOf(serverPid).rss / MiB,
        p50: f.p50,
        p99: f.p99,
        load1: loadavg()[0]!,
      };
      steps.push(step);
      simSoFar.steps = steps;
      log(`  step ${k + 1}/${simSteps}: ${fill.pods + f.pods} pods, ${fmt(step.podsPerSecond)} pods/s; CPU per pod: sim ${fmt(step.simCpuMsPerPod)} ms, server ${fmt(step.serverCpuMsPerPod)} ms; RSS sim ${fmt(step.simRssMiB)} MiB, server ${fmt(step.serverRssMiB)} MiB`);
      fill.pods += f.pods;
      fill.createdMs += f.createdMs;
      fill.allRunningMs += f.allRunningMs;
      // Over several steps, p50 and p99 are the largest step's.
      fill.p50 = Math.max(fill.p50, f.p50);
      fill.p99 = Math.max(fill.p99, f.p99);
    }
    const fillCpu = cpuSeconds(pid) - cpu0;
    log(`  ${fill.pods} pods created in ${fmt(fill.createdMs / 1000)} s, all Running after ${fmt(fill.allRunningMs / 1000)} s (sim CPU ${fmt(fillCpu)} s)`);
    const withPods = await idleWindow(`${simNodes} nodes, ${simPods} pods each`);
    let profile: string | undefined;
    if (profDir) {
      await p.stop(120_000);
      const f = mainThreadProfile(join(profDir, 'sim'));
      if (f) profile = formatProfile('rudder sim (whole run)', summarizeProfile(f, ROOT), 25);
    }
    return { mode: simMode, nodes: simNodes, podsPerNode: simPods, joinedMs, nodesOnly, fill: { ...fill, simCpuSeconds: fillCpu }, steps, withPods, profile };
  });
}

// ---- stage breakdown ---------------------------------------------------------------------------

/** A line of the kubelet's trace (src/kubelet/pod-trace.ts). */
interface TraceLine {
  t: number;
  pod: string;
  uid: string;
  stage: string;
  detail?: string;
}

function readTrace(file: string): TraceLine[] {
  let text = '';
  try {
    text = readFileSync(file, 'utf8');
  } catch {
    return [];
  }
  return text.split('\n').filter(Boolean).map((l) => JSON.parse(l) as TraceLine);
}

/**
 * The stages of a starting pod, in order, each a point in time: the driver's (sent, bound, running:
 * what its watch showed) and the kubelet's trace marks (first of each for the pod's uid; for the
 * status, the first patch carrying phase Running). A stage's time spent is from the stage named
 * third (volumes are set up beside the sandbox; the image check waits for both).
 */
const STAGES = [
  ['sent', 'POST sent', undefined],
  ['bound', 'bound (watch)', 'sent'],
  ['informer', 'kubelet informer has it', 'bound'],
  ['sync', 'worker starts the sync', 'informer'],
  ['volumes-ready', 'volumes ready', 'sync'],
  ['sandbox-request', 'RunPodSandbox sent', 'sync'],
  ['sandbox-ready', 'sandbox ready (+status)', 'sandbox-request'],
  ['image-ready', 'image checked', 'sandbox-ready'],
  ['create-request', 'CreateContainer sent', 'image-ready'],
  ['create-done', 'CreateContainer done', 'create-request'],
  ['start-done', 'StartContainer done', 'create-done'],
  ['synced', 'final state read', 'start-done'],
  ['status-sent', 'Running patch sent', 'synced'],
  ['status-written', 'Running patch answered', 'status-sent'],
  ['running', 'Running (watch)', 'status-written'],
] as const;
type Stage = (typeof STAGES)[number][0];

/** Every burst pod's stage times in ms from its burst's common start (undefined where not marked). */
function burstStageTimes(st: { bursts: Batch[]; timeOrigin?: number }, trace: TraceLine[]): { total: number; at: Partial<Record<Stage, number>> }[] {
  const common = st.timeOrigin ?? 0;
  const byUid = new Map<string, TraceLine[]>();
  for (const l of trace) {
    let xs = byUid.get(l.uid);
    if (!xs) byUid.set(l.uid, (xs = []));
    xs.push(l);
  }
  const out = [];
  for (const b of st.bursts) {
    const origin = b.origin ?? common;
    for (const l of b.lines) {
      const at: Partial<Record<Stage, number>> = { sent: l.sent - b.t0, bound: l.bound - b.t0, running: l.running - b.t0 };
      for (const x of byUid.get(l.uid ?? '') ?? []) {
        const rel = x.t - origin - b.t0;
        const stage = x.stage as Stage;
        if (stage === 'status-sent' || stage === 'status-written' || stage === 'synced') {
          if (x.detail === 'Running') at[stage] ??= rel;
        } else at[stage] ??= rel;
      }
      out.push({ total: l.running - b.t0, at });
    }
  }
  return out;
}

/**
 * Where the time of a burst goes: per stage, the median time spent in it (from the previous stage
 * marked) over all pods and over the slowest tenth, and when the slowest reached it; beside the
 * floor's own pods (its sandbox/create/start durations, all and slowest tenth).
 */
function stageBreakdown(st: { bursts: Batch[]; timeOrigin?: number }, trace: TraceLine[], floorStages: FloorStages[] | undefined) {
  const pods = burstStageTimes(st, trace).sort((a, b) => a.total - b.total);
  const slow = pods.slice(Math.floor(pods.length * 0.9));
  const rows = [];
  for (const [stage, label, from] of STAGES) {
    const spent = (set: typeof pods) => {
      const xs = set.flatMap((p) => {
        const end = p.at[stage];
        const start = from ? p.at[from] : 0;
        return end === undefined || start === undefined ? [] : [end - start];
      });
      return xs.length ? median(xs) : NaN;
    };
    const reached = (set: typeof pods) => {
      const xs = set.map((p) => p.at[stage]).filter((x): x is number => x !== undefined);
      return xs.length ? median(xs) : NaN;
    };
    rows.push({ stage, label, allSpentMs: spent(pods), slowSpentMs: spent(slow), allAtMs: reached(pods), slowAtMs: reached(slow) });
  }
  let floor;
  if (floorStages?.length) {
    const f = [...floorStages].sort((a, b) => a.total - b.total);
    const fslow = f.slice(Math.floor(f.length * 0.9));
    const m = (xs: FloorStages[], k: keyof FloorStages) => median(xs.map((x) => x[k]));
    floor = {
      all: { sandboxMs: m(f, 'sandbox'), createMs: m(f, 'create'), startMs: m(f, 'start'), totalMs: m(f, 'total') },
      slowest: { sandboxMs: m(fslow, 'sandbox'), createMs: m(fslow, 'create'), startMs: m(fslow, 'start'), totalMs: m(fslow, 'total') },
    };
  }
  return { pods: pods.length, slowest: slow.length, rows, floor, slowestPods: slow.map((p) => p.at) };
}

// ---- report -------------------------------------------------------------------------------------

function latencies(b: Batch[], from: 'common' | 'own'): number[] {
  return b.flatMap((x) => x.lines.map((l) => l.running - (from === 'common' ? x.t0 : l.sent)));
}
const phase = (b: Batch[], f: (l: Timeline) => number) => median(b.flatMap((x) => x.lines.map(f)));

const result: Record<string, unknown> = {
  when,
  machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30) },
  loadBefore: loadavg(),
  runs,
  burst,
};
const lines: string[] = [];
// A part that fails is recorded and the others still run; the JSON is written either way.
const errors: Record<string, string> = {};
async function attempt<T>(name: string, f: () => Promise<T>): Promise<T | undefined> {
  try {
    return await f();
  } catch (e) {
    // On Ctrl-C the parts fail as their cluster goes away: wait for the SIGINT teardown, which exits.
    if (interrupted) await teardown;
    errors[name] = String((e as Error)?.stack ?? e);
    log(`${name} FAILED: ${errors[name]}`);
    return undefined;
  }
}
try {
  let f: Floor | undefined;
  if (parts.has('floor') && !paired) {
    f = await attempt('floor', () => floor());
    result.floor = f;
  }
  const r = parts.has('startup') || parts.has('rss') ? await attempt('realNode', () => realNode(parts.has('startup'), parts.has('rss'))) : undefined;
  if (r) {
    if (paired) {
      f = r.floor as Floor | undefined;
      result.floor = f;
      delete r.floor;
      result.paired = true;
    }
    result.realNode = r;
    const st = r.startup as { single: Batch[]; bursts: Batch[]; timeOrigin?: number } | undefined;
    if (st) {
      const single = latencies(st.single, 'own');
      const bursty = latencies(st.bursts, 'common');
      const s = {
        singleP50Ms: median(single),
        singleMinMs: Math.min(...single),
        burstP50Ms: quantile(bursty, 0.5),
        burstP99Ms: quantile(bursty, 0.99),
        burstOwnP99Ms: quantile(latencies(st.bursts, 'own'), 0.99),
        singlePhasesMs: {
          apiAndScheduler: phase(st.single, (l) => l.bound - l.sent),
          kubeletFirstStatus: phase(st.single, (l) => l.seen - l.bound),
          toRunning: phase(st.single, (l) => l.running - l.seen),
        },
      };
      result.startupSummary = s;
      const perPod = (r.cpuMsPerPod as Record<string, number> | undefined) ?? {};
      const cpu = (k: string) => fmt(perPod[k] ?? NaN);
      lines.push(`pod start-up, create → Running seen by a watch (busybox, image present, ${runs} runs):`);
      lines.push(`  1 pod:    p50 ${fmt(s.singleP50Ms)} ms (min ${fmt(s.singleMinMs)}; create→bound ${fmt(s.singlePhasesMs.apiAndScheduler)}, bound→kubelet's first status ${fmt(s.singlePhasesMs.kubeletFirstStatus)}, → Running ${fmt(s.singlePhasesMs.toRunning)})`);
      lines.push(`  ${burst} pods: p50 ${fmt(s.burstP50Ms)} ms, p99 ${fmt(s.burstP99Ms)} ms from the common start (p99 ${fmt(s.burstOwnP99Ms)} ms from each pod's own create)`);
      lines.push(`  CPU per pod started and stopped: agent ${cpu('agent')} ms, server ${cpu('server')} ms, containerd ${cpu('containerd')} ms (shims and runc apart)`);
      if (f) {
        lines.push(`  raw CRI:  1 pod p50 ${fmt(f.single.totalP50Ms)} ms; ${f.burst.pods} pods p50 ${fmt(f.burst.perPodP50Ms)} ms, p99 ${fmt(f.burst.perPodP99Ms)} ms`);
        lines.push(`  ratio:    1 pod p50 ${fmt(s.singleP50Ms / f.single.totalP50Ms)}x (target ≤ 1.5x); ${burst} pods p99 ${fmt(s.burstP99Ms / f.burst.perPodP99Ms)}x (target ≤ 1.3x)`);
        const pairs = (f as Floor & { pairs?: Floor[] }).pairs;
        if (pairs && pairs.length === st.bursts.length) {
          // Each system burst against the floor burst run just before it.
          const burstRatios = st.bursts.map((b, i) => quantile(latencies([b], 'common'), 0.99) / pairs[i]!.burst.perPodP99Ms);
          const singleRatios = st.single.map((b, i) => latencies([b], 'own')[0]! / pairs[i]!.single.totalP50Ms);
          result.pairRatios = { burstP99: burstRatios, single: singleRatios };
          lines.push(`  pairs:    ${burst} pods p99 ratio of each pair ${burstRatios.map((x) => fmt(x)).join(', ')} (median ${fmt(median(burstRatios))}x); 1 pod ${singleRatios.map((x) => fmt(x)).join(', ')} (median ${fmt(median(singleRatios))}x)`);
        }
      }
      const trace = (r.trace as TraceLine[] | undefined) ?? [];
      // The raw marks (~2,300 lines a run) are summed up below; the results file keeps the summary.
      delete r.trace;
      if (trace.length) {
        const b = stageBreakdown(st, trace, f?.burst.stages);
        result.burstStages = b;
        lines.push(`  ${burst}-pod bursts by stage (ms; "spent" = since the stage it follows, median; "at" = from the burst's start; slowest = the slowest tenth, ${b.slowest} of ${b.pods} pods):`);
        lines.push(`    ${'stage'.padEnd(26)} ${'spent all'.padStart(9)} ${'spent slow'.padStart(10)} ${'at all'.padStart(7)} ${'at slow'.padStart(7)}`);
        for (const row of b.rows) lines.push(`    ${row.label.padEnd(26)} ${fmt(row.allSpentMs).padStart(9)} ${fmt(row.slowSpentMs).padStart(10)} ${fmt(row.allAtMs).padStart(7)} ${fmt(row.slowAtMs).padStart(7)}`);
        if (b.floor) {
          const a = b.floor.all;
          const w = b.floor.slowest;
          lines.push(`    raw CRI floor, same calls: sandbox ${fmt(a.sandboxMs)} (slowest tenth ${fmt(w.sandboxMs)}), create ${fmt(a.createMs)} (${fmt(w.createMs)}), start ${fmt(a.startMs)} (${fmt(w.startMs)}); total ${fmt(a.totalMs)} (${fmt(w.totalMs)})`);
        }
      }
    }
    const rss = r.rss as { samples: ReturnType<typeof agentMemory>[]; agentCoresIdle10Pods: number; hwmMiB: number } | undefined;
    if (rss) {
      const m = (k: 'agentMiB' | 'containerdMiB' | 'totalMiB' | 'shimsMiB') => median(rss.samples.map((x) => x[k]));
      const idle = r.idle as ReturnType<typeof agentMemory>;
      result.rssSummary = { agentMiB: m('agentMiB'), containerdMiB: m('containerdMiB'), totalMiB: m('totalMiB'), shimsMiB: m('shimsMiB'), idleTotalMiB: idle.totalMiB };
      lines.push(`agent RSS with 10 running pods: ${fmt(m('totalMiB'))} MiB = agent ${fmt(m('agentMiB'))} + containerd ${fmt(m('containerdMiB'))} (target ≤ 150 MB; shims excluded: ${rss.samples[0]!.shims} using ${fmt(m('shimsMiB'))} MiB); with no pods ${fmt(idle.totalMiB)} MiB; agent peak ${fmt(rss.hwmMiB)} MiB; ${fmt(rss.agentCoresIdle10Pods)} cores idle`);
    }
  }
  const s = parts.has('sim') ? await attempt('sim', sim) : undefined;
  if (!s && parts.has('sim')) result.sim = simSoFar;
  if (s) {
    result.sim = s;
    const w = s.withPods as { simRssMiB: number; simHwmMiB: number; simCores: number };
    const n = s.nodesOnly as { simRssMiB: number; simCores: number };
    const fl = s.fill as { pods: number; allRunningMs: number; simCpuSeconds: number };
    lines.push(`rudder sim (${s.mode}): ${simNodes} nodes joined in ${fmt((s.joinedMs as number) / 1000)} s, RSS ${fmt(n.simRssMiB)} MiB, ${fmt(n.simCores)} cores idle`);
    lines.push(`  with ${simPods} pods each (${fl.pods} Running after ${fmt(fl.allRunningMs / 1000)} s): RSS ${fmt(w.simRssMiB)} MiB (peak ${fmt(w.simHwmMiB)}; target ≤ 2 GB), ${fmt(w.simCores)} cores idle`);
  }
  result.loadAfter = loadavg();
  if (Object.keys(errors).length) {
    result.errors = errors;
    lines.push(`FAILED: ${Object.keys(errors).join(', ')} (see above)`);
    process.exitCode = 1;
  }
  console.log(lines.join('\n'));
  for (const p of [(result.realNode as { profile?: string } | undefined)?.profile, (result.sim as { profile?: string } | undefined)?.profile]) if (p) console.log(`\n${p}`);
  const out = values.out ?? join(ROOT, 'bench', 'results', `kubelet-${stamp}.json`);
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`written to ${out}`);
} finally {
  if (profDir && !interrupted) rmSync(profDir, { recursive: true, force: true });
}
