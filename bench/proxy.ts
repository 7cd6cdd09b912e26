// The Service proxy's figures (issue 6, item 6), measured with real nftables inside network
// namespaces this benchmark creates (no default route anywhere; everything is removed at the end,
// also on Ctrl-C). Not a test: it prints figures and asserts nothing.
//
// 1. programming: 10,000 Services × 2 endpoints written from scratch (the proxy's whole path from
//    Service objects: rule computation, the nft script, `nft -f`), then one endpoint change at that
//    scale (recompute that Service, the difference, one small transaction). Wall time, plus this
//    process's CPU time (the machine is shared: the 1-minute load average is printed too).
// 2. throughput: HTTP requests/s with wrk from a pod namespace to a server pod on the same node,
//    through the ClusterIP against straight to the pod IP, with keep-alive and with a new
//    connection per request (`Connection: close`: every request crosses the DNAT). Each round runs
//    the paths back to back; the figure is the median of the rounds' ratios. A third path, a VIP
//    translated by one static DNAT rule, is the reference for what DNAT itself costs.
//
//   node bench/proxy.ts [--only programming,throughput] [--services 10000] [--endpoints 2]
//                       [--changes 20] [--runs 5] [--rounds 15] [--seconds 2] [--connections 32] [--priority]
//                       [--out FILE]
//
// --runs: from-scratch programming runs (median); --rounds: throughput rounds (median of ratios);
// --priority: run in a scheduling group of its own at nice −15 (bench/priority.ts), so that other
// sessions on a shared machine yield to both paths alike

import { writeFileSync } from 'node:fs';
import { loadavg } from 'node:os';
import { parseArgs } from 'node:util';
import { ensureSysctl, mustRun } from '../src/network/exec.ts';
import { TestNet } from '../src/network/netns-testing.ts';
import { ProxyEngine } from '../src/proxy/engine.ts';
import { runnerNft, type Nft } from '../src/proxy/nft.ts';
import { cleanupProxyRules } from '../src/proxy/proxy.ts';
import type { ProxyRulesConfig, ServiceInput } from '../src/proxy/rules.ts';
import { endpoint, port, service, slice } from '../src/proxy/testing.ts';
import { priorityGroup } from './priority.ts';
import { fmt, median, quantile } from './stats.ts';

const { values: opt } = parseArgs({
  options: {
    only: { type: 'string', default: 'programming,throughput' },
    services: { type: 'string', default: '10000' },
    endpoints: { type: 'string', default: '2' },
    changes: { type: 'string', default: '20' },
    runs: { type: 'string', default: '5' },
    rounds: { type: 'string', default: '15' },
    seconds: { type: 'string', default: '2' },
    connections: { type: 'string', default: '32' },
    priority: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const PARTS = new Set(opt.only!.split(','));
const SERVICES = Number(opt.services);
const ENDPOINTS = Number(opt.endpoints);
const CHANGES = Number(opt.changes);
const RUNS = Number(opt.runs);
const SECONDS = Number(opt.seconds);
const ROUNDS = Number(opt.rounds);
const CONNECTIONS = Number(opt.connections);

// Before anything is started: with --priority the rest runs in a child process.
const PRIORITY = await priorityGroup(opt.priority!);
const net = TestNet.create();
let cleaning = false;
async function cleanup(): Promise<void> {
  if (cleaning) return;
  cleaning = true;
  await net.cleanup();
}
process.once('exit', () => net.cleanupSync());
process.once('SIGINT', () => void cleanup().then(() => process.exit(130)));
process.once('SIGTERM', () => void cleanup().then(() => process.exit(143)));

const results: Record<string, unknown> = { date: new Date().toISOString(), services: SERVICES, endpointsPerService: ENDPOINTS, priorityGroup: PRIORITY };

const ipOf = (base: number, i: number) => `10.${base + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;

function serviceInput(i: number, eps: string[]): ServiceInput {
  const name = `svc-${i}`;
  return { service: service(name, { clusterIP: ipOf(43, i + 1), ports: [port(80)] }), slices: [slice(name, eps.map((ip) => endpoint(ip, { node: 'node-b' })))] };
}

const cpuMs = (since: NodeJS.CpuUsage) => {
  const u = process.cpuUsage(since);
  return (u.user + u.system) / 1000;
};

/** Counts nft's own wall time (the rest of a sync is this process's). */
function timedNft(inner: Nft): Nft & { ms: number } {
  const t = {
    ms: 0,
    async apply(script: string) {
      const s = performance.now();
      try {
        await inner.apply(script);
      } finally {
        t.ms += performance.now() - s;
      }
    },
    listTable: (table: string) => inner.listTable(table),
  };
  return t;
}

async function programming(): Promise<void> {
  const ns = await net.ns('prog');
  const nft = timedNft(runnerNft(net.run(ns)));
  const cfg: ProxyRulesConfig = { nodeName: 'node-a', nodeIPs: ['10.200.0.1'], clusterCidr: '10.42.0.0/16', serviceCidrs: ['10.43.0.0/16'] };
  const inputs = Array.from({ length: SERVICES }, (_, i) => serviceInput(i, Array.from({ length: ENDPOINTS }, (_, e) => ipOf(100, i * ENDPOINTS + e))));
  const scratch: Array<{ wall: number; cpu: number; nft: number; bytes: number; load: number }> = [];
  let engine!: ProxyEngine;
  for (let r = 0; r < RUNS; r++) {
    await cleanupProxyRules(nft);
    nft.ms = 0;
    const load = loadavg()[0]!;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    engine = new ProxyEngine({ nft, config: cfg });
    for (let i = 0; i < SERVICES; i++) engine.updateService(`default/svc-${i}`, inputs[i]);
    await engine.sync();
    scratch.push({ wall: performance.now() - t0, cpu: cpuMs(c0), nft: nft.ms, bytes: engine.stats.lastScriptBytes, load });
  }
  const changes: Array<{ wall: number; cpu: number; nft: number }> = [];
  for (let k = 0; k < CHANGES; k++) {
    const i = (k * 7919) % SERVICES;
    const eps = Array.from({ length: ENDPOINTS }, (_, e) => ipOf(100, i * ENDPOINTS + e));
    eps[k % ENDPOINTS] = ipOf(200, k + 1); // one endpoint replaced
    nft.ms = 0;
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    engine.updateService(`default/svc-${i}`, serviceInput(i, eps));
    await engine.sync();
    changes.push({ wall: performance.now() - t0, cpu: cpuMs(c0), nft: nft.ms });
    await new Promise((r) => setTimeout(r, 20));
  }
  const chains = (await nft.listTable('kube-proxy'))?.chains.size;
  await cleanupProxyRules(nft);
  const s = {
    fromScratchMs: median(scratch.map((x) => x.wall)),
    fromScratchCpuMs: median(scratch.map((x) => x.cpu)),
    fromScratchNftMs: median(scratch.map((x) => x.nft)),
    scriptBytes: scratch[0]!.bytes,
    chainsInTable: chains,
    oneChangeMedianMs: median(changes.map((x) => x.wall)),
    oneChangeP90Ms: quantile(changes.map((x) => x.wall), 0.9),
    oneChangeMaxMs: Math.max(...changes.map((x) => x.wall)),
    oneChangeCpuMs: median(changes.map((x) => x.cpu)),
    oneChangeNftMs: median(changes.map((x) => x.nft)),
    loadAverage: scratch.map((x) => Number(x.load.toFixed(2))),
    runs: scratch,
  };
  results.programming = s;
  console.log(`\nproxy programming, ${SERVICES} Services × ${ENDPOINTS} endpoints (real nft in a netns; load average ${s.loadAverage.join(', ')})`);
  console.log(`  from scratch        ${fmt(s.fromScratchMs)} ms wall (median of ${RUNS}; nft ${fmt(s.fromScratchNftMs)} ms, this process ${fmt(s.fromScratchCpuMs)} ms CPU; ${(s.scriptBytes / 1e6).toFixed(1)} MB script, ${s.chainsInTable} chains)   goal ≤ 1000 ms`);
  console.log(`  one endpoint change ${fmt(s.oneChangeMedianMs)} ms median, p90 ${fmt(s.oneChangeP90Ms)}, max ${fmt(s.oneChangeMaxMs)} (nft ${fmt(s.oneChangeNftMs)} ms, this process ${fmt(s.oneChangeCpuMs)} ms CPU; ${CHANGES} changes)   goal ≤ 50 ms`);
}

async function wrk(ns: string, url: string, close: boolean): Promise<number> {
  const args = ['-t1', `-c${CONNECTIONS}`, `-d${SECONDS}s`, ...(close ? ['-H', 'Connection: close'] : []), url];
  const child = net.spawn(ns, 'wrk', args);
  let out = '';
  child.stdout!.on('data', (b: Buffer) => (out += b.toString()));
  await new Promise<void>((resolve) => child.once('exit', () => resolve()));
  const m = /Requests\/sec:\s+([\d.]+)/.exec(out);
  if (!m) throw new Error(`wrk gave no figure: ${out}`);
  const errs = /Non-2xx or 3xx responses: (\d+)|Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)/.exec(out);
  if (errs) console.log(`  (wrk ${url}${close ? ' close' : ''}: ${errs[0]})`);
  return Number(m[1]);
}

async function throughput(): Promise<void> {
  const node = await net.ns('node');
  await net.bridge(node, 'cni0', '10.42.1.1/24');
  for (const cidr of ['10.42.0.0/16', '10.43.0.0/16']) await net.ip(node, 'route', 'add', 'blackhole', cidr);
  await ensureSysctl(net.run(node), 'net/ipv4/ip_forward', '1');
  await ensureSysctl(net.run(node), 'net/bridge/bridge-nf-call-iptables', '1');
  const bridge = { ns: node, bridge: 'cni0', gateway: '10.42.1.1' };
  const server = await net.pod('server', bridge, '10.42.1.2/24', ['10.43.0.0/16']);
  const client = await net.pod('client', bridge, '10.42.1.3/24', ['10.43.0.0/16']);
  await net.httpServer(server, 'server', 8080);
  // New connections at thousands per second reuse the client's ports within the server's
  // TIME_WAIT (the server closes first): the SYN meets a TIME_WAIT socket, the client answers the
  // challenge ACK with a reset and retries a second later — in both paths alike, and mostly in
  // whichever runs later. The server keeps no TIME_WAIT and the client has every port instead.
  await mustRun(net.run(server), 'sh', ['-c', 'echo 0 > /proc/sys/net/ipv4/tcp_max_tw_buckets']);
  await mustRun(net.run(client), 'sh', ['-c', 'echo 1024 65535 > /proc/sys/net/ipv4/ip_local_port_range']);
  const nft = runnerNft(net.run(node));
  const engine = new ProxyEngine({ nft, config: { nodeName: 'node-a', nodeIPs: [], clusterCidr: '10.42.0.0/16', serviceCidrs: ['10.43.0.0/16'] } });
  engine.updateService('default/web', { service: service('web', { clusterIP: '10.43.0.10', ports: [port(80)] }), slices: [slice('web', [endpoint('10.42.1.2', { node: 'node-a' })])] });
  await engine.sync();
  // A reference beside the proxy: the same VIP translation as one static DNAT rule in a table of
  // its own, so that what DNAT and the routed path cost in themselves is told apart from what
  // rudder's rules add to them.
  await nft.apply('table ip bench-dnat {\n chain prerouting {\n  type nat hook prerouting priority -101;\n  ip daddr 10.43.0.99 tcp dport 80 dnat to 10.42.1.2:8080\n }\n}\n');
  const paths = { pod: 'http://10.42.1.2:8080/', clusterIP: 'http://10.43.0.10:80/', bareDnat: 'http://10.43.0.99:80/' };
  type Path = keyof typeof paths;
  const ORDER: Path[] = ['pod', 'clusterIP', 'bareDnat'];
  type Row = Record<Path, number[]> & { ratios: number[]; dnatRatios: number[] };
  const rows: Record<string, Row> = {
    keepAlive: { pod: [], clusterIP: [], bareDnat: [], ratios: [], dnatRatios: [] },
    newConnection: { pod: [], clusterIP: [], bareDnat: [], ratios: [], dnatRatios: [] },
  };
  await wrk(client, paths.pod, false); // warm-up
  // Each round measures every path back to back (the order rotating from round to round), so that
  // the machine's load, which changes by the minute here, weighs on them alike: the figure is the
  // median of the rounds' ratios.
  for (let r = 0; r < ROUNDS; r++) {
    for (const mode of ['keepAlive', 'newConnection'] as const) {
      const order = ORDER.map((_, i) => ORDER[(i + r) % ORDER.length]!);
      const got = {} as Record<Path, number>;
      for (const p of order) got[p] = await wrk(client, paths[p], mode === 'newConnection');
      const row = rows[mode]!;
      for (const p of ORDER) row[p].push(got[p]);
      row.ratios.push(got.clusterIP / got.pod);
      row.dnatRatios.push(got.bareDnat / got.pod);
    }
  }
  await cleanupProxyRules(nft);
  await nft.apply('delete table ip bench-dnat\n');
  const summary: Record<string, unknown> = {};
  const pct = (x: number) => `${(100 * x).toFixed(1)}%`;
  console.log(`\nHTTP through a ClusterIP vs straight to the pod IP (wrk -t1 -c${CONNECTIONS} -d${SECONDS}s from a pod to a pod on the same node; ${ROUNDS} rounds; load average ${loadavg()[0]!.toFixed(2)}${PRIORITY ? '; own scheduling group at nice −15' : ''})`);
  for (const [mode, v] of Object.entries(rows)) {
    const ratio = median(v.ratios);
    const dnatRatio = median(v.dnatRatios);
    summary[mode] = { podIP: median(v.pod), clusterIP: median(v.clusterIP), bareDnat: median(v.bareDnat), ratio, bareDnatRatio: dnatRatio, runs: v };
    console.log(`  ${mode.padEnd(14)} pod IP ${fmt(median(v.pod))} req/s, ClusterIP ${fmt(median(v.clusterIP))} req/s (medians); ClusterIP/pod ${pct(ratio)} (median of the rounds' ratios, range ${(100 * Math.min(...v.ratios)).toFixed(0)}–${(100 * Math.max(...v.ratios)).toFixed(0)}%)   goal ≥ 95%`);
    console.log(`  ${''.padEnd(14)} reference: one static DNAT rule ${fmt(median(v.bareDnat))} req/s, /pod ${pct(dnatRatio)} (range ${(100 * Math.min(...v.dnatRatios)).toFixed(0)}–${(100 * Math.max(...v.dnatRatios)).toFixed(0)}%)`);
  }
  results.throughput = summary;
}

try {
  if (PARTS.has('programming')) await programming();
  if (PARTS.has('throughput')) await throughput();
  if (opt.out) writeFileSync(opt.out, JSON.stringify(results, null, 2));
} finally {
  await cleanup();
}
