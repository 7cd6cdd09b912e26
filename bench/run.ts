// `npm run bench`: the API server's figures (see BENCHMARKS.md for the method behind each), with
// raw etcd measured beside rudder in the same run. Benchmarks are not tests: nothing here asserts
// a time; the run prints a table and writes bench/results/<date>.json.
//
//   npm run bench                                   every part, both backends (9-15 minutes on 2 shared cores)
//   npm run bench -- --only create,list --backend sqlite
//   npm run bench -- --only profile                 CPU profiles of the create and list paths
//   npm run bench -- --suite scheduler              another area's benchmarks (below)
//
// Suites (--suite S): api (this file's parts; the default when --suite is absent), scheduler
// (bench/scheduler-perf.ts, then bench/scheduler-core.ts), kubelet (bench/kubelet.ts: CRI floor,
// start-up, agent RSS, rudder sim; root), controllers (bench/controllers-scale.ts, then
// bench/controllers-endpoints.ts), networking (bench/proxy.ts, then bench/dns.ts; root), authz
// (bench/authz.ts), all (every suite in that order). Each script of another suite runs as a child
// process with its own defaults and writes its own results (see its header); the options below
// are the api suite's only. The exit code is non-zero if any script failed; the others still run.
//
// Options:
//   --only PARTS        create, durability, list, watch, startup, profile (default: all but profile)
//   --backend B         sqlite, etcd or both (default both); raw etcd is measured beside either
//   --runs N            repetitions of each measurement; the figure is the median (default 3)
//   --count N           creates (and raw etcd Puts) per point (default 3000)
//   --concurrency L     comma-separated (default 1,16,64)
//   --proto P           h2 (one HTTP/2 session, many streams; default) or h1 (HTTP/1.1 keep-alive, one connection per caller)
//   --list-pods N       pods in the LIST namespace (default 10000)
//   --watch-seconds S   length of each watch run (default 10)
//   --out FILE          where to write the JSON (default bench/results/<date>.json)
//   --with-controllers  run parts 1-5 against the whole `rudder server --disable-agent` (controller-manager
//                       included) instead of the API server alone (--disable-scheduler --disable-controller-manager)
//   --quick             one run, 1000 creates per point, 5 s watch runs (for iterating, not for the record)
//   --wait-idle S       first wait up to S seconds for the 1-minute load average to drop below --wait-load
//   --wait-load L       (default 1); the machine is shared: the load average around each part is recorded either way
//   --priority          run in a scheduling group of its own at nice -15 (bench/priority.ts; root): other
//                       sessions on a shared machine yield to rudder, raw etcd and the load generator alike
//
// Every process is started here and stopped by PID; all state lives in one temporary directory
// that is removed at the end, also on Ctrl-C.

import { execFileSync, fork, spawnSync, type ChildProcess } from 'node:child_process';
import { copyFileSync, mkdirSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, totalmem } from 'node:os';
import { join, relative } from 'node:path';
import { parseArgs } from 'node:util';
import type { Job, ListResult, LoadResult, Target, WatchResult } from './loadgen.ts';
import {
  ETCD,
  NODE,
  ROOT,
  cleanupAll,
  cpuMeter,
  newDir,
  mainThreadProfile,
  rssOf,
  scratchDir,
  startEtcdDefault,
  startRudder,
  timeToReady,
  track,
  type Etcd,
  type Rudder,
} from './processes.ts';
import { priorityGroup } from './priority.ts';
import { formatProfile, summarizeProfile, type ProfileSummary } from './profile.ts';
import { fmt, median, quantile } from './stats.ts';
import { intervalsWithSync, readSyncs, syncsIn } from './syncs.ts';

// --suite dispatch: every suite but api spawns the area's scripts one after the other; api (and
// the api part of `all`) is this file, run as a child without --suite.
const SUITES: Record<string, string[]> = {
  api: ['run.ts'],
  scheduler: ['scheduler-perf.ts', 'scheduler-core.ts'],
  kubelet: ['kubelet.ts'],
  controllers: ['controllers-scale.ts', 'controllers-endpoints.ts'],
  networking: ['proxy.ts', 'dns.ts'],
  authz: ['authz.ts'],
};
{
  const argv = process.argv.slice(2);
  const at = argv.findIndex((a) => a === '--suite' || a.startsWith('--suite='));
  const suite = at < 0 ? 'api' : argv[at]!.startsWith('--suite=') ? argv[at]!.slice(8) : argv[at + 1];
  if (suite !== 'all' && !(suite && suite in SUITES)) throw new Error(`--suite: one of ${[...Object.keys(SUITES), 'all'].join(', ')}`);
  if (at >= 0) {
    const rest = argv.filter((_, i) => i !== at && (argv[at]!.includes('=') || i !== at + 1));
    if (suite !== 'api' && suite !== 'all' && rest.length) throw new Error(`--suite ${suite}: options ${rest.join(' ')} are the api suite's; run bench/${SUITES[suite]![0]} directly to pass its own`);
    const scripts = suite === 'all' ? Object.values(SUITES).flat() : SUITES[suite]!;
    let failures = 0;
    for (const script of scripts) {
      const args = ['--disable-warning=ExperimentalWarning', join(import.meta.dirname, script), ...(script === 'run.ts' ? rest : [])];
      process.stderr.write(`[bench --suite ${suite}] ${script}: started at ${new Date().toISOString()}, load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}\n`);
      // The child shares the terminal's process group, so Ctrl-C reaches it and its own cleanup runs.
      const r = spawnSync(process.execPath, args, { stdio: 'inherit' });
      if (r.status !== 0) failures++;
      process.stderr.write(`[bench --suite ${suite}] ${script}: ${r.status === 0 ? 'done' : `FAILED (${r.status ?? r.signal})`}\n`);
    }
    process.exit(failures ? 1 : 0);
  }
}

const ALL_PARTS = ['create', 'durability', 'list', 'watch', 'startup', 'profile'] as const;
type Part = (typeof ALL_PARTS)[number];
type Backend = 'sqlite' | 'etcd';

const { values: opt } = parseArgs({
  options: {
    only: { type: 'string' },
    backend: { type: 'string', default: 'both' },
    runs: { type: 'string' },
    count: { type: 'string' },
    quick: { type: 'boolean', default: false },
    'wait-load': { type: 'string', default: '1' },
    concurrency: { type: 'string', default: '1,16,64' },
    proto: { type: 'string', default: 'h2' },
    'list-pods': { type: 'string', default: '10000' },
    'watch-seconds': { type: 'string' },
    out: { type: 'string' },
    'wait-idle': { type: 'string', default: '0' },
    'with-controllers': { type: 'boolean', default: false },
    priority: { type: 'boolean', default: false },
  },
});
// Before anything is started: with --priority the rest runs in a child process.
const PRIORITY = await priorityGroup(opt.priority!);

const parts = new Set<Part>(
  opt.only
    ? opt.only.split(',').map((p) => {
        if (!ALL_PARTS.includes(p as Part)) throw new Error(`--only: unknown part "${p}" (one of ${ALL_PARTS.join(', ')})`);
        return p as Part;
      })
    : ALL_PARTS.filter((p) => p !== 'profile'),
);
if (!['sqlite', 'etcd', 'both'].includes(opt.backend)) throw new Error('--backend: sqlite, etcd or both');
if (!['h1', 'h2'].includes(opt.proto)) throw new Error('--proto: h1 or h2');
const backends: Backend[] = opt.backend === 'both' ? ['sqlite', 'etcd'] : [opt.backend as Backend];
const RUNS = Number(opt.runs ?? (opt.quick ? 1 : 3));
const COUNT = Number(opt.count ?? (opt.quick ? 1000 : 3000));
const LEVELS = opt.concurrency.split(',').map(Number);
const PROTO = opt.proto as 'h1' | 'h2';
const LIST_PODS = Number(opt['list-pods']);
const WATCH_SECONDS = Number(opt['watch-seconds'] ?? (opt.quick ? 5 : 10));
/** Parts 1-5 and the profiles measure the API server alone unless --with-controllers. */
const API_ONLY = !opt['with-controllers'];

const STARTED = new Date();
const STAMP = STARTED.toISOString().slice(0, 19).replace(/:/g, '-');
const RESULTS = join(ROOT, 'bench', 'results');

const TARGETS = {
  createP99Ms: 50,
  listUnpagedMs: 250,
  listPageMs: 20,
  watchP99Ms: 50,
  startMs: 2000,
  idleRssMB: 150,
};

const log = (msg: string) => process.stderr.write(`[bench ${((performance.now() - T0) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);
const T0 = performance.now();

// ---------------------------------------------------------------- the load generator process

class LoadGen {
  private readonly proc: ChildProcess;
  private seq = 0;
  private readonly waiting = new Map<number, { resolve(v: unknown): void; reject(e: Error): void }>();
  constructor() {
    this.proc = track(
      fork(join(import.meta.dirname, 'loadgen.ts'), [], {
        execPath: NODE,
        execArgv: ['--disable-warning=ExperimentalWarning'],
        stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
      }),
    );
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
  call<T>(job: Job): Promise<T> {
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

const target = (r: Rudder): Target => ({ url: r.url, creds: r.creds });

// ---------------------------------------------------------------- parts

interface Point {
  rate: number;
  p50: number;
  p99: number;
  /** Cores each process used during the run (median over runs). */
  cpu: Record<string, number>;
  /**
   * Rate per core used by the serving processes (rudder; rudder and etcd; etcd for raw Puts), median
   * over runs: steadier than the rate on a shared machine, where the CPU a server gets varies.
   */
  perCore: number;
  runs: { rate: number; p50: number; p99: number; errors: number; cpu: Record<string, number> }[];
}

type Measured = LoadResult & { cpu: Record<string, number> };

const summarize = (rs: Measured[], serving: string[]): Point => ({
  rate: median(rs.map((r) => r.rate)),
  perCore: median(rs.map((r) => r.rate / serving.reduce((a, k) => a + (r.cpu[k] ?? 0), 0))),
  p50: median(rs.map((r) => r.p50)),
  p99: median(rs.map((r) => r.p99)),
  cpu: Object.fromEntries(Object.keys(rs[0]!.cpu).map((k) => [k, median(rs.map((r) => r.cpu[k]!))])),
  runs: rs.map((r) => ({ rate: Math.round(r.rate), p50: +r.p50.toFixed(2), p99: +r.p99.toFixed(2), errors: r.errors, cpu: r.cpu })),
});

/** Warm-ups must succeed: a server that fails requests would make every later figure meaningless. */
function mustSucceed<T extends { errors: number; firstError?: string }>(what: string, r: T): T {
  if (r.errors) throw new Error(`${what}: ${r.errors} requests failed; first: ${r.firstError}`);
  return r;
}

function checkErrors(what: string, r: { errors: number; firstError?: string }): void {
  if (r.errors) log(`WARNING ${what}: ${r.errors} failed requests; first: ${r.firstError}`);
}

async function startBackend(b: Backend, etcd: Etcd | undefined, o: { cpuProfDir?: string } = {}): Promise<Rudder> {
  return startRudder({ datastore: b === 'etcd' ? etcd!.url : undefined, cpuProfDir: o.cpuProfDir, apiOnly: API_ONLY });
}

/** Part 1 and 2: creates/s and latency per concurrency, rudder on each backend and raw etcd Put, interleaved. */
async function partCreate(lg: LoadGen) {
  const etcd = await startEtcdDefault();
  const servers = new Map<Backend, Rudder>();
  try {
    for (const b of backends) servers.set(b, await startBackend(b, etcd));
    for (const r of servers.values()) await lg.call({ kind: 'namespace', waitForController: !API_ONLY, target: target(r), name: 'bench' });
    type Name = Backend | 'etcd-put';
    const names: Name[] = [...backends, 'etcd-put'];
    const one = async (n: Name, prefix: string, count: number, c: number): Promise<Measured> => {
      const pids: Record<string, number> = { loadgen: lg.pid, etcd: etcd.pid };
      if (n !== 'etcd-put') pids.rudder = servers.get(n)!.pid;
      const cpu = cpuMeter(pids);
      const r = await (n === 'etcd-put'
        ? lg.call<LoadResult>({ kind: 'put', endpoint: etcd.url, prefix, count, concurrency: c })
        : lg.call<LoadResult>({ kind: 'create', target: target(servers.get(n)!), namespace: 'bench', prefix, count, concurrency: c, proto: PROTO }));
      return { ...r, cpu: cpu() };
    };
    log('create: warm-up');
    for (const n of names) mustSucceed(`create warm-up ${n}`, await one(n, 'warm', 1000, 16));
    const results = new Map<string, Measured[]>();
    let bodyBytes = 0;
    for (let rep = 0; rep < RUNS; rep++) {
      for (const c of LEVELS) {
        // Rotate who goes first so drift on a noisy machine does not favour one side.
        const order = names.map((_, i) => names[(i + rep) % names.length]!);
        for (const n of order) {
          const r = await one(n, `r${rep}-c${c}`, COUNT, c);
          checkErrors(`${n} c=${c}`, r);
          bodyBytes = r.bodyBytes;
          const k = `${n}/${c}`;
          results.set(k, [...(results.get(k) ?? []), r]);
          const cores = Object.entries(r.cpu).map(([k, v]) => `${k} ${v}`).join(', ');
          log(`create run ${rep + 1}/${RUNS} ${n.padEnd(8)} c=${String(c).padStart(2)}: ${Math.round(r.rate)}/s p50 ${r.p50.toFixed(1)} ms p99 ${r.p99.toFixed(1)} ms (cores: ${cores})`);
        }
      }
    }
    const out: Record<string, Record<string, Point>> = {};
    for (const n of names) {
      const serving = n === 'etcd-put' ? ['etcd'] : n === 'etcd' ? ['rudder', 'etcd'] : ['rudder'];
      out[n === 'etcd-put' ? 'etcdPut' : n] = Object.fromEntries(LEVELS.map((c) => [String(c), summarize(results.get(`${n}/${c}`)!, serving)]));
    }
    const rss = Object.fromEntries([...servers].map(([b, r]) => [b, Math.round(rssOf(r.pid).rss / 2 ** 20)]));
    return { proto: PROTO, count: COUNT, runs: RUNS, bodyBytes, results: out, serverRssMBAfter: rss };
  } finally {
    for (const r of servers.values()) await r.stop();
    await lg.call({ kind: 'close' });
    await etcd.stop();
  }
}

/** Part 3: fsyncs per acknowledged write, counted by strace over the load window only. */
async function partDurability(lg: LoadGen) {
  const W1 = Math.min(COUNT, 1000);
  const W64 = COUNT;
  const dir = newDir('strace');
  const out: Record<string, unknown> = {};
  const measure = async (what: string, traces: string[], run: (c: number, n: number) => Promise<LoadResult>) => {
    const res: Record<string, unknown> = {};
    const runs: [number, LoadResult][] = [];
    for (const [c, n] of [
      [1, W1],
      [64, W64],
    ] as const) {
      const r = await run(c, n);
      checkErrors(`${what} c=${c}`, r);
      runs.push([c, r]);
    }
    return async () => {
      const syncs = traces.flatMap((f) => readSyncs(f)).sort((a, b) => a.end - b.end);
      for (const [c, r] of runs) {
        const acked = r.n - r.errors;
        const s = syncsIn(syncs, r.window);
        const covered = r.intervals ? intervalsWithSync(syncs, r.intervals) : undefined;
        res[`c${c}`] = {
          writes: acked,
          syncs: s.total,
          byCall: s.byCall,
          syncsPerWrite: +(s.total / acked).toFixed(3),
          rate: Math.round(r.rate),
          ...(covered !== undefined ? { writesWithSyncBeforeAck: covered, writesChecked: r.intervals!.length } : {}),
        };
        log(`durability ${what} c=${c}: ${s.total} syncs for ${acked} writes (${(s.total / acked).toFixed(2)}/write)` + (covered !== undefined ? `; ${covered}/${r.intervals!.length} writes had a sync complete before their ack` : ''));
      }
      out[what] = res;
    };
  };
  if (backends.includes('sqlite')) {
    const trace = join(dir, 'rudder-sqlite.strace');
    const r = await startRudder({ strace: { out: trace }, apiOnly: API_ONLY });
    let finish: (() => Promise<void>) | undefined;
    try {
      await lg.call({ kind: 'namespace', waitForController: !API_ONLY, target: target(r), name: 'bench' });
      mustSucceed('durability warm-up', await lg.call<LoadResult>({ kind: 'create', target: target(r), namespace: 'bench', prefix: 'warm', count: 500, concurrency: 16 }));
      finish = await measure('rudder-sqlite', [trace], (c, n) =>
        lg.call({ kind: 'create', target: target(r), namespace: 'bench', prefix: `d-c${c}`, count: n, concurrency: c, intervals: c === 1, proto: PROTO }),
      );
    } finally {
      await r.stop();
      await lg.call({ kind: 'close' });
    }
    await finish?.();
  }
  {
    const etrace = join(dir, 'etcd.strace');
    const rtrace = join(dir, 'rudder-etcd.strace');
    const etcd = await startEtcdDefault({ strace: { out: etrace } });
    let r: Rudder | undefined;
    const finishes: (() => Promise<void>)[] = [];
    try {
      if (backends.includes('etcd')) {
        r = await startRudder({ datastore: etcd.url, strace: { out: rtrace }, apiOnly: API_ONLY });
        const t = target(r);
        await lg.call({ kind: 'namespace', waitForController: !API_ONLY, target: t, name: 'bench' });
        mustSucceed('durability warm-up', await lg.call<LoadResult>({ kind: 'create', target: t, namespace: 'bench', prefix: 'warm', count: 500, concurrency: 16 }));
        finishes.push(
          await measure('rudder-etcd', [etrace, rtrace], (c, n) =>
            lg.call({ kind: 'create', target: t, namespace: 'bench', prefix: `d-c${c}`, count: n, concurrency: c, intervals: c === 1, proto: PROTO }),
          ),
        );
      }
      await lg.call({ kind: 'put', endpoint: etcd.url, prefix: 'warm', count: 500, concurrency: 16 });
      finishes.push(await measure('etcd-put', [etrace], (c, n) => lg.call({ kind: 'put', endpoint: etcd.url, prefix: `d-c${c}`, count: n, concurrency: c, intervals: c === 1 })));
    } finally {
      await r?.stop();
      await lg.call({ kind: 'close' });
      await etcd.stop();
    }
    for (const f of finishes) await f();
  }
  return out;
}

/** Part 4: LIST of LIST_PODS ~2 KB pods, unpaged and by pages of 500; raw etcd Range of the same keys beside rudder-on-etcd. */
async function partList(lg: LoadGen) {
  const out: Record<string, unknown> = {};
  const etcd = backends.includes('etcd') ? await startEtcdDefault() : undefined;
  try {
    for (const b of backends) {
      const r = await startBackend(b, etcd);
      try {
        const t = target(r);
        await lg.call({ kind: 'namespace', waitForController: !API_ONLY, target: t, name: 'bench-list' });
        log(`list ${b}: creating ${LIST_PODS} pods`);
        const fill = await lg.call<LoadResult>({ kind: 'create', target: t, namespace: 'bench-list', prefix: 'lp', count: LIST_PODS, concurrency: 64, listPod: true });
        mustSucceed(`list fill ${b}`, fill);
        await lg.call<ListResult>({ kind: 'list', target: t, namespace: 'bench-list', reps: 2 }); // warm-up
        const unpaged = await lg.call<ListResult>({ kind: 'list', target: t, namespace: 'bench-list', reps: Math.max(5, RUNS * 3) });
        const paged = await lg.call<ListResult>({ kind: 'list', target: t, namespace: 'bench-list', reps: Math.max(3, RUNS), limit: 500 });
        const res: Record<string, unknown> = {
          pods: unpaged.items,
          bytesPerPod: Math.round(unpaged.bytes / unpaged.items),
          listBytes: unpaged.bytes,
          fillRate: Math.round(fill.rate),
          unpaged: { p50: median(unpaged.times), min: Math.min(...unpaged.times), max: Math.max(...unpaged.times), reps: unpaged.times.length },
          paged: { pages: paged.pages, pageP50: quantile(paged.times, 0.5), pageP99: quantile(paged.times, 0.99), walkP50: median(paged.walks), samples: paged.times.length },
          serverRssMB: Math.round(rssOf(r.pid).rss / 2 ** 20),
        };
        if (unpaged.items !== LIST_PODS) log(`WARNING list ${b}: listed ${unpaged.items} pods, expected ${LIST_PODS}`);
        log(`list ${b}: unpaged p50 ${median(unpaged.times).toFixed(1)} ms (${unpaged.items} pods, ${(unpaged.bytes / 2 ** 20).toFixed(1)} MiB); page of 500 p50 ${quantile(paged.times, 0.5).toFixed(1)} ms`);
        if (b === 'etcd') {
          const prefix = '/registry/pods/bench-list/';
          await lg.call<ListResult>({ kind: 'range', endpoint: etcd!.url, prefix, reps: 2 });
          const ru = await lg.call<ListResult>({ kind: 'range', endpoint: etcd!.url, prefix, reps: Math.max(5, RUNS * 3) });
          const rp = await lg.call<ListResult>({ kind: 'range', endpoint: etcd!.url, prefix, reps: Math.max(3, RUNS), limit: 500 });
          res.etcdRange = {
            keys: ru.items,
            bytesPerKey: Math.round(ru.bytes / Math.max(1, ru.items)),
            unpaged: { p50: median(ru.times) },
            paged: { pages: rp.pages, pageP50: quantile(rp.times, 0.5), pageP99: quantile(rp.times, 0.99), walkP50: median(rp.walks) },
          };
          log(`list raw etcd Range: unpaged p50 ${median(ru.times).toFixed(1)} ms (${ru.items} keys); page of 500 p50 ${quantile(rp.times, 0.5).toFixed(1)} ms`);
        }
        out[b] = res;
      } finally {
        await r.stop();
        await lg.call({ kind: 'close' });
      }
    }
  } finally {
    await etcd?.stop();
  }
  return out;
}

/** Part 5: watch delivery latency to 100 watchers at 200 pod creates/s. */
async function partWatch(lg: LoadGen) {
  const out: Record<string, unknown> = {};
  const etcd = backends.includes('etcd') ? await startEtcdDefault() : undefined;
  try {
    for (const b of backends) {
      const r = await startBackend(b, etcd);
      try {
        const t = target(r);
        const runs: (WatchResult & { cpu: Record<string, number> })[] = [];
        for (let rep = 0; rep < RUNS; rep++) {
          const ns = `bench-watch-${rep}`;
          await lg.call({ kind: 'namespace', waitForController: !API_ONLY, target: t, name: ns });
          const cpu = cpuMeter({ rudder: r.pid, loadgen: lg.pid, ...(etcd && b === 'etcd' ? { etcd: etcd.pid } : {}) });
          const w = { ...(await lg.call<WatchResult>({ kind: 'watch', target: t, namespace: ns, watchers: 100, sessions: 100, rate: 200, seconds: WATCH_SECONDS })), cpu: cpu() };
          if (w.writeErrors) log(`WARNING watch ${b}: ${w.writeErrors} writes failed; first: ${w.firstError}`);
          if (w.missing) log(`WARNING watch ${b}: ${w.missing} of ${w.expected} deliveries missing`);
          runs.push(w);
          log(`watch run ${rep + 1}/${RUNS} ${b}: from send p50 ${w.fromSend.p50.toFixed(1)} p99 ${w.fromSend.p99.toFixed(1)} ms; from ack p50 ${w.fromAck.p50.toFixed(1)} p99 ${w.fromAck.p99.toFixed(1)} ms; ${w.deliveries} deliveries at ${w.achievedRate.toFixed(0)} events/s (cores: ${Object.entries(w.cpu).map(([k, v]) => `${k} ${v}`).join(', ')})`);
        }
        out[b] = {
          watchers: 100,
          rate: 200,
          seconds: WATCH_SECONDS,
          fromSend: { p50: median(runs.map((w) => w.fromSend.p50)), p99: median(runs.map((w) => w.fromSend.p99)) },
          fromAck: { p50: median(runs.map((w) => w.fromAck.p50)), p99: median(runs.map((w) => w.fromAck.p99)) },
          writeLatency: { p50: median(runs.map((w) => w.writeLatency.p50)), p99: median(runs.map((w) => w.writeLatency.p99)) },
          missing: runs.reduce((a, w) => a + w.missing, 0),
          runs,
          serverRssMB: Math.round(rssOf(r.pid).rss / 2 ** 20),
        };
      } finally {
        await r.stop();
        await lg.call({ kind: 'close' });
      }
    }
  } finally {
    await etcd?.stop();
  }
  return out;
}

/** Part 6: process start to /readyz ok (fresh data dir, then restart on it) and idle RSS after 5 s. */
async function partStartup() {
  const out: Record<string, unknown> = {};
  const etcd = backends.includes('etcd') ? await startEtcdDefault() : undefined;
  try {
    for (const b of backends) {
      const fresh: number[] = [];
      const restart: number[] = [];
      const rss: number[] = [];
      for (let rep = 0; rep < RUNS; rep++) {
        const dir = newDir('startup');
        const ds = b === 'etcd' ? etcd!.url : undefined;
        const f = await timeToReady(dir, ds);
        fresh.push(f.ms);
        await new Promise((r) => setTimeout(r, 5000));
        rss.push(rssOf(f.pid).rss);
        await f.stop();
        const s = await timeToReady(dir, ds);
        restart.push(s.ms);
        await s.stop();
        log(`startup ${b} run ${rep + 1}/${RUNS}: fresh ${f.ms.toFixed(0)} ms, restart ${s.ms.toFixed(0)} ms, idle RSS ${(rss[rep]! / 2 ** 20).toFixed(0)} MB`);
      }
      out[b] = { freshMs: median(fresh), restartMs: median(restart), idleRssMB: +(median(rss) / 2 ** 20).toFixed(1), runs: { fresh, restart, rss } };
    }
  } finally {
    await etcd?.stop();
  }
  return out;
}

/** CPU profiles (node --cpu-prof) of the server over exactly the create load and the list load. */
async function partProfile(lg: LoadGen) {
  const out: Record<string, { create: ProfileSummary; listUnpaged: ProfileSummary; listPaged: ProfileSummary; watch: ProfileSummary; file: string }> = {};
  const etcd = backends.includes('etcd') ? await startEtcdDefault() : undefined;
  const texts: string[] = [];
  try {
    for (const b of backends) {
      const profDir = newDir('cpuprof');
      const r = await startBackend(b, etcd, { cpuProfDir: profDir });
      let create: LoadResult;
      let lu: ListResult;
      let lp: ListResult;
      let w: WatchResult;
      try {
        const t = target(r);
        await lg.call({ kind: 'namespace', waitForController: !API_ONLY, target: t, name: 'bench' });
        await lg.call({ kind: 'namespace', waitForController: !API_ONLY, target: t, name: 'bench-list' });
        mustSucceed('profile warm-up', await lg.call<LoadResult>({ kind: 'create', target: t, namespace: 'bench', prefix: 'warm', count: 1000, concurrency: 16 }));
        log(`profile ${b}: creates`);
        create = await lg.call<LoadResult>({ kind: 'create', target: t, namespace: 'bench', prefix: 'p', count: Math.max(COUNT, 5000), concurrency: 64, proto: PROTO });
        log(`profile ${b}: ${Math.round(create.rate)} creates/s under the profiler; filling the list namespace`);
        await lg.call({ kind: 'create', target: t, namespace: 'bench-list', prefix: 'lp', count: LIST_PODS, concurrency: 64, listPod: true });
        await lg.call({ kind: 'list', target: t, namespace: 'bench-list', reps: 2 });
        lu = await lg.call<ListResult>({ kind: 'list', target: t, namespace: 'bench-list', reps: 10 });
        lp = await lg.call<ListResult>({ kind: 'list', target: t, namespace: 'bench-list', reps: 5, limit: 500 });
        log(`profile ${b}: watch, 100 watchers at 200 creates/s`);
        await lg.call({ kind: 'namespace', waitForController: !API_ONLY, target: t, name: 'bench-watch' });
        w = await lg.call<WatchResult>({ kind: 'watch', target: t, namespace: 'bench-watch', watchers: 100, sessions: 100, rate: 200, seconds: WATCH_SECONDS });
      } finally {
        await lg.call({ kind: 'close' });
        await r.stop();
      }
      const file = mainThreadProfile(profDir);
      if (!file) throw new Error(`no .cpuprofile in ${profDir}: did the server exit cleanly?\n${r.logs().slice(-2000)}`);
      const kept = join(RESULTS, `${STAMP}-${b}.cpuprofile`);
      copyFileSync(file, kept);
      const res = {
        create: summarizeProfile(file, ROOT, create.monoWindow),
        listUnpaged: summarizeProfile(file, ROOT, lu.monoWindow),
        listPaged: summarizeProfile(file, ROOT, lp.monoWindow),
        watch: summarizeProfile(file, ROOT, w.monoWindow),
        file: relative(ROOT, kept),
      };
      texts.push(
        formatProfile(`${b}: ${create.n} creates at c=64 (${Math.round(create.rate)}/s under the profiler)`, res.create),
        formatProfile(`${b}: ${lu.times.length} unpaged LISTs of ${lu.items} pods (p50 ${median(lu.times).toFixed(0)} ms under the profiler)`, res.listUnpaged),
        formatProfile(`${b}: ${lp.times.length} LIST pages of 500 (p50 ${quantile(lp.times, 0.5).toFixed(1)} ms under the profiler)`, res.listPaged),
        formatProfile(`${b}: watch, 100 watchers, ${w.events} creates at ${Math.round(w.achievedRate)}/s (delivery p50/p99 ${fmt(w.fromSend.p50)}/${fmt(w.fromSend.p99)} ms under the profiler)`, res.watch),
      );
      out[b] = res;
    }
  } finally {
    await etcd?.stop();
  }
  return { summaries: out, text: texts.join('\n\n') };
}

// ---------------------------------------------------------------- machine, table, output

function sh(cmd: string, args: string[]): string {
  try {
    return execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] }).trim();
  } catch {
    return '';
  }
}

function machine() {
  const [source = '', fstype = ''] = (sh('df', ['--output=source,fstype', scratchDir()]).split('\n')[1] ?? '').trim().split(/\s+/);
  const [size = '', rota = '', ...model] = sh('lsblk', ['-dno', 'SIZE,ROTA,MODEL', source]).trim().split(/\s+/);
  return {
    nproc: cpus().length,
    cpu: cpus()[0]?.model ?? '',
    memoryGiB: +(totalmem() / 2 ** 30).toFixed(1),
    disk: `${source} ${fstype}, ${size}${rota ? (rota === '1' ? ', reported rotational' : ', non-rotational') : ''}${model.length ? `, ${model.join(' ')}` : ''}; every data dir under ${scratchDir()}`,
    kernel: sh('uname', ['-r']),
    node: sh(NODE, ['--version']),
    etcd: sh(ETCD, ['--version']).split('\n')[0] ?? '',
    strace: sh('strace', ['-V']).split('\n')[0] ?? '',
  };
}

const mark = (ok: boolean | undefined) => (ok === undefined ? '' : ok ? 'met' : 'MISSED');

function table(res: Record<string, any>): string {
  const rows: string[][] = [['figure', 'sqlite', 'etcd', 'raw etcd', 'target', 'met?']];
  const c = res.create;
  if (c) {
    for (const l of LEVELS) {
      const k = String(l);
      const s = c.results.sqlite?.[k];
      const e = c.results.etcd?.[k];
      const p = c.results.etcdPut[k];
      rows.push([`creates/s c=${l} (${c.proto})`, fmt(s?.rate), fmt(e?.rate), fmt(p.rate), 'sqlite >= raw etcd', mark(s ? s.rate >= p.rate : undefined)]);
      rows.push([`  per serving core c=${l}`, fmt(s?.perCore), fmt(e?.perCore), fmt(p.perCore), '', '']);
      rows.push([`  p50 / p99 ms c=${l}`, s ? `${fmt(s.p50)} / ${fmt(s.p99)}` : '-', e ? `${fmt(e.p50)} / ${fmt(e.p99)}` : '-', `${fmt(p.p50)} / ${fmt(p.p99)}`, l === 64 ? `p99 <= ${TARGETS.createP99Ms}` : '', l === 64 ? mark([s, e].every((x) => !x || x.p99 <= TARGETS.createP99Ms)) : '']);
    }
  }
  const d = res.durability;
  if (d) {
    for (const cc of ['c1', 'c64']) {
      const f = (x: any) => (x ? `${fmt(x[cc]?.syncsPerWrite)}` + (x[cc]?.writesChecked ? ` (${x[cc].writesWithSyncBeforeAck}/${x[cc].writesChecked})` : '') : '-');
      rows.push([`fsyncs/write ${cc.replace('c', 'c=')}`, f(d['rudder-sqlite']), f(d['rudder-etcd']), f(d['etcd-put']), cc === 'c1' ? 'each ack after a sync' : '', '']);
    }
  }
  const li = res.list;
  if (li) {
    const g = (b: string, f: (x: any) => number) => (li[b] ? fmt(f(li[b])) : '-');
    const raw = li.etcd?.etcdRange;
    rows.push([`LIST ${LIST_PODS} pods unpaged p50 ms`, g('sqlite', (x) => x.unpaged.p50), g('etcd', (x) => x.unpaged.p50), raw ? fmt(raw.unpaged.p50) : '-', `<= ${TARGETS.listUnpagedMs}`, mark(Object.values(li).every((x: any) => x.unpaged.p50 <= TARGETS.listUnpagedMs))]);
    rows.push([`LIST page of 500 p50 ms`, g('sqlite', (x) => x.paged.pageP50), g('etcd', (x) => x.paged.pageP50), raw ? fmt(raw.paged.pageP50) : '-', `<= ${TARGETS.listPageMs}`, mark(Object.values(li).every((x: any) => x.paged.pageP50 <= TARGETS.listPageMs))]);
    rows.push([`  bytes per pod`, g('sqlite', (x) => x.bytesPerPod), g('etcd', (x) => x.bytesPerPod), raw ? fmt(raw.bytesPerKey) : '-', '~2 KB', '']);
  }
  const w = res.watch;
  if (w) {
    const g = (b: string, f: (x: any) => string) => (w[b] ? f(w[b]) : '-');
    rows.push(['watch 100x200/s p50/p99 ms (from send)', g('sqlite', (x) => `${fmt(x.fromSend.p50)} / ${fmt(x.fromSend.p99)}`), g('etcd', (x) => `${fmt(x.fromSend.p50)} / ${fmt(x.fromSend.p99)}`), '', `p99 <= ${TARGETS.watchP99Ms}`, mark(Object.values(w).every((x: any) => x.fromSend.p99 <= TARGETS.watchP99Ms && x.missing === 0))]);
    rows.push(['  (from ack) p50/p99 ms', g('sqlite', (x) => `${fmt(x.fromAck.p50)} / ${fmt(x.fromAck.p99)}`), g('etcd', (x) => `${fmt(x.fromAck.p50)} / ${fmt(x.fromAck.p99)}`), '', '', '']);
  }
  const s = res.startup;
  if (s) {
    const g = (b: string, k: string) => (s[b] ? fmt(s[b][k]) : '-');
    rows.push(['start to /readyz ms, fresh', g('sqlite', 'freshMs'), g('etcd', 'freshMs'), '', `<= ${TARGETS.startMs}`, mark(Object.values(s).every((x: any) => x.freshMs <= TARGETS.startMs))]);
    rows.push(['start to /readyz ms, restart', g('sqlite', 'restartMs'), g('etcd', 'restartMs'), '', `<= ${TARGETS.startMs}`, mark(Object.values(s).every((x: any) => x.restartMs <= TARGETS.startMs))]);
    rows.push(['idle RSS MB (empty cluster, 5 s)', g('sqlite', 'idleRssMB'), g('etcd', 'idleRssMB'), '', `<= ${TARGETS.idleRssMB}`, mark(Object.values(s).every((x: any) => x.idleRssMB <= TARGETS.idleRssMB))]);
  }
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows.map((r) => r.map((x, i) => (i === 0 ? x.padEnd(widths[i]!) : x.padStart(widths[i]!))).join('  ')).join('\n');
}

async function main() {
  const started = STARTED;
  mkdirSync(RESULTS, { recursive: true });
  const info = machine();
  log(`parts: ${[...parts].join(', ')}; backends: ${backends.join(', ')}; runs ${RUNS}; ${API_ONLY ? 'API server alone' : 'with the controller-manager'}; ${PRIORITY ? 'own scheduling group at nice -15; ' : ''} ${info.nproc} CPUs, Node ${info.node}, ${info.etcd}`);
  const waitIdle = Number(opt['wait-idle']);
  if (waitIdle > 0) {
    const until = performance.now() + waitIdle * 1000;
    while (loadavg()[0]! >= Number(opt['wait-load']) && performance.now() < until) {
      log(`waiting for a quieter machine: load average ${loadavg().map((x) => x.toFixed(2)).join(' ')}`);
      await new Promise((r) => setTimeout(r, 15_000));
    }
  }
  const lg = new LoadGen();
  const res: Record<string, any> = {};
  // The machine is shared: record how busy it was around each part, beside the figures.
  const meta: Record<string, { seconds: number; loadavgBefore: number[]; loadavgAfter: number[] }> = {};
  const failed: Part[] = [];
  const errors: Record<string, string> = {};
  const part = async (name: Part, fn: () => Promise<unknown>) => {
    if (!parts.has(name)) return;
    const before = loadavg().map((x) => +x.toFixed(2));
    const t = performance.now();
    try {
      res[name] = await fn();
    } catch (e) {
      // One broken part must not cost the others' figures.
      failed.push(name);
      log(`${name} FAILED: ${(e as Error)?.stack ?? e}`);
      errors[name] = String((e as Error)?.message ?? e);
    }
    meta[name] = { seconds: Math.round((performance.now() - t) / 1000), loadavgBefore: before, loadavgAfter: loadavg().map((x) => +x.toFixed(2)) };
    log(`${name}: done in ${meta[name].seconds} s; load average ${before.join(' ')} before, ${meta[name].loadavgAfter.join(' ')} after`);
  };
  try {
    await part('create', () => partCreate(lg));
    await part('durability', () => partDurability(lg));
    await part('list', () => partList(lg));
    await part('watch', () => partWatch(lg));
    await part('startup', () => partStartup());
    await part('profile', () => partProfile(lg));
  } finally {
    await lg.close();
  }
  const doc = {
    date: started.toISOString(),
    seconds: Math.round((performance.now() - T0) / 1000),
    options: { parts: [...parts], backends, runs: RUNS, count: COUNT, concurrency: LEVELS, proto: PROTO, listPods: LIST_PODS, watchSeconds: WATCH_SECONDS, apiServerOnly: API_ONLY, priorityGroup: PRIORITY },
    machine: info,
    targets: TARGETS,
    parts: meta,
    ...(failed.length ? { errors } : {}),
    ...res,
  };
  const file = opt.out ?? join(RESULTS, `${STAMP}.json`);
  if (res.profile) {
    const txt = file.replace(/\.json$/, '') + '-profile.txt';
    writeFileSync(txt, res.profile.text + '\n');
    res.profile.textFile = txt;
    process.stdout.write(`\n${res.profile.text}\n`);
  }
  writeFileSync(file, JSON.stringify(doc, null, 1) + '\n');
  if (failed.length) process.exitCode = 1;
  process.stdout.write(`\n${table(res)}\n${failed.length ? `\nFAILED parts: ${failed.join(', ')} (see the log above)\n` : ''}\n${info.nproc} CPUs (${info.cpu}), ${info.memoryGiB} GiB, kernel ${info.kernel}, Node ${info.node}, ${info.etcd}; ${doc.seconds} s\nwritten: ${file}\n`);
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
  process.stderr.write(`bench failed: ${(e as Error)?.stack ?? e}\n`);
  cleanupAll();
  process.exit(1);
});

