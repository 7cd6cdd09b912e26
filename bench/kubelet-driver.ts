// The client side of bench/kubelet.ts, run by it inside the server's network namespace (the only
// place the API is reachable; DESIGN.md §8): creates pods over HTTPS with the admin kubeconfig and
// times them through one pod watch, then prints one JSON result on stdout. Not meant to be run by
// hand.
//
//   node bench/kubelet-driver.ts KUBECONFIG startup   '{"runs":5,"pods":30}'
//   node bench/kubelet-driver.ts KUBECONFIG hold      '{"count":10,"prefix":"rss"}'
//   node bench/kubelet-driver.ts KUBECONFIG fill      '{"nodes":["hollow-node-0",…],"perNode":30,"concurrency":64}'
//   node bench/kubelet-driver.ts KUBECONFIG clear     '{}'
//
// Times are performance.now() in this process. A pod's timeline: `sent` (just before its POST),
// `created` (the POST answered), then the first watch event showing it `bound` (spec.nodeName set),
// `seen` by its kubelet (the first status the kubelet wrote: hostIP set) and `running`
// (status.phase Running — every container started).
import { Client } from '../src/client/client.ts';
import { httpsTransportFromKubeconfig } from '../src/client/https.ts';
import type { KObject, WatchEvent } from '../src/api/meta.ts';

const NS = 'bench';
const [kubeconfig, command, argJson] = process.argv.slice(2);
const args = JSON.parse(argJson ?? '{}') as Record<string, unknown>;

interface BenchPod extends KObject {
  spec: { nodeName?: string; terminationGracePeriodSeconds?: number; containers: unknown[] };
  status?: { phase?: string; hostIP?: string };
}

interface Timeline {
  name: string;
  uid?: string;
  sent: number;
  created?: number;
  bound?: number;
  seen?: number;
  running?: number;
  deleted?: number;
}

const { transport } = httpsTransportFromKubeconfig(kubeconfig!, { userAgent: 'rudder-bench-kubelet' });
const client = new Client(transport);
const pods = client.resource<BenchPod>('', 'pods').namespace(NS);

/** The bench's pod: busybox sleeping, the image already present (IfNotPresent), a 1 s grace period. */
function podManifest(name: string, o: { nodeName?: string; label: string }): BenchPod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, namespace: NS, labels: { bench: o.label } },
    spec: {
      ...(o.nodeName ? { nodeName: o.nodeName } : {}),
      terminationGracePeriodSeconds: 1,
      containers: [{ name: 'c', image: 'docker.io/library/busybox:1.36', imagePullPolicy: 'IfNotPresent', command: ['sleep', '3600'] }],
    },
  };
}

/** Tracks every pod of the namespace through one watch. */
class Tracker {
  readonly timelines = new Map<string, Timeline>();
  #waiters: { pred: () => boolean; resolve: () => void }[] = [];
  #handle?: { close(): void };

  async start(): Promise<void> {
    const list = await pods.list();
    await new Promise<void>((resolve, reject) => {
      let opened = false;
      this.#handle = pods.watch(
        { resourceVersion: list.metadata.resourceVersion, allowWatchBookmarks: true },
        {
          onEvent: (ev) => {
            if (!opened) {
              opened = true;
              resolve();
            }
            this.#event(ev as WatchEvent<BenchPod>);
          },
          onClose: (err) => reject(err ?? new Error('the pod watch closed')),
        },
      );
      // A watch with nothing to say yet sends no event: consider it open after a short moment.
      setTimeout(() => {
        opened = true;
        resolve();
      }, 300);
    });
  }

  #event(ev: WatchEvent<BenchPod>): void {
    const now = performance.now();
    if (ev.type === 'BOOKMARK' || ev.type === 'ERROR') return;
    const p = ev.object;
    const t = this.timelines.get(p.metadata.name ?? '');
    if (!t) return;
    t.uid ??= p.metadata.uid;
    if (ev.type === 'DELETED') t.deleted ??= now;
    else {
      if (p.spec.nodeName) t.bound ??= now;
      if (p.status?.hostIP) t.seen ??= now;
      if (p.status?.phase === 'Running') t.running ??= now;
    }
    this.#waiters = this.#waiters.filter((w) => {
      if (!w.pred()) return true;
      w.resolve();
      return false;
    });
  }

  until(pred: () => boolean, timeoutMs: number, what: string): Promise<void> {
    if (pred()) return Promise.resolve();
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => reject(new Error(`${what}: not within ${timeoutMs} ms`)), timeoutMs);
      this.#waiters.push({ pred, resolve: () => (clearTimeout(t), resolve()) });
    });
  }

  stop(): void {
    this.#handle?.close();
  }
}

async function ensureNamespace(): Promise<void> {
  await client
    .resource('', 'namespaces')
    .create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name: NS } } as KObject)
    .catch((e: { code?: number }) => {
      if (e.code !== 409) throw e;
    });
  // Pods need the namespace's default ServiceAccount (made by its controller shortly after).
  for (let i = 0; i < 100; i++) {
    try {
      await client.resource('', 'serviceaccounts').namespace(NS).get('default');
      return;
    } catch {
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error('no default ServiceAccount in the bench namespace');
}

/** Creates pods at a bounded concurrency, each timed from just before its POST. */
async function createPods(tr: Tracker, manifests: BenchPod[], concurrency: number): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < manifests.length) {
      const m = manifests[next++]!;
      const t: Timeline = { name: m.metadata.name!, sent: performance.now() };
      tr.timelines.set(t.name, t);
      await pods.create(m);
      t.created = performance.now();
    }
  };
  await Promise.all(Array.from({ length: Math.min(concurrency, manifests.length) }, worker));
}

async function deleteAndWait(tr: Tracker, names: string[], timeoutMs: number): Promise<void> {
  await Promise.all(names.map((n) => pods.delete(n).catch(() => undefined)));
  await tr.until(() => names.every((n) => tr.timelines.get(n)?.deleted !== undefined), timeoutMs, `${names.length} pods deleted`);
}

const allRunning = (tr: Tracker, names: string[]) => () => names.every((n) => tr.timelines.get(n)?.running !== undefined);

async function startup(): Promise<unknown> {
  const runs = Number(args.runs ?? 5);
  const burst = Number(args.pods ?? 30);
  const tr = new Tracker();
  await tr.start();
  let seq = 0;
  const batch = async (n: number, label: string) => {
    const names = Array.from({ length: n }, () => `${label}-${seq++}`);
    const t0 = performance.now();
    await createPods(tr, names.map((name) => podManifest(name, { label })), n);
    await tr.until(allRunning(tr, names), 300_000, `${n} pods Running`);
    const lines = names.map((x) => tr.timelines.get(x)!);
    await deleteAndWait(tr, names, 300_000);
    return { t0, lines };
  };
  await batch(1, 'warm'); // the first pod of a namespace (token, CA configMap caches, JIT)
  const single = [];
  for (let i = 0; i < runs; i++) single.push(await batch(1, 'single'));
  const bursts = [];
  for (let i = 0; i < runs; i++) bursts.push(await batch(burst, 'burst'));
  tr.stop();
  // The kubelet's trace (--pod-startup-trace) stamps stages in ms since the epoch: this process's
  // times convert with its time origin.
  return { single, bursts, timeOrigin: performance.timeOrigin };
}

async function hold(): Promise<unknown> {
  const count = Number(args.count ?? 10);
  const prefix = String(args.prefix ?? 'hold');
  const tr = new Tracker();
  await tr.start();
  const names = Array.from({ length: count }, (_, i) => `${prefix}-${i}`);
  const t0 = performance.now();
  await createPods(tr, names.map((n) => podManifest(n, { label: prefix })), count);
  await tr.until(allRunning(tr, names), 300_000, `${count} pods Running`);
  tr.stop();
  return { ms: performance.now() - t0 };
}

async function fill(): Promise<unknown> {
  const nodes = args.nodes as string[];
  const perNode = Number(args.perNode ?? 30);
  const concurrency = Number(args.concurrency ?? 64);
  const tr = new Tracker();
  await tr.start();
  const manifests: BenchPod[] = [];
  // A prefix keeps the names of successive fills (steps of one run) apart.
  const tag = args.prefix ? `${String(args.prefix)}-` : '';
  for (let i = 0; i < perNode; i++) for (const n of nodes) manifests.push(podManifest(`${n}-${tag}p${i}`, { nodeName: n, label: 'fill' }));
  const names = manifests.map((m) => m.metadata.name!);
  const t0 = performance.now();
  await createPods(tr, manifests, concurrency);
  const createdMs = performance.now() - t0;
  await tr.until(allRunning(tr, names), 1_800_000, `${names.length} pods Running`);
  tr.stop();
  const lat = names.map((n) => tr.timelines.get(n)!).map((t) => t.running! - t.sent);
  lat.sort((a, b) => a - b);
  return { pods: names.length, createdMs, allRunningMs: performance.now() - t0, p50: lat[Math.floor(lat.length / 2)], p99: lat[Math.floor(lat.length * 0.99)] };
}

async function clear(): Promise<unknown> {
  const t0 = performance.now();
  await pods.deleteCollection({}, { gracePeriodSeconds: 0 }).catch(() => undefined);
  for (;;) {
    const left = (await pods.list({ limit: 1 })).items.length;
    if (!left) break;
    await new Promise((r) => setTimeout(r, 500));
  }
  return { ms: performance.now() - t0 };
}

await ensureNamespace();
const f = { startup, hold, fill, clear }[command as 'startup'];
if (!f) throw new Error(`unknown command ${command}`);
const result = await f();
// The HTTP/2 session's close may wait on the server: the result is all this process owes.
process.stdout.write(JSON.stringify(result) + '\n', () => process.exit(0));
