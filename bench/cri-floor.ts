// The raw CRI floor that rudder's pod start-up latency is measured against (issue 5, item 9):
// RunPodSandbox + CreateContainer + StartContainer straight to containerd over CRI, for one pod at a
// time and for 30 pods at once, with the test busybox image already imported. Not a test: it prints
// figures and writes JSON.
//
//   node bench/cri-floor.ts [--runs 5] [--pods 30] [--out FILE]
//
// Method: containerd 1.6 from Debian, its own config (see src/kubelet/runtime/containerd.ts), started
// in a fresh network namespace with a CNI bridge (the test node of src/kubelet/runtime/testenv.ts);
// each pod is a sandbox with one `sleep 3600` busybox container, cgroup parent /<unique>/pod<uid>,
// pid namespace per container. One warm-up pod first. "Single" repeats one pod `runs` times (each torn
// down before the next); "burst" starts `pods` pods concurrently, `runs` times, and reports each pod's
// latency (from the common start to its StartContainer returning) and the burst's wall time. Teardown
// (StopPodSandbox + RemovePodSandbox) is measured too but outside the start figures. Root only.
import { randomBytes } from 'node:crypto';
import { cpus, totalmem } from 'node:os';
import { join } from 'node:path';
import { writeFileSync, mkdirSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CriRuntime } from '../src/kubelet/runtime/cri-runtime.ts';
import { containerLogPath, podLogDirectory, type PodSandboxConfig } from '../src/kubelet/runtime/runtime.ts';
import { startTestNode, TEST_IMAGES } from '../src/kubelet/runtime/testenv.ts';
import { fmt, median, quantile } from './stats.ts';

const { values } = parseArgs({
  options: { runs: { type: 'string', default: '5' }, pods: { type: 'string', default: '30' }, out: { type: 'string' } },
});
const runs = Number(values.runs);
const burst = Number(values.pods);

const node = await startTestNode({ podCidr: '10.244.0.0/22' });
const rt = new CriRuntime(node.endpoint);
let stopping = false;
const stop = async (): Promise<void> => {
  if (stopping) return;
  stopping = true;
  await rt.close();
  await node.cleanup();
};
process.once('SIGINT', () => void stop().then(() => process.exit(130)));

interface PodTiming { sandbox: number; create: number; start: number; total: number; id: string }
/** A burst pod's stage durations (ms) and its total from the burst's common start (bench/kubelet.ts compares stages). */
type PodStages = Omit<PodTiming, 'id'>;

async function startPod(t0: number): Promise<PodTiming> {
  const uid = randomBytes(8).toString('hex');
  const name = `floor-${uid.slice(0, 6)}`;
  const sc: PodSandboxConfig = {
    metadata: { name, uid, namespace: 'bench', attempt: 0 },
    hostname: name,
    log_directory: podLogDirectory(join(node.dir, 'pods'), 'bench', name, uid),
    linux: { cgroup_parent: `${node.cgroupRoot}/pod${uid}`, security_context: { namespace_options: { network: 'POD', pid: 'CONTAINER', ipc: 'POD' } } },
  };
  const a = performance.now();
  const id = await rt.runPodSandbox(sc);
  const b = performance.now();
  const cid = await rt.createContainer(id, { metadata: { name: 'c' }, image: { image: TEST_IMAGES.busybox }, command: ['sleep', '3600'], log_path: containerLogPath('c', 0) }, sc);
  const c = performance.now();
  await rt.startContainer(cid);
  const d = performance.now();
  return { sandbox: b - a, create: c - b, start: d - c, total: d - t0, id };
}

async function teardown(ids: string[]): Promise<number> {
  const t = performance.now();
  await Promise.all(ids.map(async (id) => {
    await rt.stopPodSandbox(id);
    await rt.removePodSandbox(id);
  }));
  return performance.now() - t;
}

try {
  await teardown([(await startPod(performance.now())).id]); // warm-up

  const single: PodTiming[] = [];
  const singleTeardown: number[] = [];
  for (let i = 0; i < runs; i++) {
    const p = await startPod(performance.now());
    single.push(p);
    singleTeardown.push(await teardown([p.id]));
  }

  const burstPods: number[] = [];
  const burstStages: PodStages[] = [];
  const burstWall: number[] = [];
  const burstTeardown: number[] = [];
  for (let i = 0; i < runs; i++) {
    const t0 = performance.now();
    const pods = await Promise.all(Array.from({ length: burst }, () => startPod(t0)));
    burstWall.push(performance.now() - t0);
    burstPods.push(...pods.map((p) => p.total));
    burstStages.push(...pods.map(({ id: _id, ...st }) => st));
    burstTeardown.push(await teardown(pods.map((p) => p.id)));
  }

  const result = {
    when: new Date().toISOString(),
    machine: { cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: Math.round(totalmem() / 2 ** 30) },
    runtime: await rt.version(),
    runs,
    single: {
      sandboxMs: median(single.map((p) => p.sandbox)),
      createMs: median(single.map((p) => p.create)),
      startMs: median(single.map((p) => p.start)),
      totalP50Ms: median(single.map((p) => p.total)),
      totalMinMs: Math.min(...single.map((p) => p.total)),
      teardownP50Ms: median(singleTeardown),
    },
    burst: {
      pods: burst,
      perPodP50Ms: quantile(burstPods, 0.5),
      perPodP99Ms: quantile(burstPods, 0.99),
      wallP50Ms: median(burstWall),
      teardownP50Ms: median(burstTeardown),
      stages: burstStages,
    },
  };
  console.log(`CRI floor (containerd ${result.runtime.runtime_version}, ${runs} runs)`);
  console.log(`  1 pod:   p50 ${fmt(result.single.totalP50Ms)} ms (sandbox ${fmt(result.single.sandboxMs)}, create ${fmt(result.single.createMs)}, start ${fmt(result.single.startMs)}; min ${fmt(result.single.totalMinMs)}), teardown ${fmt(result.single.teardownP50Ms)} ms`);
  console.log(`  ${burst} pods: per-pod p50 ${fmt(result.burst.perPodP50Ms)} ms, p99 ${fmt(result.burst.perPodP99Ms)} ms, wall ${fmt(result.burst.wallP50Ms)} ms, teardown ${fmt(result.burst.teardownP50Ms)} ms`);
  const out = values.out ?? join('bench', 'results', `cri-floor-${result.when.slice(0, 19).replace(/[:T]/g, '-')}.json`);
  mkdirSync(join(out, '..'), { recursive: true });
  writeFileSync(out, JSON.stringify(result, null, 2) + '\n');
  console.log(`  written to ${out}`);
} finally {
  await stop();
}
