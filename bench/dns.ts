// Cluster DNS figures (issue 6, item 6). Not a test: it prints figures and asserts nothing.
//
// 1. Queries per second, dnsperf-style: Debian's dnsperf with 10 clients against rudder's cluster
//    DNS (fed by an API server through its informers; 2 serving processes by default: this one and a
//    child reading the same UDP socket; --threads N serves with N threads on SO_REUSEPORT instead) and against Debian's unbound (2 threads, its own config: no root hints file, no trust anchors,
//    iterator only) serving the same records as a static local zone. Both serve on loopback inside
//    a network namespace this benchmark creates (no route out); dnsperf runs there too. Queries
//    are A lookups of the Services, in random order; runs alternate between the two servers.
// 2. A pod's first DNS answer after its Service is created: an API server and the cluster DNS (its
//    informers, as an agent runs it) in process; for each Service, the time from the create call
//    to the first NOERROR answer of a client querying in a loop (p50, p99).
//
//   node bench/dns.ts                         3 runs of 10 s each, 1,000 Services, 200 creates
//   node bench/dns.ts --runs 1 --seconds 5 --services 500 --creates 50 --processes 1
//   node bench/dns.ts --threads 2 --processes 1     2 serving threads (SO_REUSEPORT), as before
//   node bench/dns.ts --out bench/results/dns-<date>.json   also writes the figures there
//
// Needs root (the namespace), dnsperf and unbound (scripts/packages.txt). The whole benchmark runs
// inside the namespace: the process re-executes itself there with nsenter, and the namespace is
// deleted at the end.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { startTestApiServer } from '../src/apiserver/testing.ts';
import type { KObject } from '../src/api/meta.ts';
import { Client } from '../src/client/client.ts';
import { startClusterDNS } from '../src/dns/cluster-dns.ts';
import { queryDns } from '../src/dns/testing.ts';
import { TestNet } from '../src/network/netns-testing.ts';
import { fmt, median, quantile } from './stats.ts';

const { values: opt } = parseArgs({
  options: {
    runs: { type: 'string', default: '3' },
    seconds: { type: 'string', default: '10' },
    services: { type: 'string', default: '1000' },
    creates: { type: 'string', default: '200' },
    clients: { type: 'string', default: '10' },
    threads: { type: 'string', default: '1' },
    processes: { type: 'string', default: '2' },
    inside: { type: 'boolean', default: false },
    out: { type: 'string' },
  },
});
const RUNS = Number(opt.runs);
const SECONDS = Number(opt.seconds);
const SERVICES = Number(opt.services);
const CREATES = Number(opt.creates);
const CLIENTS = Number(opt.clients);
const THREADS = Number(opt.threads);
const PROCESSES = Number(opt.processes);
const SERVING = PROCESSES > 1 ? `${PROCESSES} serving processes` : `${THREADS} serving thread(s)`;
const RUDDER_PORT = 5301;
const UNBOUND_PORT = 5302;
const ZONE = 'cluster.local';

const clusterIP = (i: number) => `10.43.${1 + (i >> 8)}.${i & 255}`;
const serviceName = (i: number) => `svc-${i}.bench.svc.${ZONE}`;

function run(cmd: string, args: string[]): Promise<{ code: number; out: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    child.stderr.on('data', (d: Buffer) => (out += d.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code: code ?? -1, out }));
  });
}

async function waitAnswering(port: number): Promise<void> {
  const deadline = Date.now() + 15_000;
  for (;;) {
    try {
      const r = await queryDns(serviceName(0), 'A', { port, timeoutMs: 500 });
      if (r.answers?.length) return;
    } catch {
      // not yet listening
    }
    if (Date.now() > deadline) throw new Error(`nothing answers on port ${port}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function startUnbound(dir: string): ChildProcess {
  const lines = [
    'server:',
    `  interface: 127.0.0.1@${UNBOUND_PORT}`,
    '  num-threads: 2',
    '  so-reuseport: yes',
    '  do-daemonize: no',
    '  username: ""',
    '  chroot: ""',
    `  directory: "${dir}"`,
    '  pidfile: ""',
    '  use-syslog: no',
    '  logfile: ""',
    '  verbosity: 0',
    '  do-ip6: no',
    '  access-control: 127.0.0.0/8 allow',
    // no validator, so no trust anchor; no root-hints file
    '  module-config: "iterator"',
    `  local-zone: "${ZONE}." static`,
    ...Array.from({ length: SERVICES }, (_, i) => `  local-data: "${serviceName(i)}. 5 IN A ${clusterIP(i)}"`),
    'remote-control:',
    '  control-enable: no',
  ];
  const conf = join(dir, 'unbound.conf');
  writeFileSync(conf, lines.join('\n') + '\n');
  const child = spawn('unbound', ['-d', '-c', conf], { stdio: ['ignore', 'ignore', 'pipe'] });
  child.stderr!.on('data', (d: Buffer) => process.stderr.write(`unbound: ${d}`));
  return child;
}

interface PerfResult {
  qps: number;
  avgLatencyMs: number;
  lost: number;
  /** CPU time per completed query, µs: the server (all its threads) and dnsperf itself. */
  serverCpuUsPerQuery: number;
  dnsperfCpuUsPerQuery: number;
  /** The server's busiest threads' shares of its CPU time (how evenly the kernel spread the work). */
  threadShares: number[];
}

const TICK_US = 10_000; // USER_HZ = 100 on Linux

/** utime + stime (ticks) of every thread of a process, by thread id. */
function threadTicks(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  for (const tid of readdirSync(`/proc/${pid}/task`)) {
    try {
      const f = readFileSync(`/proc/${pid}/task/${tid}/stat`, 'utf8');
      const fields = f.slice(f.lastIndexOf(')') + 2).split(' ');
      out.set(tid, Number(fields[11]) + Number(fields[12]));
    } catch {
      // the thread ended
    }
  }
  return out;
}

/** The threads of several processes (tid keys are unique machine-wide). */
function allThreadTicks(pids: readonly number[]): Map<string, number> {
  return new Map(pids.flatMap((pid) => [...threadTicks(pid)]));
}

async function dnsperf(port: number, queryFile: string, serverPids: readonly number[]): Promise<PerfResult> {
  const before = allThreadTicks(serverPids);
  // the shell reports its children's CPU time (cutime, cstime) once dnsperf has been waited for
  const args = ['-s', '127.0.0.1', '-p', String(port), '-d', queryFile, '-c', String(CLIENTS), '-l', String(SECONDS), '-q', '200'];
  const r = await run('sh', ['-c', 'dnsperf "$@"; s=$?; echo "shellstat $(cat /proc/$$/stat)"; exit $s', 'sh', ...args]);
  const after = allThreadTicks(serverPids);
  const num = (re: RegExp) => Number(re.exec(r.out)?.[1] ?? NaN);
  if (r.code !== 0) throw new Error(`dnsperf failed: ${r.out}`);
  const completed = num(/Queries completed:\s+(\d+)/);
  const shell = /shellstat .*\) (.*)/.exec(r.out)?.[1]?.split(' ') ?? [];
  const dnsperfTicks = Number(shell[13]) + Number(shell[14]);
  const deltas = [...after].map(([tid, t]) => t - (before.get(tid) ?? 0));
  const serverTicks = deltas.reduce((a, x) => a + x, 0);
  return {
    qps: num(/Queries per second:\s+([\d.]+)/),
    avgLatencyMs: num(/Average Latency \(s\):\s+([\d.]+)/) * 1000,
    lost: num(/Queries lost:\s+(\d+)/),
    serverCpuUsPerQuery: (serverTicks * TICK_US) / completed,
    dnsperfCpuUsPerQuery: (dnsperfTicks * TICK_US) / completed,
    threadShares: deltas
      .sort((a, b) => b - a)
      .slice(0, 3)
      .map((x) => Math.round((100 * x) / Math.max(1, serverTicks)) / 100),
  };
}

async function startCluster(): Promise<{ admin: Client; stop(): Promise<void>; dns: Awaited<ReturnType<typeof startClusterDNS>> }> {
  const api = await startTestApiServer();
  const admin = new Client(api.server.localTransport({ name: 'system:admin', groups: ['system:masters', 'system:authenticated'] }, 'bench'));
  await admin.resource('', 'namespaces').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: 'bench' } } as KObject);
  const dns = await startClusterDNS({
    client: new Client(api.server.localTransport({ name: 'system:serviceaccount:kube-system:coredns', groups: ['system:masters', 'system:authenticated'] }, 'dns')),
    listen: [{ host: '127.0.0.1', port: RUDDER_PORT }],
    clusterDomain: ZONE,
    upstreamResolvers: [],
    threads: THREADS,
    processes: PROCESSES,
  });
  await dns.ready();
  return {
    admin,
    dns,
    async stop() {
      await dns.stop();
      await api.stop();
    },
  };
}

async function throughput(dir: string): Promise<{ rudder: PerfResult[]; unbound: PerfResult[] }> {
  const cluster = await startCluster();
  const services = cluster.admin.resource('', 'services').namespace('bench');
  for (let i = 0; i < SERVICES; i++) {
    await services.create({ apiVersion: 'v1', kind: 'Service', metadata: { name: `svc-${i}` }, spec: { clusterIP: clusterIP(i), ports: [{ name: 'http', port: 80 }] } } as KObject);
  }
  const unbound = startUnbound(dir);
  const queryFile = join(dir, 'queries.txt');
  const order = Array.from({ length: SERVICES }, (_, i) => i).sort(() => Math.random() - 0.5);
  writeFileSync(queryFile, order.map((i) => `${serviceName(i)} A`).join('\n') + '\n');
  const out = { rudder: [] as PerfResult[], unbound: [] as PerfResult[] };
  try {
    await waitAnswering(RUDDER_PORT);
    await waitAnswering(UNBOUND_PORT);
    for (let i = 0; i < RUNS; i++) {
      const rudderPids = [process.pid, ...(PROCESSES > 1 ? (await cluster.dns.workers()).map((w) => w.id) : [])];
      out.rudder.push(await dnsperf(RUDDER_PORT, queryFile, rudderPids));
      out.unbound.push(await dnsperf(UNBOUND_PORT, queryFile, [unbound.pid!]));
      const [ru, ub] = [out.rudder[i]!, out.unbound[i]!];
      console.log(
        `run ${i + 1}: rudder ${fmt(ru.qps)} q/s (${fmt(ru.serverCpuUsPerQuery)} µs CPU/query, threads ${ru.threadShares.join('/')}; dnsperf ${fmt(ru.dnsperfCpuUsPerQuery)} µs), ` +
          `unbound ${fmt(ub.qps)} q/s (${fmt(ub.serverCpuUsPerQuery)} µs CPU/query, threads ${ub.threadShares.join('/')}; dnsperf ${fmt(ub.dnsperfCpuUsPerQuery)} µs)  load ${readFileSync('/proc/loadavg', 'utf8').split(' ')[0]}`,
      );
    }
  } finally {
    await cluster.stop();
    const exited = new Promise<void>((r) => unbound.once('exit', () => r()));
    if (unbound.exitCode === null) unbound.kill('SIGTERM');
    await exited;
  }
  return out;
}

async function firstAnswer(): Promise<{ fromCreate: number[]; fromAck: number[] }> {
  const cluster = await startCluster();
  const { admin, dns } = cluster;
  const fromCreate: number[] = [];
  const fromAck: number[] = [];
  try {
    for (let i = 0; i < CREATES; i++) {
      const name = `first-${i}`;
      const t0 = performance.now();
      const created = admin.resource('', 'services').namespace('bench').create({ apiVersion: 'v1', kind: 'Service', metadata: { name }, spec: { ports: [{ port: 80 }] } } as KObject);
      let ack = NaN;
      void created.then(() => (ack = performance.now()));
      // the pod's side: ask until answered (each NXDOMAIN is an answer too: ask again at once)
      for (;;) {
        const r = await queryDns(`${name}.bench.svc.${ZONE}`, 'A', { port: dns.port, timeoutMs: 1000 }).catch(() => undefined);
        if (r?.rcode === 'NOERROR' && r.answers?.length) break;
      }
      const t1 = performance.now();
      await created;
      fromCreate.push(t1 - t0);
      fromAck.push(Math.max(0, t1 - ack));
    }
  } finally {
    await cluster.stop();
  }
  return { fromCreate, fromAck };
}

async function inside(): Promise<void> {
  const loadBefore = readFileSync('/proc/loadavg', 'utf8').trim();
  const dir = mkdtempSync(join(tmpdir(), 'rudder-bench-dns-'));
  try {
    const t = await throughput(dir);
    const r = median(t.rudder.map((x) => x.qps));
    const u = median(t.unbound.map((x) => x.qps));
    const f = await firstAnswer();
    const pairRatios = t.rudder.map((x, i) => x.qps / t.unbound[i]!.qps);
    console.log('');
    console.log(`cluster DNS queries/s (dnsperf, ${CLIENTS} clients, ${SECONDS} s, ${SERVICES} Services, median of ${RUNS}; rudder with ${SERVING})`);
    const cpu = (xs: PerfResult[]) => `CPU ${fmt(median(xs.map((x) => x.serverCpuUsPerQuery)))} µs/query (dnsperf ${fmt(median(xs.map((x) => x.dnsperfCpuUsPerQuery)))} µs)`;
    console.log(`  rudder   ${fmt(r)} q/s   avg latency ${fmt(median(t.rudder.map((x) => x.avgLatencyMs)))} ms   lost ${t.rudder.reduce((a, x) => a + x.lost, 0)}   ${cpu(t.rudder)}`);
    console.log(`  unbound  ${fmt(u)} q/s   avg latency ${fmt(median(t.unbound.map((x) => x.avgLatencyMs)))} ms   lost ${t.unbound.reduce((a, x) => a + x.lost, 0)}   ${cpu(t.unbound)}   (2 threads, local zone)`);
    console.log(`  ratio    ${fmt(r / u)}× unbound (of the medians; median of the back-to-back pairs ${fmt(median(pairRatios))}×, goal ≥ 0.7×)`);
    console.log(`first answer after the Service is created (${CREATES} Services)`);
    console.log(`  from the create call      p50 ${fmt(quantile(f.fromCreate, 0.5))} ms   p99 ${fmt(quantile(f.fromCreate, 0.99))} ms`);
    console.log(`  from the create's reply   p50 ${fmt(quantile(f.fromAck, 0.5))} ms   p99 ${fmt(quantile(f.fromAck, 0.99))} ms`);
    const result = {
      dns: {
        date: new Date().toISOString(),
        clients: CLIENTS,
        seconds: SECONDS,
        services: SERVICES,
        threads: THREADS,
        processes: PROCESSES,
        rudderQps: r,
        unboundQps: u,
        ratio: r / u,
        pairRatioMedian: median(pairRatios),
        loadavg: { before: loadBefore, after: readFileSync('/proc/loadavg', 'utf8').trim() },
        runs: t,
        firstAnswerMs: { p50: quantile(f.fromCreate, 0.5), p99: quantile(f.fromCreate, 0.99), p99FromAck: quantile(f.fromAck, 0.99) },
      },
    };
    console.log(JSON.stringify(result));
    if (opt.out) writeFileSync(opt.out, JSON.stringify(result, null, 2) + '\n');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

async function outside(): Promise<void> {
  if (process.getuid?.() !== 0) {
    console.error('bench/dns.ts needs root: it runs in a network namespace it creates');
    process.exit(1);
  }
  for (const tool of ['dnsperf', 'unbound']) {
    if ((await run('sh', ['-c', `command -v ${tool}`])).code !== 0) {
      console.error(`${tool} is not installed: apt-get install ${tool}`);
      process.exit(1);
    }
  }
  const net = TestNet.create();
  const stop = async () => {
    await net.cleanup();
  };
  process.once('SIGINT', () => void stop().then(() => process.exit(130)));
  try {
    const ns = await net.ns('dnsbench');
    const child = net.spawn(ns, process.execPath, [...process.execArgv, new URL(import.meta.url).pathname, '--inside', ...process.argv.slice(2)]);
    child.stdout!.pipe(process.stdout);
    child.stderr!.removeAllListeners('data');
    child.stderr!.pipe(process.stderr);
    const code = await new Promise<number>((r) => child.once('exit', (c) => r(c ?? 1)));
    process.exitCode = code;
  } finally {
    await stop();
  }
}

await (opt.inside ? inside() : outside());
