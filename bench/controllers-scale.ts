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
//   many    100 Deployments of 10 replicas created at once: time until their 1,000 pods exist.
import { parseArgs } from 'node:util';
import { startTestApiServer } from '../src/apiserver/testing.ts';
import { Client } from '../src/client/client.ts';
import { startControllerManager } from '../src/controllers/manager.ts';
import { TEST_CONFIG } from '../src/controllers/testing.ts';
import { workloadControllers } from '../src/controllers/workloads.ts';

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    only: { type: 'string' },
    pods: { type: 'string', default: '1000' },
  },
});
const RUNS = Number(opt.runs);
const N = Number(opt.pods);
const parts = opt.only ? opt.only.split(',') : ['scale', 'many'];

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
  const m = startControllerManager({
    transport: api.server.localTransport({ name: 'system:kube-controller-manager', groups: ['system:authenticated'] }, 'kube-controller-manager'),
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

const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
const fmt = (ms: number) => `${(ms / 1000).toFixed(2)} s`;

console.log(`controllers-scale: ${N} pods, ${RUNS} run(s) each, node ${process.version}`);
const results: Record<string, unknown> = {};
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
console.log(JSON.stringify(results));
