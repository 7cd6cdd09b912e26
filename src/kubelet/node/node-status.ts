// The Node object the kubelet registers and the status it keeps current, pure (upstream's
// kubelet_node_status.go initialNode and pkg/kubelet/nodestatus setters): labels, capacity and
// allocatable (capacity minus reservations and the hard eviction thresholds), addresses, nodeInfo,
// images, and the Ready / MemoryPressure / DiskPressure / PIDPressure conditions with their
// transition times — plus the rule for when a status is worth sending.
import { rfc3339 } from '../../api/meta.ts';
import { canonicalString, quantityFromInt, quantityFromMilli } from '../../api/quantity.ts';
import type { ContainerImage, Node, NodeCondition, NodeStatus, ResourceList, Taint } from '../api-types.ts';
import type { Image, RuntimeCondition } from '../runtime/runtime.ts';
import type { MachineInfo, MachineUsage } from './machine.ts';

export const KUBELET_VERSION = 'v1.33.0';
export const MAX_NODE_IMAGES = 50;

export interface NodeSettings {
  nodeName: string;
  hostname: string;
  nodeIPs: string[];
  kubeletPort: number;
  maxPods: number;
  labels: Record<string, string>;
  taints: Taint[];
  /** Reserved for the system and the kubelet (subtracted from allocatable). */
  reserved: { cpuMilli: bigint; memoryBytes: bigint; ephemeralStorageBytes: bigint };
  eviction: EvictionThresholds;
}

/** Hard eviction thresholds (upstream's defaults: memory.available<100Mi, nodefs.available<10%, nodefs.inodesFree<5%). */
export interface EvictionThresholds {
  memoryAvailableBytes: bigint;
  nodefsAvailablePercent: number;
  nodefsInodesFreePercent: number;
  /** pid.available below this fraction of pid_max means PID pressure (0: never, upstream's default). */
  pidAvailablePercent: number;
}

export const DEFAULT_EVICTION: EvictionThresholds = {
  memoryAvailableBytes: 100n * 1024n * 1024n,
  nodefsAvailablePercent: 10,
  nodefsInodesFreePercent: 5,
  pidAvailablePercent: 0,
};

const pct = (total: bigint, percent: number): bigint => (total * BigInt(Math.round(percent * 100))) / 10000n;

function milliString(m: bigint): string {
  return canonicalString(quantityFromMilli(m, 'DecimalSI'));
}

/** Bytes as upstream's resource.NewQuantity(n, BinarySI) serializes them (8Gi, 8141136Ki, …). */
function binaryString(bytes: bigint): string {
  return canonicalString(quantityFromInt(bytes, 'BinarySI'));
}

function decimalString(n: bigint): string {
  return canonicalString(quantityFromInt(n, 'DecimalSI'));
}

export function nodeCapacity(m: MachineInfo, s: NodeSettings): ResourceList {
  return {
    cpu: String(m.cpus),
    'ephemeral-storage': binaryString(m.ephemeralStorageBytes),
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
    memory: binaryString(m.memoryBytes),
    pods: String(s.maxPods),
  };
}

/** upstream's allocatable: capacity minus reservations minus the hard eviction thresholds. */
export function nodeAllocatable(m: MachineInfo, s: NodeSettings): ResourceList {
  const clamp = (v: bigint) => (v < 0n ? 0n : v);
  const cpu = clamp(BigInt(m.cpus) * 1000n - s.reserved.cpuMilli);
  const mem = clamp(m.memoryBytes - s.reserved.memoryBytes - s.eviction.memoryAvailableBytes);
  const eph = clamp(m.ephemeralStorageBytes - s.reserved.ephemeralStorageBytes - pct(m.ephemeralStorageBytes, s.eviction.nodefsAvailablePercent));
  return {
    cpu: milliString(cpu),
    'ephemeral-storage': decimalString(eph),
    'hugepages-1Gi': '0',
    'hugepages-2Mi': '0',
    memory: binaryString(mem),
    pods: String(s.maxPods),
  };
}

/** The default labels (upstream's initialNode): hostname, os and arch, stable and beta. */
export function nodeLabels(m: MachineInfo, s: NodeSettings): Record<string, string> {
  return {
    'beta.kubernetes.io/arch': m.architecture,
    'beta.kubernetes.io/os': m.operatingSystem,
    'kubernetes.io/arch': m.architecture,
    'kubernetes.io/hostname': s.hostname,
    'kubernetes.io/os': m.operatingSystem,
    ...s.labels,
  };
}

/** The Node to register (upstream's initialNode + setNodeStatus). */
export function initialNode(m: MachineInfo, s: NodeSettings, status: NodeStatus): Node {
  const node: Node = {
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name: s.nodeName, labels: nodeLabels(m, s), annotations: { 'volumes.kubernetes.io/controller-managed-attach-detach': 'true' } },
    spec: {},
    status,
  };
  if (s.taints.length) node.spec!.taints = s.taints.map((t) => ({ ...t }));
  return node;
}

export interface StatusInputs {
  machine: MachineInfo;
  usage?: MachineUsage;
  settings: NodeSettings;
  runtimeConditions: RuntimeCondition[] | Error;
  runtimeVersion: { runtime_name: string; runtime_version: string } | undefined;
  images: Image[];
  previous?: NodeStatus;
  now: number;
}

export interface ConditionChange {
  type: string;
  /** upstream's event reason for the new state (NodeReady, NodeHasSufficientMemory, …). */
  event: string;
}

function runtimeErrors(conds: RuntimeCondition[] | Error): string[] {
  if (conds instanceof Error) return [`container runtime is down: ${conds.message}`];
  const errs: string[] = [];
  const fmt = (c: RuntimeCondition) => `${c.type}=${c.status} reason:${c.reason} message:${c.message}`;
  const rt = conds.find((c) => c.type === 'RuntimeReady');
  if (!rt) errs.push('container runtime status check may not have completed yet');
  else if (!rt.status) errs.push(`container runtime not ready: ${fmt(rt)}`);
  const net = conds.find((c) => c.type === 'NetworkReady');
  if (!net) errs.push('container runtime network not ready: NetworkReady=false reason: message:');
  else if (!net.status) errs.push(`container runtime network not ready: ${fmt(net)}`);
  return errs;
}

const PRESSURE = {
  MemoryPressure: {
    yes: ['KubeletHasInsufficientMemory', 'kubelet has insufficient memory available', 'NodeHasInsufficientMemory'],
    no: ['KubeletHasSufficientMemory', 'kubelet has sufficient memory available', 'NodeHasSufficientMemory'],
  },
  DiskPressure: {
    yes: ['KubeletHasDiskPressure', 'kubelet has disk pressure', 'NodeHasDiskPressure'],
    no: ['KubeletHasNoDiskPressure', 'kubelet has no disk pressure', 'NodeHasNoDiskPressure'],
  },
  PIDPressure: {
    yes: ['KubeletHasInsufficientPID', 'kubelet has insufficient PID available', 'NodeHasInsufficientPID'],
    no: ['KubeletHasSufficientPID', 'kubelet has sufficient PID available', 'NodeHasSufficientPID'],
  },
} as const;

/** Which pressures the machine is under, by the hard eviction thresholds. */
export function pressures(u: MachineUsage | undefined, e: EvictionThresholds): { MemoryPressure: boolean; DiskPressure: boolean; PIDPressure: boolean } {
  if (!u) return { MemoryPressure: false, DiskPressure: false, PIDPressure: false };
  const disk = (u.fsCapacityBytes > 0n && u.fsAvailableBytes < pct(u.fsCapacityBytes, e.nodefsAvailablePercent)) || (u.fsInodes > 0n && u.fsInodesFree < pct(u.fsInodes, e.nodefsInodesFreePercent));
  return {
    MemoryPressure: u.memoryAvailableBytes < e.memoryAvailableBytes,
    DiskPressure: disk,
    PIDPressure: e.pidAvailablePercent > 0 && u.pidsAvailable < (u.pidMax * e.pidAvailablePercent) / 100,
  };
}

/** The images list: the 50 largest, names being digests then tags (upstream's Images setter). */
export function nodeImages(images: Image[]): ContainerImage[] {
  return images
    .map((i) => ({ names: [...i.repo_digests, ...i.repo_tags], sizeBytes: Number(i.size) }))
    .filter((i) => i.names.length > 0)
    .sort((a, b) => b.sizeBytes - a.sizeBytes)
    .slice(0, MAX_NODE_IMAGES);
}

/** The node's status now, and the conditions whose status changed (for upstream's node events). */
export function computeNodeStatus(inp: StatusInputs): { status: NodeStatus; changes: ConditionChange[] } {
  const { machine: m, settings: s } = inp;
  const now = rfc3339(new Date(inp.now));
  const prevConds = inp.previous?.conditions ?? [];
  const changes: ConditionChange[] = [];
  const make = (type: string, status: boolean, reason: string, message: string, event: string): NodeCondition => {
    const old = prevConds.find((c) => c.type === type);
    const st = status ? 'True' : 'False';
    const changed = !old || old.status !== st;
    if (changed) changes.push({ type, event });
    return { type, status: st, lastHeartbeatTime: now, lastTransitionTime: changed ? now : (old.lastTransitionTime ?? now), reason, message };
  };
  const p = pressures(inp.usage, s.eviction);
  const conditions: NodeCondition[] = [];
  for (const type of ['MemoryPressure', 'DiskPressure', 'PIDPressure'] as const) {
    const [reason, message, event] = p[type] ? PRESSURE[type].yes : PRESSURE[type].no;
    conditions.push(make(type, p[type], reason, message, event));
  }
  const errs = runtimeErrors(inp.runtimeConditions);
  conditions.push(errs.length ? make('Ready', false, 'KubeletNotReady', errs.join('\n'), 'NodeNotReady') : make('Ready', true, 'KubeletReady', 'kubelet is posting ready status', 'NodeReady'));
  const rv = inp.runtimeVersion;
  const status: NodeStatus = {
    capacity: nodeCapacity(m, s),
    allocatable: nodeAllocatable(m, s),
    conditions,
    addresses: [...s.nodeIPs.map((ip) => ({ type: 'InternalIP', address: ip })), { type: 'Hostname', address: s.hostname }],
    daemonEndpoints: { kubeletEndpoint: { Port: s.kubeletPort } },
    nodeInfo: {
      machineID: m.machineID,
      systemUUID: m.systemUUID,
      bootID: m.bootID,
      kernelVersion: m.kernelVersion,
      osImage: m.osImage,
      containerRuntimeVersion: rv ? `${rv.runtime_name}://${rv.runtime_version}` : '',
      kubeletVersion: KUBELET_VERSION,
      operatingSystem: m.operatingSystem,
      architecture: m.architecture,
    },
    images: nodeImages(inp.images),
  };
  // Fields others own (volumesAttached, config, features) stay as the API has them.
  for (const [k, v] of Object.entries(inp.previous ?? {})) if (!(k in status) && k !== 'phase') status[k] = v;
  return { status, changes };
}

function withoutHeartbeats(s: NodeStatus | undefined): unknown {
  if (!s) return undefined;
  return { ...s, conditions: (s.conditions ?? []).map(({ lastHeartbeatTime: _h, ...rest }) => rest) };
}

/** upstream's nodeStatusHasChanged: anything but heartbeat times. */
export function nodeStatusChanged(old: NodeStatus | undefined, next: NodeStatus): boolean {
  return JSON.stringify(sortKeys(withoutHeartbeats(old))) !== JSON.stringify(sortKeys(withoutHeartbeats(next)));
}

function sortKeys(v: unknown): unknown {
  if (Array.isArray(v)) return v.map(sortKeys);
  if (v && typeof v === 'object') return Object.fromEntries(Object.keys(v).sort().map((k) => [k, sortKeys((v as Record<string, unknown>)[k])]));
  return v;
}

/** Whether to send the status now: when it changed, or when reportFrequency passed since the last report. */
export function shouldReportStatus(old: NodeStatus | undefined, next: NodeStatus, lastReportAt: number, now: number, reportFrequencyMs: number): boolean {
  return nodeStatusChanged(old, next) || now - lastReportAt >= reportFrequencyMs;
}
