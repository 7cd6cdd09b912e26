// The load generator: a separate process from every server it measures. The orchestrator
// (run.ts) forks it once and sends jobs over IPC ({ id, job } → { id, result } or { id, error }),
// so HTTP/2 sessions and the client's JIT stay warm across jobs.
//
// Clients:
//   - rudder over HTTPS with HTTP/2: one session per server, many concurrent streams (what
//     client-go does), or HTTP/1.1 keep-alive with one connection per concurrent request (proto h1);
//   - etcd over gRPC (@grpc/grpc-js, one channel = one HTTP/2 connection) for the raw peer.
// Latency is from just before a request is sent to the end of its response body.

import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { connect, constants as h2c, type ClientHttp2Session } from 'node:http2';
import { Agent, request as httpsRequest } from 'node:https';
import { fileURLToPath } from 'node:url';
import { Worker, isMainThread, parentPort, workerData } from 'node:worker_threads';
import { listPodBody, podBody } from './pods.ts';
import { epochMs, quantile } from './stats.ts';
import type { Creds } from './processes.ts';

export interface Target {
  url: string;
  creds: Creds;
}

export type Job =
  | { kind: 'namespace'; target: Target; name: string; waitForController?: boolean }
  | {
      kind: 'create';
      target: Target;
      namespace: string;
      prefix: string;
      count: number;
      concurrency: number;
      /** The LIST figures' pod (about 2 KB as served) instead of the 1 KB create pod. */
      listPod?: boolean;
      proto?: 'h2' | 'h1';
      /** Return each request's [sent, answered] epoch ms (for the fsync-before-ack check). */
      intervals?: boolean;
    }
  | { kind: 'put'; endpoint: string; prefix: string; count: number; concurrency: number; intervals?: boolean }
  | { kind: 'list'; target: Target; namespace: string; reps: number; limit?: number }
  | { kind: 'range'; endpoint: string; prefix: string; reps: number; limit?: number }
  | { kind: 'watch'; target: Target; namespace: string; watchers: number; sessions: number; rate: number; seconds: number; threads?: number }
  | { kind: 'close' };

export interface LoadResult {
  n: number;
  errors: number;
  firstError?: string;
  seconds: number;
  rate: number;
  p50: number;
  p99: number;
  mean: number;
  /** epoch-ms window of the load, for matching strace and profile samples. */
  window: [number, number];
  /** CLOCK_MONOTONIC µs window (the clock of --cpu-prof sample times). */
  monoWindow: [number, number];
  /** Per-request [sent, answered] epoch ms, when asked for. */
  intervals?: [number, number][];
  /** Bytes of one request body. */
  bodyBytes: number;
}

export interface ListResult {
  /** Unpaged: one time per rep. Paged: one time per page. */
  times: number[];
  /** Paged: the time of each complete walk of every page. */
  walks: number[];
  items: number;
  bytes: number;
  pages: number;
  monoWindow: [number, number];
}

export interface WatchResult {
  events: number;
  deliveries: number;
  /** Deliveries of acknowledged writes the watchers should have seen, and how many never arrived. */
  expected: number;
  missing: number;
  writeErrors: number;
  firstError?: string;
  /** From just before the write was sent to arrival at a watcher, ms. */
  fromSend: { p50: number; p99: number; max: number };
  /** From the write's acknowledgement (response received) to arrival; negative when the event beat the response. */
  fromAck: { p50: number; p99: number; max: number };
  writeLatency: { p50: number; p99: number };
  achievedRate: number;
  /** CLOCK_MONOTONIC µs from the first write to the last write's acknowledgement (for a profile's window). */
  monoWindow: [number, number];
  /** Worker threads the watch streams were spread over. */
  watcherThreads: number;
}

/** Upstream names the managedFields manager after the client's User-Agent; say who we are. */
const USER_AGENT = 'rudder-bench/0.1';

const REQUEST_TIMEOUT_MS = 60_000;

const mono = () => Number(process.hrtime.bigint() / 1000n);

// ---------------------------------------------------------------- HTTP/2 and HTTP/1.1 clients

interface Resp {
  status: number;
  body: Buffer;
}

const sessions = new Map<string, ClientHttp2Session>();

function openSession(t: Target): ClientHttp2Session {
  const s = connect(t.url, { ca: t.creds.ca, cert: t.creds.cert, key: t.creds.key, settings: { initialWindowSize: 16 * 1024 * 1024 } });
  s.on('error', () => {});
  // Room for a whole LIST response in flight without waiting on WINDOW_UPDATEs.
  s.once('connect', () => s.setLocalWindowSize(64 * 1024 * 1024));
  return s;
}

function session(t: Target): ClientHttp2Session {
  let s = sessions.get(t.url);
  if (!s || s.closed || s.destroyed) {
    s = openSession(t);
    sessions.set(t.url, s);
    s.once('close', () => {
      if (sessions.get(t.url) === s) sessions.delete(t.url);
    });
  }
  return s;
}

function h2req(s: ClientHttp2Session, method: string, path: string, body?: Buffer): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { [h2c.HTTP2_HEADER_METHOD]: method, [h2c.HTTP2_HEADER_PATH]: path, accept: 'application/json', 'user-agent': USER_AGENT };
    if (body) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = body.length;
    }
    const st = s.request(headers, { endStream: !body });
    // A request the server never answers is a failed request, not a stuck benchmark.
    st.setTimeout(REQUEST_TIMEOUT_MS, () => st.close(h2c.NGHTTP2_CANCEL));
    st.on('close', () => reject(new Error(`${method} ${path}: stream closed without a complete response (rst code ${st.rstCode})`)));
    let status = 0;
    const chunks: Buffer[] = [];
    st.on('response', (h) => (status = Number(h[h2c.HTTP2_HEADER_STATUS])));
    st.on('data', (c: Buffer) => chunks.push(c));
    st.on('end', () => resolve({ status, body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks) }));
    st.on('error', reject);
    if (body) st.end(body);
  });
}

const agents = new Map<string, Agent>();

function h1req(t: Target, maxSockets: number, method: string, path: string, body?: Buffer): Promise<Resp> {
  let agent = agents.get(t.url);
  if (!agent) {
    agent = new Agent({ ca: t.creds.ca, cert: t.creds.cert, key: t.creds.key, keepAlive: true, maxSockets });
    agents.set(t.url, agent);
  }
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { accept: 'application/json', 'user-agent': USER_AGENT };
    if (body) {
      headers['content-type'] = 'application/json';
      headers['content-length'] = body.length;
    }
    const req = httpsRequest(t.url + path, { method, headers, agent, timeout: REQUEST_TIMEOUT_MS }, (r) => {
      const chunks: Buffer[] = [];
      r.on('data', (c: Buffer) => chunks.push(c));
      r.on('end', () => resolve({ status: r.statusCode ?? 0, body: Buffer.concat(chunks) }));
      r.on('error', reject);
    });
    req.on('error', reject);
    req.on('timeout', () => req.destroy(new Error(`${method} ${path}: no answer in ${REQUEST_TIMEOUT_MS} ms`)));
    req.end(body);
  });
}

// ---------------------------------------------------------------- etcd gRPC client

type Unary = (req: unknown, md: grpc.Metadata, opts: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: any) => void) => void;
let KvCtor: (new (addr: string, creds: grpc.ChannelCredentials, o?: grpc.ClientOptions) => grpc.Client) | undefined;
const kvClients = new Map<string, grpc.Client>();

function kv(endpoint: string): grpc.Client {
  let c = kvClients.get(endpoint);
  if (c) return c;
  if (!KvCtor) {
    const def = protoLoader.loadSync(fileURLToPath(new URL('./etcd-kv.proto', import.meta.url)), { keepCase: true, longs: Number, defaults: true });
    KvCtor = (grpc.loadPackageDefinition(def).etcdserverpb as any).KV;
  }
  c = new KvCtor!(new URL(endpoint).host, grpc.credentials.createInsecure(), { 'grpc.max_receive_message_length': -1, 'grpc.max_send_message_length': -1 });
  kvClients.set(endpoint, c);
  return c;
}

function unary(c: grpc.Client, method: 'Put' | 'Range', req: unknown): Promise<any> {
  return new Promise((resolve, reject) => {
    ((c as any)[method] as Unary).call(c, req, new grpc.Metadata(), { deadline: Date.now() + 30_000 }, (e, r) => (e ? reject(e) : resolve(r)));
  });
}

/** The first key after every key with this prefix (etcd's range_end for a prefix). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  end[end.length - 1]!++;
  return end;
}

// ---------------------------------------------------------------- jobs

/** Runs `count` operations with `concurrency` callers, timing each. op(i) must resolve when the operation is acknowledged. */
async function closedLoop(count: number, concurrency: number, intervals: boolean, op: (i: number) => Promise<void>): Promise<Omit<LoadResult, 'bodyBytes'>> {
  const lat = new Float64Array(count);
  const iv: [number, number][] | undefined = intervals ? [] : undefined;
  let next = 0;
  let errors = 0;
  let firstError: string | undefined;
  const w0 = epochMs();
  const m0 = mono();
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: concurrency }, async () => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        const s = performance.now();
        const se = intervals ? epochMs() : 0;
        try {
          await op(i);
        } catch (e) {
          errors++;
          firstError ??= (e as Error).message;
        }
        lat[i] = performance.now() - s;
        if (iv) iv.push([se, epochMs()]);
      }
    }),
  );
  const seconds = (performance.now() - t0) / 1000;
  const xs = Array.from(lat);
  return {
    n: count,
    errors,
    firstError,
    seconds,
    rate: (count - errors) / seconds,
    p50: quantile(xs, 0.5),
    p99: quantile(xs, 0.99),
    mean: xs.reduce((a, b) => a + b, 0) / xs.length,
    window: [w0, epochMs()],
    monoWindow: [m0, mono()],
    intervals: iv,
  };
}

const pad = (i: number) => String(i).padStart(6, '0');

async function createJob(j: Extract<Job, { kind: 'create' }>): Promise<LoadResult> {
  const make = j.listPod ? listPodBody : podBody;
  const bodies = Array.from({ length: j.count }, (_, i) => Buffer.from(JSON.stringify(make(j.namespace, `${j.prefix}-${pad(i)}`))));
  const path = `/api/v1/namespaces/${j.namespace}/pods`;
  const s = j.proto === 'h1' ? undefined : session(j.target);
  const r = await closedLoop(j.count, j.concurrency, !!j.intervals, async (i) => {
    const res = s ? await h2req(s, 'POST', path, bodies[i]) : await h1req(j.target, j.concurrency, 'POST', path, bodies[i]);
    if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${res.body.toString().slice(0, 300)}`);
  });
  return { ...r, bodyBytes: bodies[0]!.length };
}

async function putJob(j: Extract<Job, { kind: 'put' }>): Promise<LoadResult> {
  const c = kv(j.endpoint);
  // The same bytes rudder would be sent: the ~1 KB pod JSON under an upstream-shaped key.
  const reqs = Array.from({ length: j.count }, (_, i) => {
    const name = `${j.prefix}-${pad(i)}`;
    return { key: Buffer.from(`/registry/pods/bench-put/${name}`), value: Buffer.from(JSON.stringify(podBody('bench-put', name))) };
  });
  const r = await closedLoop(j.count, j.concurrency, !!j.intervals, async (i) => {
    await unary(c, 'Put', reqs[i]);
  });
  return { ...r, bodyBytes: reqs[0]!.value.length };
}

async function listJob(j: Extract<Job, { kind: 'list' }>): Promise<ListResult> {
  const s = session(j.target);
  const base = `/api/v1/namespaces/${j.namespace}/pods`;
  const times: number[] = [];
  const walks: number[] = [];
  let items = 0;
  let bytes = 0;
  let pages = 0;
  const m0 = mono();
  for (let rep = 0; rep < j.reps; rep++) {
    let cont: string | undefined;
    const w = performance.now();
    items = 0;
    bytes = 0;
    pages = 0;
    do {
      const q = new URLSearchParams();
      if (j.limit) q.set('limit', String(j.limit));
      if (cont) q.set('continue', cont);
      const path = q.size ? `${base}?${q}` : base;
      const t = performance.now();
      const r = await h2req(s, 'GET', path);
      if (r.status !== 200) throw new Error(`GET ${path}: ${r.status} ${r.body.toString().slice(0, 300)}`);
      // Parsing is the client's cost, outside the timed span; it is done to follow continue and count.
      times.push(performance.now() - t);
      const list = JSON.parse(r.body.toString()) as { items: unknown[]; metadata: { continue?: string } };
      items += list.items.length;
      bytes += r.body.length;
      pages++;
      cont = list.metadata.continue || undefined;
    } while (cont);
    walks.push(performance.now() - w);
  }
  return { times, walks, items, bytes, pages, monoWindow: [m0, mono()] };
}

async function rangeJob(j: Extract<Job, { kind: 'range' }>): Promise<ListResult> {
  const c = kv(j.endpoint);
  const prefix = Buffer.from(j.prefix);
  const end = prefixEnd(prefix);
  const times: number[] = [];
  const walks: number[] = [];
  let items = 0;
  let bytes = 0;
  let pages = 0;
  const m0 = mono();
  for (let rep = 0; rep < j.reps; rep++) {
    let key: Buffer = prefix;
    let more = true;
    let rev = 0;
    const w = performance.now();
    items = 0;
    bytes = 0;
    pages = 0;
    while (more) {
      const t = performance.now();
      const r = await unary(c, 'Range', { key, range_end: end, limit: j.limit ?? 0, revision: rev });
      times.push(performance.now() - t);
      rev = r.header.revision;
      items += r.kvs.length;
      for (const kv of r.kvs) bytes += kv.value.length + kv.key.length;
      pages++;
      more = !!j.limit && r.more;
      if (more) key = Buffer.concat([r.kvs[r.kvs.length - 1].key, Buffer.from([0])]);
    }
    walks.push(performance.now() - w);
  }
  return { times, walks, items, bytes, pages, monoWindow: [m0, mono()] };
}

/** One watcher thread's share of a watch job's streams (see watchJob). */
interface WatchShare {
  target: Target;
  path: string;
  watchers: number;
  sessions: number;
  /** Every pod name of the job starts with `${prefix}-`. */
  prefix: string;
}

/**
 * Opens a share's watch streams and records, per stream, when each pod name first arrived. The
 * streams carry 100x the writes' bytes: they are scanned as Buffers for the pod names (no strings,
 * no line splitting), so that the thread's event loop does not hold back the arrivals it timestamps.
 */
async function openWatchers(sh: WatchShare): Promise<{ arrivals: Map<string, number>[]; close(): void }> {
  const ss = Array.from({ length: sh.sessions }, () => openSession(sh.target));
  const needle = Buffer.from(`"name":"${sh.prefix}-`);
  const QUOTE = 0x22;
  const arrivals: Map<string, number>[] = [];
  const streams = await Promise.all(
    Array.from({ length: sh.watchers }, (_, w) => {
      const got = new Map<string, number>();
      arrivals.push(got);
      return new Promise<ReturnType<ClientHttp2Session['request']>>((resolve, reject) => {
        const st = ss[w % ss.length]!.request({ [h2c.HTTP2_HEADER_METHOD]: 'GET', [h2c.HTTP2_HEADER_PATH]: sh.path, accept: 'application/json', 'user-agent': USER_AGENT });
        // The tail of the previous chunk, where a name cut by a chunk boundary starts.
        let carry: Buffer | undefined;
        st.on('response', (h) => {
          const status = Number(h[h2c.HTTP2_HEADER_STATUS]);
          if (status === 200) resolve(st);
          else reject(new Error(`watch: ${status}`));
        });
        st.on('data', (chunk: Buffer) => {
          const now = epochMs();
          const b = carry ? Buffer.concat([carry, chunk]) : chunk;
          let at = 0;
          let last = 0;
          while ((at = b.indexOf(needle, at)) >= 0) {
            const start = at + needle.length - sh.prefix.length - 1;
            const end = b.indexOf(QUOTE, at + needle.length);
            if (end < 0) break;
            const name = b.toString('latin1', start, end);
            if (!got.has(name)) got.set(name, now);
            at = last = end;
          }
          // Keep what may hold the start of a name not yet complete.
          const from = Math.max(last, b.length - needle.length - 24);
          carry = from < b.length ? b.subarray(from) : undefined;
        });
        st.on('error', reject);
      });
    }),
  );
  return {
    arrivals,
    close() {
      for (const st of streams) st.close();
      for (const s of ss) s.close();
    },
  };
}

/** A watcher thread: opens its share, says so, then waits for the names to expect and answers with its arrivals. */
function watcherThread(sh: WatchShare): void {
  const port = parentPort!;
  openWatchers(sh).then(
    (w) => {
      port.postMessage({ ready: true });
      port.once('message', async (m: { expect: string[]; deadline: number }) => {
        const complete = () => w.arrivals.every((a) => m.expect.every((n) => a.has(n)));
        while (epochMs() < m.deadline && !complete()) await new Promise((r) => setTimeout(r, 50));
        w.close();
        port.postMessage({ arrivals: w.arrivals.map((a) => [...a]) });
        port.close();
      });
    },
    (e: Error) => port.postMessage({ error: e?.stack ?? String(e) }),
  );
}

/**
 * `watchers` watch streams on the namespace's pods (spread over `sessions` HTTP/2 sessions and
 * `threads` worker threads), then pod creates at `rate` per second for `seconds` (open loop: a write
 * is sent when it is due, whether or not earlier ones were answered), then up to 5 s for the last
 * events to arrive. The watchers run on threads of their own so that the writer's timestamps and
 * the arrivals' do not wait behind each other on one event loop (20,000 arrivals a second held a
 * single-threaded load generator at 60% of a core and its acknowledgements behind the streams).
 */
async function watchJob(j: Extract<Job, { kind: 'watch' }>): Promise<WatchResult> {
  const prefix = `wb${Date.now().toString(36)}`;
  const path = `/api/v1/namespaces/${j.namespace}/pods?watch=true&timeoutSeconds=600`;
  const threads = Math.max(1, Math.min(j.threads ?? 2, j.watchers));
  const workers = Array.from({ length: threads }, (_, t) => {
    const share = (n: number) => Math.floor((n * (t + 1)) / threads) - Math.floor((n * t) / threads);
    const sh: WatchShare = { target: j.target, path, watchers: share(j.watchers), sessions: Math.max(1, share(j.sessions)), prefix };
    return new Worker(new URL(import.meta.url), { workerData: { watchShare: sh } });
  });
  const reply = (w: Worker) =>
    new Promise<any>((resolve, reject) => {
      w.once('message', (m: { error?: string }) => (m.error ? reject(new Error(m.error)) : resolve(m)));
      w.once('error', reject);
    });
  try {
    await Promise.all(workers.map(reply));
  } catch (e) {
    for (const w of workers) void w.terminate();
    throw e;
  }
  const writer = openSession(j.target);
  const total = Math.round(j.rate * j.seconds);
  const sent = new Float64Array(total);
  const acked = new Float64Array(total).fill(NaN);
  const okWrite = new Uint8Array(total);
  const wlat: number[] = [];
  let writeErrors = 0;
  let firstError: string | undefined;
  const wpath = `/api/v1/namespaces/${j.namespace}/pods`;
  const names = Array.from({ length: total }, (_, i) => `${prefix}-${i}`);
  const bodies = names.map((n) => Buffer.from(JSON.stringify(podBody(j.namespace, n))));
  const inflight: Promise<void>[] = [];
  const t0 = epochMs() + 20;
  const m0 = mono() + 20_000;
  let issued = 0;
  await new Promise<void>((done) => {
    const tick = () => {
      const now = epochMs();
      while (issued < total && t0 + (issued * 1000) / j.rate <= now) {
        const i = issued++;
        sent[i] = epochMs();
        inflight.push(
          h2req(writer, 'POST', wpath, bodies[i]).then(
            (r) => {
              acked[i] = epochMs();
              wlat.push(acked[i]! - sent[i]!);
              if (r.status === 201) okWrite[i] = 1;
              else {
                writeErrors++;
                firstError ??= `${r.status} ${r.body.toString().slice(0, 200)}`;
              }
            },
            (e: Error) => {
              writeErrors++;
              firstError ??= e.message;
            },
          ),
        );
      }
      if (issued >= total) return done();
      setTimeout(tick, Math.max(0, t0 + (issued * 1000) / j.rate - epochMs()));
    };
    tick();
  });
  const tEnd = epochMs();
  await Promise.all(inflight);
  const m1 = mono();
  const acknowledged = (i: number) => Number.isFinite(acked[i]!) && okWrite[i] === 1;
  const expected = okWrite.reduce((a, b) => a + b, 0);
  const expect = names.filter((_, i) => acknowledged(i));
  const deadline = epochMs() + 5000;
  const answers = workers.map(reply);
  for (const w of workers) w.postMessage({ expect, deadline });
  const arrivals: Map<string, number>[] = (await Promise.all(answers)).flatMap((m: { arrivals: [string, number][][] }) => m.arrivals.map((a) => new Map(a)));
  writer.close();
  const fromSend: number[] = [];
  const fromAck: number[] = [];
  let deliveries = 0;
  let missing = 0;
  for (const a of arrivals) {
    for (let i = 0; i < total; i++) {
      const t = a.get(names[i]!);
      // A write that failed may still have been applied (an error after commit); its event counts as
      // a delivery but not as missing when absent.
      if (t === undefined) {
        if (acknowledged(i)) missing++;
        continue;
      }
      deliveries++;
      fromSend.push(t - sent[i]!);
      if (Number.isFinite(acked[i]!)) fromAck.push(t - acked[i]!);
    }
  }
  const sum = (xs: number[]) => ({ p50: quantile(xs, 0.5), p99: quantile(xs, 0.99), max: xs.reduce((a, b) => Math.max(a, b), -Infinity) });
  return {
    events: total,
    deliveries,
    expected: expected * j.watchers,
    missing,
    writeErrors,
    firstError,
    fromSend: sum(fromSend),
    fromAck: sum(fromAck),
    writeLatency: { p50: quantile(wlat, 0.5), p99: quantile(wlat, 0.99) },
    achievedRate: total / ((tEnd - t0) / 1000),
    monoWindow: [m0, m1],
    watcherThreads: threads,
  };
}

/**
 * Creates a namespace and makes sure it has its `default` ServiceAccount, which pod admission
 * requires: the controller-manager's serviceaccount controller makes it when it runs; without
 * it (API server alone) the benchmark creates it, as that controller would.
 */
async function namespaceJob(j: Extract<Job, { kind: 'namespace' }>): Promise<{ serviceAccount: 'controller' | 'created' }> {
  const s = session(j.target);
  const body = (o: unknown) => Buffer.from(JSON.stringify(o));
  const r = await h2req(s, 'POST', '/api/v1/namespaces', body({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: j.name } }));
  if (r.status !== 201 && r.status !== 409) throw new Error(`create namespace ${j.name}: ${r.status} ${r.body.toString().slice(0, 300)}`);
  const sa = `/api/v1/namespaces/${j.name}/serviceaccounts`;
  for (let i = 0; i < (j.waitForController ? 30 : 0); i++) {
    if ((await h2req(s, 'GET', `${sa}/default`)).status === 200) return { serviceAccount: 'controller' };
    await new Promise((res) => setTimeout(res, 100));
  }
  const c = await h2req(s, 'POST', sa, body({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: j.name } }));
  if (c.status !== 201 && c.status !== 409) throw new Error(`create ServiceAccount ${j.name}/default: ${c.status} ${c.body.toString().slice(0, 300)}`);
  return { serviceAccount: c.status === 201 ? 'created' : 'controller' };
}

export async function runJob(j: Job): Promise<unknown> {
  switch (j.kind) {
    case 'namespace':
      return namespaceJob(j);
    case 'create':
      return createJob(j);
    case 'put':
      return putJob(j);
    case 'list':
      return listJob(j);
    case 'range':
      return rangeJob(j);
    case 'watch':
      return watchJob(j);
    case 'close':
      for (const s of sessions.values()) s.close();
      sessions.clear();
      for (const a of agents.values()) a.destroy();
      agents.clear();
      for (const c of kvClients.values()) c.close();
      kvClients.clear();
      return {};
  }
}

if (!isMainThread && (workerData as { watchShare?: WatchShare } | undefined)?.watchShare) {
  watcherThread((workerData as { watchShare: WatchShare }).watchShare);
} else if (process.send) {
  process.on('message', (m: { id: number; job: Job }) => {
    runJob(m.job).then(
      (result) => process.send!({ id: m.id, result }),
      (e: Error) => process.send!({ id: m.id, error: e?.stack ?? String(e) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
