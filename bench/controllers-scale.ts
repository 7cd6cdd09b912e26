// Controller scaling figures (issue 3, item 6), in process: an API server on SQLite in a temporary
// directory and a controller-manager running the workload controllers over the in-process
// transport, as `rudder server` runs them. Not a test: it prints the figures and asserts nothing.
//
//   node bench/controllers-scale.ts                 both figures, 3 runs each (the median is reported)
//   node bench/controllers-scale.ts --runs 1 --only scale
//
// Figures:
//   scale   a Deployment of 0 replicas scaled to 1,000: time until 1,000 pods exist (seen on a
//           pod watch), and until the Deployment's status reports 1,000 replicas;
//   many    100 Deployments of 10 replicas created at once: time until their 1,000 pods exist;
//   idle    the controller-manager's CPU while idle with 1,000 pods: `rudder server --disable-agent
//           --disable-scheduler --disable-controller-manager` and, beside it, `rudder controller-manager`
//           (every controller, as `rudder server` runs them) as its own process over HTTPS; a
//           Deployment of 1,000 replicas (pods stay Pending: no scheduler, no nodes), then, 10 s after
//           its status reports 1,000 replicas, the cores each process used over --idle-seconds (default
//           60), from /proc/PID/stat. Once, not per run (it is a long window already).
//
// --out FILE writes the figures as JSON (default bench/results/controllers-scale-<date>.json).
import { parseArgs } from 'node:util';
import { startTestApiServer } from '../src/apiserver/testing.ts';
import { Client } from '../src/client/client.ts';
import { startControllerManager } from '../src/controllers/manager.ts';
import { TEST_CONFIG, controllerIdentities } from '../src/controllers/testing.ts';
import { workloadControllers } from '../src/controllers/workloads.ts';
import { httpsTransportFromKubeconfig } from '../src/client/https.ts';
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { CLI, NODE, ROOT, cleanupAll, cpuSeconds, startRudder, track } from './processes.ts';

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    only: { type: 'string' },
    pods: { type: 'string', default: '1000' },
    'idle-seconds': { type: 'string', default: '60' },
    out: { type: 'string' },
  },
});
const RUNS = Number(opt.runs);
const N = Number(opt.pods);
const parts = opt.only ? opt.only.split(',') : ['scale', 'many', 'idle'];
const IDLE_SECONDS = Number(opt['idle-seconds']);

function deployment(name: string, replicas: number) {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name } },
        spec: { containers: [{ name: 'app', image: 'registry.k8s.io/echoserver:1.4', resources: { requests: { cpu: '10m', memory: '16Mi' } } }] },
      },
    },
  };
}

interface Env {
  admin: Client;
  stop(): Promise<void>;
}

async function start(): Promise<Env> {
  const api = await startTestApiServer();
  const admin = new Client(api.server.localTransport({ name: 'system:admin', groups: ['system:masters', 'system:authenticated'] }, 'bench'));
  // Each controller acts as its kube-system service account, as `rudder server` runs them: RBAC
  // grants the manager's own identity only what it needs itself (leases, events).
  const m = startControllerManager({
    ...controllerIdentities(api.server),
    config: TEST_CONFIG,
    controllers: workloadControllers(),
    leaderElect: false,
  });
  await m.started();
  // pods need their ServiceAccount (admission); the ServiceAccount controller is not part of this run
  await admin.resource('', 'serviceaccounts').namespace('default').create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
  return {
    admin,
    async stop() {
      await m.stop();
      await api.stop();
    },
  };
}

/** Resolves when `n` pods have been added in the namespace (counted on a watch), with the time. */
async function podCounter(admin: Client, ns: string, n: number): Promise<{ done: Promise<number>; close(): void }> {
  const list = await admin.resource('', 'pods').namespace(ns).list();
  let seen = list.items.length;
  let resolve!: (t: number) => void;
  const done = new Promise<number>((r) => (resolve = r));
  const h = admin.resource('', 'pods').namespace(ns).watch(
    { resourceVersion: list.metadata.resourceVersion },
    {
      onEvent: (ev) => {
        if (ev.type === 'ADDED' && ++seen === n) resolve(performance.now());
      },
      onClose: () => undefined,
    },
  );
  return { done, close: () => h.close() };
}

async function untilStatus(admin: Client, ns: string, name: string, n: number): Promise<number> {
  for (;;) {
    const d = (await admin.resource('apps', 'deployments').namespace(ns).get(name)) as { status?: { replicas?: number } };
    if (d.status?.replicas === n) return performance.now();
    await new Promise((r) => setTimeout(r, 10));
  }
}

async function scaleRun(): Promise<{ podsMs: number; statusMs: number }> {
  const env = await start();
  try {
    const deps = env.admin.resource('apps', 'deployments').namespace('default');
    await deps.create(deployment('big', 0));
    // the ReplicaSet of 0 exists before the clock starts
    for (;;) {
      const l = await env.admin.resource('apps', 'replicasets').namespace('default').list();
      if (l.items.length === 1) break;
      await new Promise((r) => setTimeout(r, 10));
    }
    const counter = await podCounter(env.admin, 'default', N);
    const t0 = performance.now();
    await deps.patch('big', 'merge', { spec: { replicas: N } }, { subresource: 'scale' });
    const tPods = await counter.done;
    const tStatus = await untilStatus(env.admin, 'default', 'big', N);
    counter.close();
    return { podsMs: tPods - t0, statusMs: tStatus - t0 };
  } finally {
    await env.stop();
  }
}

async function manyRun(): Promise<{ podsMs: number }> {
  const env = await start();
  try {
    const deps = env.admin.resource('apps', 'deployments').namespace('default');
    const count = Math.floor(N / 10);
    const counter = await podCounter(env.admin, 'default', count * 10);
    const t0 = performance.now();
    await Promise.all(Array.from({ length: count }, (_, i) => deps.create(deployment(`d${i}`, 10))));
    const tPods = await counter.done;
    counter.close();
    return { podsMs: tPods - t0 };
  } finally {
    await env.stop();
  }
}

/** The idle figure: separate processes, so the controller-manager's CPU is its own. */
async function idleRun(): Promise<Record<string, unknown>> {
  const server = await startRudder({ apiOnly: true });
  const kubeconfig = join(server.dataDir, 'kubeconfig.yaml');
  const cm = track(spawn(NODE, ['--disable-warning=ExperimentalWarning', CLI, 'controller-manager', '--kubeconfig', kubeconfig, '--data-dir', server.dataDir], { stdio: ['ignore', 'ignore', 'pipe'] }));
  let cmLog = '';
  cm.stderr!.on('data', (c: Buffer) => (cmLog = (cmLog + c.toString()).slice(-20_000)));
  const { transport } = httpsTransportFromKubeconfig(kubeconfig, { userAgent: 'bench' });
  const admin = new Client(transport);
  try {
    for (let t = performance.now(); !/controller-manager: running/.test(cmLog); ) {
      if (performance.now() - t > 60_000) throw new Error(`controller-manager not running after 60 s:\n${cmLog}`);
      await new Promise((r) => setTimeout(r, 100));
    }
    // the serviceaccount controller makes `default`; pods need it
    for (;;) {
      const ok = await admin.resource('', 'serviceaccounts').namespace('default').get('default').then(() => true, () => false);
      if (ok) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    const counter = await podCounter(admin, 'default', N);
    const t0 = performance.now();
    await admin.resource('apps', 'deployments').namespace('default').create(deployment('idle', N));
    const tPods = await counter.done;
    counter.close();
    await untilStatus(admin, 'default', 'idle', N);
    await new Promise((r) => setTimeout(r, 10_000));
    const load = loadavg().map((x) => +x.toFixed(2));
    const cm0 = cpuSeconds(cm.pid!);
    const api0 = cpuSeconds(server.pid);
    const w0 = performance.now();
    await new Promise((r) => setTimeout(r, IDLE_SECONDS * 1000));
    const wall = (performance.now() - w0) / 1000;
    return {
      podsMsOverHttps: tPods - t0,
      idleSeconds: +wall.toFixed(1),
      controllerManagerCores: +((cpuSeconds(cm.pid!) - cm0) / wall).toFixed(4),
      apiServerCores: +((cpuSeconds(server.pid) - api0) / wall).toFixed(4),
      loadavgBefore: load,
      loadavgAfter: loadavg().map((x) => +x.toFixed(2)),
    };
  } finally {
    await transport.close();
    cm.kill('SIGTERM');
    await new Promise((r) => (cm.exitCode !== null ? r(undefined) : cm.once('exit', r)));
    await server.stop();
  }
}

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

console.log(`controllers-scale: ${N} pods, ${RUNS} run(s) each, node ${process.version}; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
process.on('exit', cleanupAll);
const results: Record<string, unknown> = { date: new Date().toISOString(), pods: N, runs: RUNS, loadavgBefore: loadavg().map((x) => +x.toFixed(2)) };
if (parts.includes('scale')) {
  const runs: { podsMs: number; statusMs: number }[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await scaleRun());
  const pods = median(runs.map((r) => r.podsMs));
  const status = median(runs.map((r) => r.statusMs));
  results.scale = { runs, medianPodsMs: pods, medianStatusMs: status };
  console.log(`Deployment 0 -> ${N}: ${N} pods exist after ${fmt(pods)} (runs: ${runs.map((r) => fmt(r.podsMs)).join(', ')}); status.replicas=${N} after ${fmt(status)}   [target <= 5 s]`);
}
if (parts.includes('many')) {
  const runs: { podsMs: number }[] = [];
  for (let i = 0; i < RUNS; i++) runs.push(await manyRun());
  const pods = median(runs.map((r) => r.podsMs));
  results.many = { runs, medianPodsMs: pods };
  console.log(`${N / 10} Deployments x 10 created at once: ${N} pods exist after ${fmt(pods)} (runs: ${runs.map((r) => fmt(r.podsMs)).join(', ')})`);
}
if (parts.includes('idle')) {
  const r = await idleRun();
  results.idle = r;
  console.log(`idle with ${N} pods over ${r.idleSeconds} s: controller-manager ${((r.controllerManagerCores as number) * 100).toFixed(2)}% of a core, API server ${((r.apiServerCores as number) * 100).toFixed(2)}%   [target < 2%]`);
}
results.loadavgAfter = loadavg().map((x) => +x.toFixed(2));
const out = opt.out ?? join(ROOT, 'bench', 'results', `controllers-scale-${new Date().toISOString().slice(0, 19).replace(/:/g, '-')}.json`);
mkdirSync(join(out, '..'), { recursive: true });
writeFileSync(out, JSON.stringify(results, null, 1) + '\n');
console.log(`written: ${out}`);
process.exit(0);
