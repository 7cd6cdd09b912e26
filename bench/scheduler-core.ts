// The scheduler's core in one process, without an API server: upstream scheduler_perf's
// SchedulingBasic shape (5,000 nodes of 4 cpu / 32 Gi / 110 pods; pods of the default template,
// 100m cpu / 500 Mi) — 1,000 pods placed first, then 10,000 measured. Every pod goes through
// the real queue, the scheduling cycle with the default plugins and adaptive
// percentageOfNodesToScore, the assume, the binding cycle (an in-memory binder) and the
// informer's confirmation of the bound pod (a new pod object, as a watch event delivers).
// Not a test: it prints pods/s and asserts nothing.
//
//   node bench/scheduler-core.ts [--nodes 5000] [--pods 10000] [--init 1000] [--runs 3]
//                                [--shape basic|anti-affinity|spread] [--profile]
//
// --profile runs once more under the V8 profiler and prints where the time went. The runs, the
// load average before and after, and the medians go to --out FILE (default
// bench/results/scheduler-core-<shape>-<date>.json).

import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { loadSchedulerConfig } from '../src/scheduler/config.ts';
import { SchedulerLoop } from '../src/scheduler/scheduler-loop.ts';
import type { Node, Pod } from '../src/scheduler/types.ts';
import { formatProfile, summarizeProfile } from './profile.ts';

const { values: opts } = parseArgs({
  options: {
    nodes: { type: 'string', default: '5000' },
    pods: { type: 'string', default: '10000' },
    init: { type: 'string', default: '1000' },
    runs: { type: 'string', default: '3' },
    shape: { type: 'string', default: 'basic' },
    profile: { type: 'boolean', default: false },
    child: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});

const NODES = Number(opts.nodes);
const PODS = Number(opts.pods);
const INIT = Number(opts.init);
const SHAPE = opts.shape as 'basic' | 'anti-affinity' | 'spread';

function node(i: number): Node {
  const name = `scheduler-perf-${i}`;
  return {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      uid: `node-uid-${i}`,
      labels: {
        'kubernetes.io/hostname': name,
        ...(SHAPE === 'spread' ? { 'topology.kubernetes.io/zone': `zone-${i % 3}` } : {}),
      },
    },
    spec: {},
    status: { capacity: { pods: '110', cpu: '4', memory: '32Gi' }, allocatable: { pods: '110', cpu: '4', memory: '32Gi' } },
  };
}

let seq = 0;
function pod(ns: string, group: 'init' | 'measured'): Pod {
  const i = seq++;
  const labels: Record<string, string> = { name: group, color: group === 'init' ? 'yellow' : 'green' };
  const spec: Record<string, unknown> = {
    schedulerName: 'default-scheduler',
    containers: [
      {
        name: 'pause',
        image: 'registry.k8s.io/pause:3.10',
        ports: [{ containerPort: 80, protocol: 'TCP' }],
        resources: { requests: { cpu: '100m', memory: '500Mi' }, limits: { cpu: '100m', memory: '500Mi' } },
      },
    ],
  };
  if (SHAPE === 'anti-affinity') {
    spec.affinity = {
      podAntiAffinity: {
        requiredDuringSchedulingIgnoredDuringExecution: [
          { labelSelector: { matchLabels: { color: labels.color! } }, topologyKey: 'kubernetes.io/hostname', namespaces: [ns] },
        ],
      },
    };
  }
  if (SHAPE === 'spread') {
    spec.topologySpreadConstraints = [
      { maxSkew: 5, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { color: labels.color! } } },
      { maxSkew: 1, topologyKey: 'kubernetes.io/hostname', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { color: labels.color! } } },
    ];
  }
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name: `pod-${i}`, namespace: ns, uid: `pod-uid-${i}`, labels, creationTimestamp: '2025-01-01T00:00:00Z' },
    spec: spec as unknown as Pod['spec'],
    status: { phase: 'Pending' },
  };
}

interface RunResult {
  podsPerSecond: number;
  /** Pods per second of this process's CPU time (user + system): steadier than wall time on a shared machine. */
  podsPerCpuSecond: number;
  ms: number;
  cpuMs: number;
  scheduled: number;
  unschedulable: number;
}

async function runOnce(): Promise<RunResult> {
  const settings = loadSchedulerConfig(undefined);
  const pods = new Map<string, Pod>();
  let loop!: SchedulerLoop;
  let bound = 0;
  const effects = {
    scheduled() {
      bound++;
    },
    failed() {},
    preempt() {},
  };
  // The API's answer to a binding, then the watch event of the bound pod: a new object.
  const binder = {
    async bind(p: Pod, nodeName: string) {
      const updated: Pod = { ...p, spec: { ...p.spec, nodeName }, status: { ...p.status, conditions: [{ type: 'PodScheduled', status: 'True' }] } };
      pods.set(`${p.metadata.namespace}/${p.metadata.name}`, updated);
      queueMicrotask(() => loop.onPodUpdate(p, updated));
    },
  };
  loop = new SchedulerLoop({ settings, effects, binder, podLister: (ns, name) => pods.get(`${ns}/${name}`) });
  for (let i = 0; i < NODES; i++) loop.onNodeAdd(node(i));

  const add = (count: number, group: 'init' | 'measured') => {
    for (let i = 0; i < count; i++) {
      const p = pod(`ns-${group}`, group);
      pods.set(`${p.metadata.namespace}/${p.metadata.name}`, p);
      loop.onPodAdd(p);
    }
  };
  const drain = async () => {
    let n = 0;
    while (loop.scheduleOne()) {
      if (++n % 256 === 0) await loop.drainBindings();
    }
    await loop.drainBindings();
    // confirmations are queued as microtasks behind the bindings
    await new Promise((r) => setImmediate(r));
  };

  add(INIT, 'init');
  await drain();
  const before = bound;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  add(PODS, 'measured');
  await drain();
  const ms = performance.now() - t0;
  const cu = process.cpuUsage(c0);
  const cpuMs = (cu.user + cu.system) / 1000;
  const scheduled = bound - before;
  return { podsPerSecond: (scheduled / ms) * 1000, podsPerCpuSecond: (scheduled / cpuMs) * 1000, ms, cpuMs, scheduled, unschedulable: loop.stats.unschedulable };
}

async function main(): Promise<void> {
  if (opts.child) {
    const r = await runOnce();
    console.log(JSON.stringify(r));
    return;
  }
  const load = () => loadavg().map((x) => +x.toFixed(2));
  const loadBefore = load();
  const date = new Date().toISOString();
  console.log(`scheduler core, ${SHAPE}: ${NODES} nodes, ${INIT} pods placed first, ${PODS} measured (node ${process.version}); load average ${loadBefore.join(' ')}`);
  const results: RunResult[] = [];
  for (let i = 0; i < Number(opts.runs); i++) {
    const r = await runOnce();
    results.push(r);
    console.log(
      `  run ${i + 1}: ${r.scheduled} pods in ${r.ms.toFixed(0)} ms (${r.cpuMs.toFixed(0)} ms CPU) = ${r.podsPerSecond.toFixed(0)} pods/s, ${r.podsPerCpuSecond.toFixed(0)} pods per CPU-second${r.unschedulable ? ` (${r.unschedulable} unschedulable attempts)` : ''}`,
    );
  }
  const median = (xs: number[]) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const wall = median(results.map((r) => r.podsPerSecond));
  const perCpu = median(results.map((r) => r.podsPerCpuSecond));
  console.log(`median: ${wall.toFixed(0)} pods/s wall, ${perCpu.toFixed(0)} pods per CPU-second; load average ${load().join(' ')}`);
  const out = opts.out ?? join(import.meta.dirname, 'results', `scheduler-core-${SHAPE}-${date.slice(0, 19).replace(/:/g, '-')}.json`);
  mkdirSync(join(out, '..'), { recursive: true });
  const doc = { date, shape: SHAPE, nodes: NODES, init: INIT, measured: PODS, node: process.version, loadavgBefore: loadBefore, loadavgAfter: load(), medianPodsPerSecond: wall, medianPodsPerCpuSecond: perCpu, runs: results };
  writeFileSync(out, JSON.stringify(doc, null, 1) + '\n');
  console.log(`written: ${out}`);

  if (opts.profile) {
    const dir = mkdtempSync(join(tmpdir(), 'rudder-sched-prof-'));
    try {
      const args = ['--cpu-prof', '--cpu-prof-dir', dir, import.meta.filename, '--child', '--nodes', String(NODES), '--pods', String(PODS), '--init', String(INIT), '--shape', SHAPE];
      const out = execFileSync(process.execPath, args, { encoding: 'utf8' });
      console.log(`profiled run: ${out.trim()}`);
      const file = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!;
      console.log(formatProfile('scheduler core', summarizeProfile(join(dir, file), join(import.meta.dirname, '..')), 25));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  }
}

await main();
