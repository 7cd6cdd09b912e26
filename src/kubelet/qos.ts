// Quality of service and what it means for cgroups, as upstream's kubelet computes them: the QoS
// class (pkg/apis/core/v1/helper/qos), the pod's cgroup parent under the cgroupfs driver, a
// container's CPU shares / CFS quota / memory limit, and its OOM score adjustment (pkg/kubelet/qos).
// All pure.
import { parseQuantity, quantityMilliValue, quantityValue } from '../api/quantity.ts';
import type { Container, Pod, ResourceList } from './api-types.ts';
import type { LinuxContainerResources } from './runtime/runtime.ts';

export type QosClass = 'Guaranteed' | 'Burstable' | 'BestEffort';

/** A quantity's value in thousandths (0 for absent or unparsable). */
export function milliValue(v: string | number | undefined): bigint {
  if (v === undefined || v === null) return 0n;
  try {
    return quantityMilliValue(parseQuantity(String(v)));
  } catch {
    return 0n;
  }
}

/** A quantity's value in whole units, rounded up (0 for absent or unparsable). */
export function unitValue(v: string | number | undefined): bigint {
  if (v === undefined || v === null) return 0n;
  try {
    return quantityValue(parseQuantity(String(v)));
  } catch {
    return 0n;
  }
}

const QOS_RESOURCES = ['cpu', 'memory'];

/** The pod's QoS class: the one the API server recorded, or computed as upstream's GetPodQOS. */
export function podQosClass(pod: Pod): QosClass {
  const recorded = pod.status?.qosClass;
  if (recorded) return recorded;
  return computeQosClass(pod);
}

export function computeQosClass(pod: Pod): QosClass {
  const requests = new Map<string, bigint>();
  const limits = new Map<string, bigint>();
  let guaranteed = true;
  for (const c of [...(pod.spec.containers ?? []), ...(pod.spec.initContainers ?? [])]) {
    for (const [name, q] of Object.entries(c.resources?.requests ?? {})) {
      if (!QOS_RESOURCES.includes(name)) continue;
      const v = milliValue(q);
      if (v > 0n) requests.set(name, (requests.get(name) ?? 0n) + v);
    }
    const found = new Set<string>();
    for (const [name, q] of Object.entries(c.resources?.limits ?? {})) {
      if (!QOS_RESOURCES.includes(name)) continue;
      const v = milliValue(q);
      if (v > 0n) {
        found.add(name);
        limits.set(name, (limits.get(name) ?? 0n) + v);
      }
    }
    if (!found.has('cpu') || !found.has('memory')) guaranteed = false;
  }
  if (requests.size === 0 && limits.size === 0) return 'BestEffort';
  if (guaranteed) {
    for (const [name, req] of requests) {
      if (limits.get(name) !== req) {
        guaranteed = false;
        break;
      }
    }
  }
  return guaranteed && requests.size === limits.size ? 'Guaranteed' : 'Burstable';
}

/**
 * The pod's cgroup under the cgroupfs driver: <root>/kubepods/pod<uid> for Guaranteed pods,
 * <root>/kubepods/<burstable|besteffort>/pod<uid> otherwise (upstream's --cgroup-root, "/" by default).
 */
export function podCgroupParent(cgroupRoot: string, qos: QosClass, uid: string): string {
  const root = cgroupRoot.replace(/\/+$/, '');
  const tier = qos === 'Guaranteed' ? '' : `/${qos.toLowerCase()}`;
  return `${root}/kubepods${tier}/pod${uid}`;
}

const MIN_SHARES = 2n;
const MAX_SHARES = 262144n;
const SHARES_PER_CPU = 1024n;
const MILLI_PER_CPU = 1000n;
export const QUOTA_PERIOD = 100_000n;
const MIN_QUOTA = 1000n;

/** upstream's MilliCPUToShares. */
export function milliCpuToShares(milliCpu: bigint): bigint {
  if (milliCpu === 0n) return MIN_SHARES;
  const shares = (milliCpu * SHARES_PER_CPU) / MILLI_PER_CPU;
  if (shares < MIN_SHARES) return MIN_SHARES;
  if (shares > MAX_SHARES) return MAX_SHARES;
  return shares;
}

/** upstream's milliCPUToQuota: 0 (no quota) without a limit, at least 1 ms per period otherwise. */
export function milliCpuToQuota(milliCpu: bigint, period: bigint = QUOTA_PERIOD): bigint {
  if (milliCpu === 0n) return 0n;
  const quota = (milliCpu * period) / MILLI_PER_CPU;
  return quota < MIN_QUOTA ? MIN_QUOTA : quota;
}

const GUARANTEED_OOM_SCORE_ADJ = -997;
const BESTEFFORT_OOM_SCORE_ADJ = 1000;
const CRITICAL_PRIORITY = 2_000_000_000;

/** upstream's GetContainerOOMScoreAdjust (pkg/kubelet/qos/policy.go). */
export function containerOomScoreAdj(pod: Pod, container: Container, memoryCapacity: bigint): number {
  if ((pod.spec.priority ?? 0) >= CRITICAL_PRIORITY) return GUARANTEED_OOM_SCORE_ADJ;
  const qos = podQosClass(pod);
  if (qos === 'Guaranteed') return GUARANTEED_OOM_SCORE_ADJ;
  if (qos === 'BestEffort') return BESTEFFORT_OOM_SCORE_ADJ;
  const memoryRequest = unitValue(container.resources?.requests?.memory);
  if (memoryCapacity <= 0n) return BESTEFFORT_OOM_SCORE_ADJ - 1;
  const adj = 1000n - (1000n * memoryRequest) / memoryCapacity;
  if (adj < BigInt(1000 + GUARANTEED_OOM_SCORE_ADJ)) return 1000 + GUARANTEED_OOM_SCORE_ADJ;
  if (adj === BigInt(BESTEFFORT_OOM_SCORE_ADJ)) return BESTEFFORT_OOM_SCORE_ADJ - 1;
  return Number(adj);
}

/**
 * A container's CRI linux resources, as upstream's calculateLinuxResources: shares from the CPU
 * request (the limit when only a limit is given), a CFS quota from the CPU limit over a 100 ms
 * period, the memory limit, and (cgroup v1, swap off) a swap limit equal to the memory limit so a
 * container cannot use swap to outlive its limit.
 */
export function containerLinuxResources(pod: Pod, container: Container, memoryCapacity: bigint): LinuxContainerResources {
  const req: ResourceList = container.resources?.requests ?? {};
  const lim: ResourceList = container.resources?.limits ?? {};
  const cpuRequest = milliValue(req.cpu);
  const cpuLimit = milliValue(lim.cpu);
  const memLimit = unitValue(lim.memory);
  const out: LinuxContainerResources = {
    cpu_shares: String(milliCpuToShares(cpuRequest === 0n && cpuLimit !== 0n ? cpuLimit : cpuRequest)),
    cpu_period: String(QUOTA_PERIOD),
    cpu_quota: String(milliCpuToQuota(cpuLimit)),
    oom_score_adj: containerOomScoreAdj(pod, container, memoryCapacity),
  };
  if (memLimit !== 0n) {
    out.memory_limit_in_bytes = String(memLimit);
    out.memory_swap_limit_in_bytes = String(memLimit);
  }
  return out;
}
