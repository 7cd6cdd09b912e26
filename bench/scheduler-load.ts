// The scheduler benchmark's load generator: a separate process from the server it measures,
// forked once by bench/scheduler-perf.ts and driven over IPC ({ id, job } → { id, result } or
// { id, error }), so its HTTP/2 sessions and JIT stay warm across runs.
//
// It speaks to the API server as client-go would: HTTPS, HTTP/2 with one session for writes
// (many concurrent streams) and another for the watch, the admin client certificate, and
// protobuf bodies (`application/vnd.kubernetes.protobuf`, what client-go sends for built-in
// kinds) unless the job asks for JSON. A pods job watches its namespace from a known
// resourceVersion, creates the pods (a closed loop of `concurrency` streams: each sends its next
// create when the previous is answered, i.e. as fast as the API takes them), and waits until the
// watch has shown every pod bound (spec.nodeName set).

import { connect, constants as h2c, type ClientHttp2Session, type ClientHttp2Stream } from 'node:http2';
import { decodeWatchEvent, encode as encodeProtobuf, protobufContentType, protobufWatchContentType } from '../src/api/protobuf/codec.ts';
import type { Creds } from './processes.ts';
import { nodeObject, podObject, type PodTemplate } from './scheduler-workloads.ts';
import { quantile } from './stats.ts';

export interface Target {
  url: string;
  creds: Creds;
}

export type Wire = 'protobuf' | 'json';

export type SchedJob =
  | { kind: 'namespaces'; target: Target; names: string[] }
  | { kind: 'nodes'; target: Target; count: number; zones?: string[]; concurrency: number; wire: Wire }
  | {
      kind: 'pods';
      target: Target;
      namespace: string;
      template: PodTemplate;
      count: number;
      concurrency: number;
      wire: Wire;
      timeoutMs: number;
      /** false: only create (a server without a scheduler); the binding figures are then NaN. */
      waitBound?: boolean;
    }
  | { kind: 'close' };

export interface NodesResult {
  n: number;
  seconds: number;
  rate: number;
}

export interface PodsResult {
  n: number;
  /** Pods whose binding the watch showed before the timeout. */
  bound: number;
  createErrors: number;
  firstError?: string;
  /** measured pods ÷ (first create sent → last binding seen), pods/s. */
  throughput: number;
  /** first create sent → last binding seen, s. */
  seconds: number;
  /** first create sent → last create answered, and the rate of creates over that span. */
  createSeconds: number;
  createRate: number;
  /** Per pod, create sent → binding seen on the watch, ms. */
  latency: { p50: number; p90: number; p99: number; max: number };
  /** Per create, sent → answered, ms. */
  createLatency: { p50: number; p99: number };
  /** Bindings seen in each second after the first create. */
  perSecond: number[];
  /** CLOCK_MONOTONIC µs of the first create sent and the last binding seen (the --cpu-prof clock). */
  monoWindow: [number, number];
  /** Bytes of one create body. */
  bodyBytes: number;
}

const USER_AGENT = 'rudder-scheduler-perf/0.1';
const REQUEST_TIMEOUT_MS = 60_000;
/** performance.now() → CLOCK_MONOTONIC µs (process.hrtime's clock, the clock of V8 profile samples). */
const monoOffsetUs = Number(process.hrtime.bigint() / 1000n) - performance.now() * 1000;
const toMono = (t: number) => Math.round(monoOffsetUs + t * 1000);

function openSession(t: Target): ClientHttp2Session {
  const s = connect(t.url, { ca: t.creds.ca, cert: t.creds.cert, key: t.creds.key, settings: { initialWindowSize: 16 * 1024 * 1024 } });
  s.on('error', () => {});
  s.once('connect', () => s.setLocalWindowSize(64 * 1024 * 1024));
  return s;
}

let writer: ClientHttp2Session | undefined;
let writerUrl = '';
function writeSession(t: Target): ClientHttp2Session {
  if (!writer || writer.closed || writer.destroyed || writerUrl !== t.url) {
    writer?.close();
    writer = openSession(t);
    writerUrl = t.url;
  }
  return writer;
}

interface Resp {
  status: number;
  body: Buffer;
}

function request(s: ClientHttp2Session, method: string, path: string, body?: Uint8Array, contentType = 'application/json', accept = 'application/json'): Promise<Resp> {
  return new Promise((resolve, reject) => {
    const headers: Record<string, string | number> = { [h2c.HTTP2_HEADER_METHOD]: method, [h2c.HTTP2_HEADER_PATH]: path, accept, 'user-agent': USER_AGENT };
    if (body) {
      headers['content-type'] = contentType;
      headers['content-length'] = body.length;
    }
    const st = s.request(headers, { endStream: !body });
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

const json = (o: unknown) => Buffer.from(JSON.stringify(o));

/** A create body and the headers it goes with, in the job's wire format. */
function encoder(wire: Wire): { body(o: Record<string, unknown>): Uint8Array; contentType: string; accept: string } {
  return wire === 'protobuf'
    ? { body: (o) => encodeProtobuf(o), contentType: protobufContentType, accept: `${protobufContentType}, application/json` }
    : { body: json, contentType: 'application/json', accept: 'application/json' };
}

/** Runs count operations with `concurrency` callers; each op resolves when it is answered. */
async function closedLoop(count: number, concurrency: number, op: (i: number) => Promise<void>): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(concurrency, count) }, async () => {
      for (;;) {
        const i = next++;
        if (i >= count) return;
        await op(i);
      }
    }),
  );
}

async function namespacesJob(j: Extract<SchedJob, { kind: 'namespaces' }>): Promise<void> {
  const s = writeSession(j.target);
  for (const name of j.names) {
    const r = await request(s, 'POST', '/api/v1/namespaces', json({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } }));
    if (r.status !== 201 && r.status !== 409) throw new Error(`create namespace ${name}: ${r.status} ${r.body.toString().slice(0, 300)}`);
    // Pod admission requires the namespace's default ServiceAccount; the controller-manager that
    // would make it is not running.
    const sa = await request(s, 'POST', `/api/v1/namespaces/${name}/serviceaccounts`, json({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: name } }));
    if (sa.status !== 201 && sa.status !== 409) throw new Error(`create ServiceAccount ${name}/default: ${sa.status} ${sa.body.toString().slice(0, 300)}`);
  }
}

const pad = (i: number) => String(i).padStart(6, '0');

async function nodesJob(j: Extract<SchedJob, { kind: 'nodes' }>): Promise<NodesResult> {
  const s = writeSession(j.target);
  const enc = encoder(j.wire);
  const t0 = performance.now();
  await closedLoop(j.count, j.concurrency, async (i) => {
    const name = `scheduler-perf-${pad(i)}`;
    const body = enc.body(nodeObject(name, j.zones ? j.zones[i % j.zones.length] : undefined));
    const r = await request(s, 'POST', '/api/v1/nodes', body, enc.contentType, enc.accept);
    if (r.status !== 201) throw new Error(`create node ${name}: ${r.status} ${r.body.toString().slice(0, 300)}`);
  });
  const seconds = (performance.now() - t0) / 1000;
  return { n: j.count, seconds, rate: j.count / seconds };
}

/**
 * A watch of the namespace's pods from resourceVersion rv; calls onBound(name, now) the first
 * time an event shows a pod with spec.nodeName. Resolves once the server answered the watch.
 */
function watchBindings(t: Target, namespace: string, rv: string, wire: Wire, onBound: (name: string, at: number) => void): Promise<{ close(): void }> {
  const s = openSession(t);
  const path = `/api/v1/namespaces/${namespace}/pods?watch=true&resourceVersion=${encodeURIComponent(rv)}&timeoutSeconds=3600`;
  const st: ClientHttp2Stream = s.request({
    [h2c.HTTP2_HEADER_METHOD]: 'GET',
    [h2c.HTTP2_HEADER_PATH]: path,
    accept: wire === 'protobuf' ? `${protobufWatchContentType}, ${protobufContentType}, application/json` : 'application/json',
    'user-agent': USER_AGENT,
  });
  const close = () => {
    st.close();
    s.close();
  };
  return new Promise((resolve, reject) => {
    st.on('response', (h) => {
      const status = Number(h[h2c.HTTP2_HEADER_STATUS]);
      if (status !== 200) return reject(new Error(`watch ${path}: ${status}`));
      const ct = String(h['content-type'] ?? '');
      if (ct.startsWith(protobufContentType)) {
        // length-prefixed WatchEvent frames
        let buf: Buffer = Buffer.alloc(0);
        st.on('data', (c: Buffer) => {
          const now = performance.now();
          buf = buf.length ? Buffer.concat([buf, c]) : c;
          while (buf.length >= 4) {
            const len = buf.readUInt32BE(0);
            if (buf.length < 4 + len) break;
            const ev = decodeWatchEvent(buf.subarray(0, 4 + len));
            buf = buf.subarray(4 + len);
            const o = ev.object as { metadata?: { name?: string }; spec?: { nodeName?: string } };
            if (o.spec?.nodeName && o.metadata?.name) onBound(o.metadata.name, now);
          }
        });
      } else {
        let buf = '';
        st.setEncoding('utf8');
        st.on('data', (c: string) => {
          const now = performance.now();
          buf += c;
          let nl: number;
          while ((nl = buf.indexOf('\n')) >= 0) {
            const line = buf.slice(0, nl);
            buf = buf.slice(nl + 1);
            if (!line) continue;
            const ev = JSON.parse(line) as { object?: { metadata?: { name?: string }; spec?: { nodeName?: string } } };
            const o = ev.object;
            if (o?.spec?.nodeName && o.metadata?.name) onBound(o.metadata.name, now);
          }
        });
      }
      resolve({ close });
    });
    st.on('error', reject);
  });
}

async function podsJob(j: Extract<SchedJob, { kind: 'pods' }>): Promise<PodsResult> {
  const s = writeSession(j.target);
  const enc = encoder(j.wire);
  const path = `/api/v1/namespaces/${j.namespace}/pods`;
  const names = Array.from({ length: j.count }, (_, i) => `pod-${pad(i)}`);
  const index = new Map(names.map((n, i) => [n, i]));
  // Encoded before the clock starts, as upstream's createPods builds its objects from a template.
  const bodies = names.map((n) => enc.body(podObject(j.template, j.namespace, n)));
  const sent = new Float64Array(j.count).fill(NaN);
  const answered = new Float64Array(j.count).fill(NaN);
  const bound = new Float64Array(j.count).fill(NaN);
  let boundCount = 0;
  let lastBound = 0;
  let allBound!: () => void;
  const allBoundP = new Promise<void>((r) => (allBound = r));

  // The namespace's resourceVersion now; the watch starts there, so no binding can be missed.
  const list = await request(s, 'GET', `${path}?limit=1`);
  if (list.status !== 200) throw new Error(`list ${path}: ${list.status}`);
  const rv = (JSON.parse(list.body.toString()) as { metadata: { resourceVersion: string } }).metadata.resourceVersion;
  const watch = await watchBindings(j.target, j.namespace, rv, j.wire, (name, at) => {
    const i = index.get(name);
    if (i === undefined || !Number.isNaN(bound[i]!)) return;
    bound[i] = at;
    lastBound = at;
    if (++boundCount === j.count) allBound();
  });

  let createErrors = 0;
  let firstError: string | undefined;
  const t0 = performance.now();
  const creating = closedLoop(j.count, j.concurrency, async (i) => {
    sent[i] = performance.now();
    try {
      const r = await request(s, 'POST', path, bodies[i], enc.contentType, enc.accept);
      if (r.status !== 201) throw new Error(`POST ${path}: ${r.status} ${r.body.toString().slice(0, 300)}`);
      answered[i] = performance.now();
    } catch (e) {
      createErrors++;
      firstError ??= (e as Error).message;
    }
  });
  await creating;
  const createsDone = performance.now();
  const waitBound = j.waitBound ?? true;
  const timedOut = waitBound && (await Promise.race([allBoundP.then(() => false), new Promise<boolean>((r) => setTimeout(() => r(true), j.timeoutMs).unref())]));
  watch.close();
  if (waitBound && timedOut && boundCount === 0) throw new Error(`no pod of ${j.namespace} was bound within ${j.timeoutMs} ms`);

  const lat: number[] = [];
  const clat: number[] = [];
  const perSecond: number[] = [];
  for (let i = 0; i < j.count; i++) {
    if (!Number.isNaN(bound[i]!)) {
      lat.push(bound[i]! - sent[i]!);
      const sec = Math.floor((bound[i]! - t0) / 1000);
      while (perSecond.length <= sec) perSecond.push(0);
      perSecond[sec]!++;
    }
    if (!Number.isNaN(answered[i]!)) clat.push(answered[i]! - sent[i]!);
  }
  const seconds = (lastBound - t0) / 1000;
  return {
    n: j.count,
    bound: boundCount,
    createErrors,
    firstError,
    throughput: boundCount / seconds,
    seconds,
    createSeconds: (createsDone - t0) / 1000,
    createRate: (j.count - createErrors) / ((createsDone - t0) / 1000),
    latency: { p50: quantile(lat, 0.5), p90: quantile(lat, 0.9), p99: quantile(lat, 0.99), max: lat.reduce((a, b) => Math.max(a, b), 0) },
    createLatency: { p50: quantile(clat, 0.5), p99: quantile(clat, 0.99) },
    perSecond,
    monoWindow: [toMono(t0), toMono(lastBound)],
    bodyBytes: bodies[0]!.length,
  };
}

export async function runJob(j: SchedJob): Promise<unknown> {
  switch (j.kind) {
    case 'namespaces':
      return namespacesJob(j);
    case 'nodes':
      return nodesJob(j);
    case 'pods':
      return podsJob(j);
    case 'close':
      writer?.close();
      writer = undefined;
      return {};
  }
}

if (process.send) {
  process.on('message', (m: { id: number; job: SchedJob }) => {
    runJob(m.job).then(
      (result) => process.send!({ id: m.id, result }),
      (e: Error) => process.send!({ id: m.id, error: e?.stack ?? String(e) }),
    );
  });
  process.on('disconnect', () => process.exit(0));
}
