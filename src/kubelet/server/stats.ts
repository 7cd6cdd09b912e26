// GET /stats/summary: upstream's stats/v1alpha1 Summary, built from the runtime's CRI stats (CPU,
// memory, writable layer per container, grouped into pods by the kubelet's labels) and the
// machine's own counters for the node. Rates (usageNanoCores) need two samples: the first summary
// of a process reports the node's since boot; containers' come from the runtime.
import { readFileSync, statfsSync } from 'node:fs';
import { POD_NAME_LABEL, POD_NAMESPACE_LABEL, POD_UID_LABEL, CONTAINER_NAME_LABEL } from '../labels.ts';
import { nanosToDate, type ContainerStats, type Runtime } from '../runtime/runtime.ts';

const rfc3339 = (d: Date) => d.toISOString().replace(/\.\d{3}Z$/, 'Z');

function num(v: { value: string } | null | undefined): number | undefined {
  return v ? Number(v.value) : undefined;
}

interface CpuSample {
  at: number;
  usageNanoSeconds: number;
}

let lastNodeCpu: CpuSample | undefined;

/** Total CPU time of the machine (all cores, non-idle) in nanoseconds, from /proc/stat. */
function nodeCpuNanos(): number {
  const line = readFileSync('/proc/stat', 'utf8').split('\n')[0]!;
  const f = line.trim().split(/\s+/).slice(1).map(Number);
  // user nice system idle iowait irq softirq steal …; busy = all but idle and iowait.
  const busyTicks = f.reduce((a, b) => a + b, 0) - (f[3] ?? 0) - (f[4] ?? 0);
  return (busyTicks / 100) * 1e9; // USER_HZ is 100 on Linux
}

function meminfo(): Record<string, number> {
  const out: Record<string, number> = {};
  for (const l of readFileSync('/proc/meminfo', 'utf8').split('\n')) {
    const m = /^(\S+):\s+(\d+)\s*kB/.exec(l);
    if (m) out[m[1]!] = Number(m[2]) * 1024;
  }
  return out;
}

function bootTime(): Date {
  const m = /^btime (\d+)$/m.exec(readFileSync('/proc/stat', 'utf8'));
  return new Date(m ? Number(m[1]) * 1000 : Date.now());
}

function fsStats(path: string, time: string): Record<string, unknown> | undefined {
  try {
    const s = statfsSync(path);
    const cap = s.blocks * s.bsize;
    const avail = s.bavail * s.bsize;
    return { time, availableBytes: avail, capacityBytes: cap, usedBytes: cap - s.bfree * s.bsize, inodesFree: s.ffree, inodes: s.files, inodesUsed: s.files - s.ffree };
  } catch {
    return undefined;
  }
}

export interface SummaryOptions {
  nodeName: string;
  runtime: Runtime;
  /** The kubelet's root directory (its filesystem is the node's "fs"). */
  rootDir?: string;
  now?: () => Date;
}

/** Upstream's Summary (node and pods) as JSON. */
export async function statsSummary(o: SummaryOptions): Promise<Record<string, unknown>> {
  const now = (o.now ?? (() => new Date()))();
  const time = rfc3339(now);
  const cpuNow = nodeCpuNanos();
  const prev = lastNodeCpu;
  lastNodeCpu = { at: now.getTime(), usageNanoSeconds: cpuNow };
  const elapsedNs = prev ? (now.getTime() - prev.at) * 1e6 : 0;
  const mem = meminfo();
  const total = mem.MemTotal ?? 0;
  const available = mem.MemAvailable ?? 0;
  const usage = total - (mem.MemFree ?? 0);
  const workingSet = total - available;
  const node: Record<string, unknown> = {
    nodeName: o.nodeName,
    startTime: rfc3339(bootTime()),
    cpu: { time, usageNanoCores: elapsedNs > 0 ? Math.round(((cpuNow - prev!.usageNanoSeconds) / elapsedNs) * 1e9) : 0, usageCoreNanoSeconds: Math.round(cpuNow) },
    memory: { time, availableBytes: available, usageBytes: usage, workingSetBytes: workingSet, rssBytes: (mem.AnonPages ?? 0), pageFaults: 0, majorPageFaults: 0 },
    fs: fsStats(o.rootDir ?? '/', time),
  };
  try {
    const images = await o.runtime.imageFsInfo();
    const used = images.reduce((a, u) => a + (num(u.used_bytes) ?? 0), 0);
    const mount = images[0]?.fs_id?.mountpoint;
    node.runtime = { imageFs: { ...(mount ? fsStats(mount, time) : {}), time, usedBytes: used } };
  } catch {
    // a runtime without image filesystem stats: the summary omits them
  }

  const [sandboxes, containers, stats] = await Promise.all([
    o.runtime.listPodSandboxes({ state: { state: 'SANDBOX_READY' } }),
    o.runtime.listContainers(),
    o.runtime.listContainerStats().catch(() => [] as ContainerStats[]),
  ]);
  const statsById = new Map(stats.map((s) => [s.attributes?.id ?? '', s]));
  const pods = [];
  for (const sb of sandboxes) {
    const uid = sb.labels[POD_UID_LABEL] ?? sb.metadata?.uid ?? '';
    const cs = [];
    let cpuNano = 0;
    let cpuCore = 0;
    let memWs = 0;
    let memUsage = 0;
    for (const c of containers) {
      if (c.pod_sandbox_id !== sb.id || c.state !== 'CONTAINER_RUNNING') continue;
      const s = statsById.get(c.id);
      const cpu = { time, usageNanoCores: num(s?.cpu?.usage_nano_cores) ?? 0, usageCoreNanoSeconds: num(s?.cpu?.usage_core_nano_seconds) ?? 0 };
      const memory = {
        time,
        usageBytes: num(s?.memory?.usage_bytes) ?? 0,
        workingSetBytes: num(s?.memory?.working_set_bytes) ?? 0,
        rssBytes: num(s?.memory?.rss_bytes) ?? 0,
        pageFaults: num(s?.memory?.page_faults) ?? 0,
        majorPageFaults: num(s?.memory?.major_page_faults) ?? 0,
      };
      cpuNano += cpu.usageNanoCores;
      cpuCore += cpu.usageCoreNanoSeconds;
      memWs += memory.workingSetBytes;
      memUsage += memory.usageBytes;
      cs.push({
        name: c.labels[CONTAINER_NAME_LABEL] ?? c.metadata?.name ?? '',
        startTime: rfc3339(nanosToDate(c.created_at)),
        cpu,
        memory,
        rootfs: { time, usedBytes: num(s?.writable_layer?.used_bytes) ?? 0, inodesUsed: num(s?.writable_layer?.inodes_used) ?? 0 },
      });
    }
    pods.push({
      podRef: { name: sb.labels[POD_NAME_LABEL] ?? sb.metadata?.name ?? '', namespace: sb.labels[POD_NAMESPACE_LABEL] ?? sb.metadata?.namespace ?? '', uid },
      startTime: rfc3339(nanosToDate(sb.created_at)),
      containers: cs,
      cpu: { time, usageNanoCores: cpuNano, usageCoreNanoSeconds: cpuCore },
      memory: { time, usageBytes: memUsage, workingSetBytes: memWs },
    });
  }
  return { node, pods };
}

/** GET /runningpods/: the pods the runtime runs (not the desired ones), as a v1 PodList. */
export async function runningPods(runtime: Runtime): Promise<Record<string, unknown>> {
  const [sandboxes, containers] = await Promise.all([runtime.listPodSandboxes({ state: { state: 'SANDBOX_READY' } }), runtime.listContainers({ state: { state: 'CONTAINER_RUNNING' } })]);
  return {
    kind: 'PodList',
    apiVersion: 'v1',
    metadata: {},
    items: sandboxes.map((sb) => ({
      metadata: {
        name: sb.labels[POD_NAME_LABEL] ?? sb.metadata?.name ?? '',
        namespace: sb.labels[POD_NAMESPACE_LABEL] ?? sb.metadata?.namespace ?? '',
        uid: sb.labels[POD_UID_LABEL] ?? sb.metadata?.uid ?? '',
        creationTimestamp: null,
      },
      spec: {
        containers: containers
          .filter((c) => c.pod_sandbox_id === sb.id)
          .map((c) => ({ name: c.labels[CONTAINER_NAME_LABEL] ?? c.metadata?.name ?? '', image: c.image?.image ?? '', resources: {} })),
      },
      status: {},
    })),
  };
}
