// Endpoints propagation (issue 3, item 6), in process: an API server on SQLite in a temporary
// directory and a controller-manager running the cluster controllers over the in-process transport,
// as `rudder server` runs them. 1,000 pods of one Service start Running but not Ready; they are then
// flipped to Ready at 100 per second (the status write a kubelet makes), and the time from each
// pod being seen Ready (on a pod watch, or as its write's acknowledgement if that comes first) to
// its address appearing ready in the Endpoints object and in the EndpointSlices (seen on watches)
// is recorded; so is the time from the write being sent, which includes the write's own latency.
// The flips are an open loop: each is sent at its scheduled time, or at once if the schedule has
// slipped, so the asked rate is offered however busy the process is (the achieved send rate and
// the lateness are reported). Not a test: it prints figures, asserts nothing.
//
//   node bench/controllers-endpoints.ts                    3 runs (the median of each figure is reported)
//   node bench/controllers-endpoints.ts --runs 1 --pods 1000 --rate 100
//   node bench/controllers-endpoints.ts --only-endpoints   run just the endpoint and endpointslice controllers
//   node bench/controllers-endpoints.ts --write-cost       only the API server's CPU per write of each kind the
//                                                          flips cause (no controllers, no watchers), then exit
//
// --out FILE: the runs, medians and load averages as JSON (default
// bench/results/controllers-endpoints-<date>.json).
import { mkdirSync, writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startTestApiServer } from '../src/apiserver/testing.ts';
import { Client } from '../src/client/client.ts';
import type { KObject } from '../src/api/meta.ts';
import { startControllerManager } from '../src/controllers/manager.ts';
import { readyNode, TEST_CONFIG } from '../src/controllers/testing.ts';
import { clusterControllers, endpointsController, endpointSliceController } from '../src/controllers/cluster.ts';
import { fmt, median, quantile } from './stats.ts';

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    pods: { type: 'string', default: '1000' },
    rate: { type: 'string', default: '100' },
    'only-endpoints': { type: 'boolean', default: false },
    'write-cost': { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const RUNS = Number(opt.runs);
const N = Number(opt.pods);
const RATE = Number(opt.rate);
const NS = 'default';

const ipOf = (i: number) => `10.42.${(i >> 8) & 255}.${i & 255}`;
const nowMs = () => performance.now();
const sleepUntil = (t: number) => new Promise((r) => setTimeout(r, Math.max(0, t - nowMs())));

interface RunResult {
  endpoints: number[];
  slices: number[];
  /** The same, from when each Ready write was sent (so including the write's own latency). */
  endpointsFromSent: number[];
  slicesFromSent: number[];
  writes: number[];
  flipSeconds: number;
  /** From the first flip sent to the last one sent (the achieved send rate is N over this). */
  sendSeconds: number;
  /** How late each flip was sent against its schedule, ms. */
  lateness: number[];
  /** Writes of the Service's Endpoints object and of its slices seen while the flips propagated. */
  endpointsWrites: number;
  sliceWrites: number;
  /** CPU (user+system) of the whole process from the first flip until every address was seen ready, per pod. */
  cpuMsPerPod: number;
  /** The measured window on CLOCK_MONOTONIC in µs (the clock of a --cpu-prof profile's samples). */
  monoWindow: [number, number];
}

async function runOnce(): Promise<RunResult> {
  const api = await startTestApiServer();
  const admin = new Client(api.server.localTransport({ name: 'system:admin', groups: ['system:masters', 'system:authenticated'] }, 'bench'));
  const manager = startControllerManager({
    transport: api.server.localTransport({ name: 'system:kube-controller-manager', groups: ['system:authenticated'] }, 'kube-controller-manager'),
    // each controller as its kube-system service account, as rudder server runs them
    transportFor: (sa) =>
      api.server.localTransport(
        { name: `system:serviceaccount:kube-system:${sa}`, groups: ['system:serviceaccounts', 'system:serviceaccounts:kube-system', 'system:authenticated'] },
        `kube-controller-manager ${sa}`,
      ),
    config: TEST_CONFIG,
    controllers: opt['only-endpoints'] ? [endpointsController, endpointSliceController] : clusterControllers(),
    leaderElect: false,
    log: process.env.BENCH_LOG ? (m) => console.log(m) : undefined,
  });
  await manager.started();
  const watches: { close(): void }[] = [];
  try {
    await admin.resource('', 'nodes').create(readyNode('n1'));
    await admin.resource('', 'serviceaccounts').namespace(NS).create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } }).catch(() => undefined);
    await admin.resource('', 'services').namespace(NS).create({
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'bench' },
      spec: { selector: { app: 'bench' }, ports: [{ name: 'http', port: 80, targetPort: 8080 }] },
    });
    const pods = admin.resource('', 'pods').namespace(NS);
    const status = (i: number, ready: boolean) => {
      const t = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
      const c = (type: string, s: boolean) => ({ type, status: s ? 'True' : 'False', lastTransitionTime: t });
      return { status: { phase: 'Running', podIP: ipOf(i), podIPs: [{ ip: ipOf(i) }], startTime: t, conditions: [c('PodScheduled', true), c('Initialized', true), c('ContainersReady', ready), c('Ready', ready)] } };
    };
    // 1,000 Running pods, not Ready, created 50 at a time
    for (let i = 0; i < N; i += 50) {
      await Promise.all(
        Array.from({ length: Math.min(50, N - i) }, async (_, k) => {
          const n = i + k;
          await pods.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `bench-${n}`, labels: { app: 'bench' } }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] } });
          await pods.patch(`bench-${n}`, 'merge', status(n, false), { subresource: 'status' });
        }),
      );
    }
    // wait until every pod is listed as not ready in both places
    const counts = async () => {
      const ep = await admin.resource('', 'endpoints').namespace(NS).get('bench').catch(() => undefined);
      const nr = ((ep?.subsets as { notReadyAddresses?: unknown[] }[] | undefined) ?? []).reduce((a, s) => a + (s.notReadyAddresses?.length ?? 0), 0);
      const sl = await admin.resource('discovery.k8s.io', 'endpointslices').namespace(NS).list({ labelSelector: 'kubernetes.io/service-name=bench' });
      const eps = sl.items.reduce((a, s) => a + ((s.endpoints as unknown[] | undefined)?.length ?? 0), 0);
      return { endpointsNotReady: nr, sliceEndpoints: eps };
    };
    const notReadyEverywhere = async () => {
      const c = await counts();
      return c.endpointsNotReady === N && c.sliceEndpoints === N;
    };
    const deadline = nowMs() + 120_000;
    while (!(await notReadyEverywhere())) {
      if (nowMs() > deadline) throw new Error(`pods never all appeared as not ready: ${JSON.stringify(await counts())}`);
      await new Promise((r) => setTimeout(r, 100));
    }

    // t0: when a pod is first seen Ready, on a pod watch or as its write's acknowledgement
    // (whichever comes first; the watch usually does, by under a millisecond at the median);
    // seen: when a watch first shows its address ready
    const acked = new Map<string, number>();
    const readyAt = new Map<string, number>();
    const becameReady = (ip: string, t: number) => {
      if (!readyAt.has(ip)) readyAt.set(ip, t);
    };
    const sentAt = new Map<string, number>();
    let inflightCount = 0;
    const seenEp = new Map<string, number>();
    const seenSl = new Map<string, number>();
    let resolveAll!: () => void;
    const all = new Promise<void>((r) => (resolveAll = r));
    const check = () => {
      if (seenEp.size === N && seenSl.size === N) resolveAll();
    };
    const watch = async (group: string, plural: string, onObj: (o: KObject, t: number) => void) => {
      const rc = admin.resource(group, plural).namespace(NS);
      const list = await rc.list();
      const h = rc.watch({ resourceVersion: list.metadata.resourceVersion }, {
        onEvent: (ev) => {
          if (ev.type === 'ADDED' || ev.type === 'MODIFIED') onObj(ev.object as KObject, nowMs());
        },
        onClose: () => undefined,
      });
      watches.push(h);
    };
    await watch('', 'pods', (o, t) => {
      const st = o.status as { podIP?: string; conditions?: { type: string; status: string }[] } | undefined;
      if (st?.podIP && st.conditions?.some((c) => c.type === 'Ready' && c.status === 'True')) becameReady(st.podIP, t);
    });
    let endpointsWrites = 0;
    let sliceWrites = 0;
    await watch('', 'endpoints', (o, t) => {
      if (o.metadata.name !== 'bench') return;
      if (acked.size > 0 || inflightCount > 0) endpointsWrites++;
      for (const s of (o.subsets as { addresses?: { ip: string }[] }[] | undefined) ?? []) {
        for (const a of s.addresses ?? []) if (!seenEp.has(a.ip)) seenEp.set(a.ip, t);
      }
      check();
    });
    await watch('discovery.k8s.io', 'endpointslices', (o, t) => {
      if (o.metadata.labels?.['kubernetes.io/service-name'] !== 'bench') return;
      if (acked.size > 0 || inflightCount > 0) sliceWrites++;
      for (const e of (o.endpoints as { addresses: string[]; conditions: { ready?: boolean } }[] | undefined) ?? []) {
        if (e.conditions?.ready && !seenSl.has(e.addresses[0]!)) seenSl.set(e.addresses[0]!, t);
      }
      check();
    });

    const writes: number[] = [];
    const cpu0 = process.cpuUsage();
    const mono0 = Number(process.hrtime.bigint() / 1000n);
    const start = nowMs();
    const inflight: Promise<void>[] = [];
    const lateness: number[] = [];
    for (let i = 0; i < N; i++) {
      // Open loop: a flip is sent at its scheduled time, or at once when the schedule has slipped.
      // Sleeping (even 0 ms) before each overdue flip would yield one flip per turn of the event
      // loop, so the load would follow the system's speed rather than the asked rate.
      const due = start + (i * 1000) / RATE;
      if (nowMs() < due) await sleepUntil(due);
      const sent = nowMs();
      lateness.push(sent - due);
      sentAt.set(ipOf(i), sent);
      inflightCount++;
      inflight.push(
        pods.patch(`bench-${i}`, 'merge', status(i, true), { subresource: 'status' }).then(() => {
          const t = nowMs();
          acked.set(ipOf(i), t);
          becameReady(ipOf(i), t);
          writes.push(t - sent);
        }),
      );
    }
    const sendSeconds = (nowMs() - start) / 1000;
    await Promise.all(inflight);
    const flipSeconds = (nowMs() - start) / 1000;
    await Promise.race([all, new Promise((_, rej) => setTimeout(() => rej(new Error(`only ${seenEp.size} endpoints and ${seenSl.size} slice endpoints became ready`)), 60_000))]);
    const cpu = process.cpuUsage(cpu0);
    const mono1 = Number(process.hrtime.bigint() / 1000n);
    const lat = (seen: Map<string, number>, from = readyAt) => [...from].map(([ip, t]) => Math.max(0, seen.get(ip)! - t));
    return { endpoints: lat(seenEp), slices: lat(seenSl), endpointsFromSent: lat(seenEp, sentAt), slicesFromSent: lat(seenSl, sentAt), writes, flipSeconds, sendSeconds, lateness, endpointsWrites, sliceWrites, cpuMsPerPod: (cpu.user + cpu.system) / 1000 / N, monoWindow: [mono0, mono1] };
  } finally {
    for (const w of watches) w.close();
    await manager.stop();
    await api.stop();
  }
}

/**
 * The API server's own CPU per write of each kind a flip causes, in process with no controllers and
 * no watchers: an update of an Endpoints object of N addresses (one address changing readiness),
 * of an EndpointSlice of 100 endpoints, and a pod's status merge patch.
 */
async function writeCost(n: number): Promise<void> {
  const api = await startTestApiServer();
  try {
    const c = new Client(api.server.localTransport({ name: 'system:admin', groups: ['system:masters', 'system:authenticated'] }, 'bench'));
    const ref = (i: number) => ({ kind: 'Pod', namespace: NS, name: `bench-${i}`, uid: `00000000-0000-4000-8000-${String(i).padStart(12, '0')}` });
    const addr = (i: number) => ({ ip: ipOf(i), nodeName: 'n1', targetRef: ref(i) });
    const measure = async (label: string, write: (i: number) => Promise<unknown>) => {
      for (let i = 0; i < 5; i++) await write(i);
      const cpu0 = process.cpuUsage();
      const t0 = nowMs();
      for (let i = 5; i < n + 5; i++) await write(i);
      const cpu = process.cpuUsage(cpu0);
      console.log(`  ${label}: ${fmt((cpu.user + cpu.system) / 1000 / n)} ms CPU, ${fmt((nowMs() - t0) / n)} ms wall per write`);
    };
    const eps = c.resource('', 'endpoints').namespace(NS);
    const endpoints = (ready: number) => ({
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'bench' },
      subsets: [{ addresses: Array.from({ length: ready }, (_, i) => addr(i)), notReadyAddresses: Array.from({ length: N - ready }, (_, i) => addr(ready + i)), ports: [{ name: 'http', port: 8080, protocol: 'TCP' }] }],
    });
    let ep = await eps.create(endpoints(0));
    await measure(`Endpoints update, ${N} addresses`, async (i) => {
      ep = await eps.update({ ...endpoints(i % N), metadata: { name: 'bench', resourceVersion: ep.metadata.resourceVersion } });
    });
    const sls = c.resource('discovery.k8s.io', 'endpointslices').namespace(NS);
    const slice = (ready: number) => ({
      apiVersion: 'discovery.k8s.io/v1',
      kind: 'EndpointSlice',
      metadata: { name: 'bench-x' },
      addressType: 'IPv4',
      endpoints: Array.from({ length: 100 }, (_, i) => ({ addresses: [ipOf(i)], conditions: { ready: i < ready, serving: i < ready, terminating: false }, nodeName: 'n1', targetRef: ref(i) })),
      ports: [{ name: 'http', port: 8080, protocol: 'TCP' }],
    });
    let sl = await sls.create(slice(0));
    await measure('EndpointSlice update, 100 endpoints', async (i) => {
      sl = await sls.update({ ...slice(i % 100), metadata: { name: 'bench-x', resourceVersion: sl.metadata.resourceVersion } });
    });
    await c.resource('', 'serviceaccounts').namespace(NS).create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } }).catch(() => undefined);
    const pods = c.resource('', 'pods').namespace(NS);
    for (let i = 0; i < n + 5; i++) await pods.create({ apiVersion: 'v1', kind: 'Pod', metadata: { name: `bench-${i}`, labels: { app: 'bench' } }, spec: { nodeName: 'n1', containers: [{ name: 'c', image: 'busybox' }] } });
    const t = new Date().toISOString().replace(/\.\d+Z$/, 'Z');
    await measure('pod status merge patch (Ready)', (i) =>
      pods.patch(`bench-${i}`, 'merge', { status: { phase: 'Running', podIP: ipOf(i), podIPs: [{ ip: ipOf(i) }], conditions: [{ type: 'Ready', status: 'True', lastTransitionTime: t }] } }, { subresource: 'status' }),
    );
  } finally {
    await api.stop();
  }
}

if (opt['write-cost']) {
  console.log(`controllers-endpoints --write-cost: API server CPU per write, in process, no controllers or watchers; load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
  await writeCost(200);
  process.exit(0);
}

const load = () => loadavg().map((x) => +x.toFixed(2));
const loadBefore = load();
const date = new Date().toISOString();
console.log(`controllers-endpoints: ${N} pods at ${RATE}/s, ${RUNS} run(s), node ${process.version}; load average ${loadBefore.join(' ')}`);
const rows: { run: number; ep50: number; ep99: number; epMax: number; sl50: number; sl99: number; slMax: number; epSent99: number; slSent99: number; w99: number; secs: number; sendSecs: number; late99: number; lateMax: number; epWrites: number; slWrites: number; cpu: number; monoWindow: [number, number] }[] = [];
for (let r = 1; r <= RUNS; r++) {
  const res = await runOnce();
  const row = {
    run: r,
    ep50: quantile(res.endpoints, 0.5),
    ep99: quantile(res.endpoints, 0.99),
    epMax: Math.max(...res.endpoints),
    sl50: quantile(res.slices, 0.5),
    sl99: quantile(res.slices, 0.99),
    epSent99: quantile(res.endpointsFromSent, 0.99),
    slSent99: quantile(res.slicesFromSent, 0.99),
    slMax: Math.max(...res.slices),
    w99: quantile(res.writes, 0.99),
    secs: res.flipSeconds,
    sendSecs: res.sendSeconds,
    late99: quantile(res.lateness, 0.99),
    lateMax: Math.max(...res.lateness),
    epWrites: res.endpointsWrites,
    slWrites: res.sliceWrites,
    cpu: res.cpuMsPerPod,
    monoWindow: res.monoWindow,
  };
  rows.push(row);
  console.log(
    `run ${r}: ${N} pods Ready at ${RATE}/s over ${fmt(row.secs)} s — Endpoints p50 ${fmt(row.ep50)} ms p99 ${fmt(row.ep99)} ms max ${fmt(row.epMax)} ms; ` +
      `EndpointSlices p50 ${fmt(row.sl50)} ms p99 ${fmt(row.sl99)} ms max ${fmt(row.slMax)} ms; status write p99 ${fmt(row.w99)} ms; from the write sent: p99 ${fmt(row.epSent99)} / ${fmt(row.slSent99)} ms; ` +
      `sent in ${fmt(row.sendSecs)} s (${fmt(N / row.sendSecs)}/s; lateness p99 ${fmt(row.late99)} ms max ${fmt(row.lateMax)} ms); ` +
      `${row.epWrites} Endpoints and ${row.slWrites} slice writes; CPU ${fmt(row.cpu)} ms per pod`,
  );
}
const m = (k: keyof (typeof rows)[number]) => median(rows.map((x) => x[k] as number));
console.log('');
console.log(`endpoints propagation, median of ${RUNS} run(s), ${opt['only-endpoints'] ? 'endpoint controllers only' : 'all cluster controllers'} (target p99 <= 100 ms):`);
console.log(`  Endpoints       p50 ${fmt(m('ep50'))} ms   p99 ${fmt(m('ep99'))} ms   max ${fmt(m('epMax'))} ms`);
console.log(`  EndpointSlices  p50 ${fmt(m('sl50'))} ms   p99 ${fmt(m('sl99'))} ms   max ${fmt(m('slMax'))} ms`);
console.log(`  counted from the Ready write being sent instead (its own latency included): p99 ${fmt(m('epSent99'))} ms (Endpoints), ${fmt(m('slSent99'))} ms (EndpointSlices)`);
console.log(`  flips sent in ${fmt(m('sendSecs'))} s (${fmt(N / m('sendSecs'))}/s achieved; sent late by p99 ${fmt(m('late99'))} ms, max ${fmt(m('lateMax'))} ms), all acknowledged after ${fmt(m('secs'))} s`);
console.log(`  ${fmt(m('epWrites'))} Endpoints writes and ${fmt(m('slWrites'))} EndpointSlice writes for ${N} flips; process CPU ${fmt(m('cpu'))} ms per pod flipped (server, controllers and this load generator)`);
const out = opt.out ?? join(import.meta.dirname, 'results', `controllers-endpoints-${date.slice(0, 19).replace(/:/g, '-')}.json`);
mkdirSync(join(out, '..'), { recursive: true });
const medians = Object.fromEntries((['ep50', 'ep99', 'epMax', 'sl50', 'sl99', 'slMax', 'epSent99', 'slSent99', 'w99', 'secs', 'sendSecs', 'late99', 'lateMax', 'epWrites', 'slWrites', 'cpu'] as const).map((k) => [k, m(k)]));
writeFileSync(out, JSON.stringify({ date, pods: N, rate: RATE, controllers: opt['only-endpoints'] ? 'endpoints, endpointslice' : 'cluster controllers', node: process.version, loadavgBefore: loadBefore, loadavgAfter: load(), medians, runs: rows }, null, 1) + '\n');
console.log(`load average after: ${load().join(' ')}; written: ${out}`);
process.exit(0);
