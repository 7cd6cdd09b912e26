// NodeInfo: one node and the aggregates of the pods on it (assumed ones included), kept up to
// date incrementally so that a Filter or Score is a few field reads. Upstream's
// framework.NodeInfo, minus what rudder does not schedule on (DRA, CSI volume limits).
//
// OWNERSHIP. A NodeInfo belongs to the scheduler cache, which mutates it between scheduling
// cycles. Plugins read it during a cycle and never change it; preemption's dry runs work on
// clone()s.

import { resourceFromList, type Resource } from './resources.ts';
import { hasAffinityTerms, type HostPort, type PodInfo } from './podinfo.ts';
import type { Node, Taint } from './types.ts';

/** Cluster-wide state of one image, shared by every NodeInfo that has it. */
export interface ImageState {
  size: number;
  /** Names of the nodes that report the image. */
  nodes: Set<string>;
}

const ALL_IPS = '0.0.0.0';

/** Host ports in use on a node: ip → "protocol/port" → number of pods holding it. */
export class HostPortInfo {
  private readonly byIP = new Map<string, Map<string, number>>();

  add(p: HostPort): void {
    let m = this.byIP.get(p.ip);
    if (!m) this.byIP.set(p.ip, (m = new Map()));
    const k = `${p.protocol}/${p.port}`;
    m.set(k, (m.get(k) ?? 0) + 1);
  }

  remove(p: HostPort): void {
    const m = this.byIP.get(p.ip);
    if (!m) return;
    const k = `${p.protocol}/${p.port}`;
    const n = (m.get(k) ?? 0) - 1;
    if (n > 0) m.set(k, n);
    else m.delete(k);
    if (m.size === 0) this.byIP.delete(p.ip);
  }

  /**
   * upstream's HostPortInfo.CheckConflict: 0.0.0.0 conflicts with the same protocol/port on any
   * IP; a specific IP conflicts with itself and with 0.0.0.0.
   */
  conflicts(p: HostPort): boolean {
    if (p.port <= 0) return false;
    const k = `${p.protocol}/${p.port}`;
    if (p.ip === ALL_IPS) {
      for (const m of this.byIP.values()) if (m.has(k)) return true;
      return false;
    }
    return !!(this.byIP.get(ALL_IPS)?.has(k) || this.byIP.get(p.ip)?.has(k));
  }

  get size(): number {
    return this.byIP.size;
  }

  clone(): HostPortInfo {
    const c = new HostPortInfo();
    for (const [ip, m] of this.byIP) c.byIP.set(ip, new Map(m));
    return c;
  }
}

let generationSeq = 0;

export function nextGeneration(): number {
  return ++generationSeq;
}

const EMPTY_LABELS: Readonly<Record<string, string>> = Object.freeze({});

/**
 * Indexes into NodeInfo.res, the node's numeric aggregates. They live together in one small
 * Float64Array rather than as object fields: Filter and Score read them for hundreds of nodes per
 * pod, and memory sizes do not fit V8's small integers, so as fields they would each be a boxed
 * number somewhere else on the heap. One array keeps them on one or two cache lines.
 */
export const R = {
  allocCPU: 0,
  allocMemory: 1,
  allocEphemeral: 2,
  allocPods: 3,
  reqCPU: 4,
  reqMemory: 5,
  reqEphemeral: 6,
  nonZeroCPU: 7,
  nonZeroMem: 8,
  podCount: 9,
} as const;
const R_SIZE = 10;

export class NodeInfo {
  /** Numeric aggregates, indexed by R (see there). */
  readonly res = new Float64Array(R_SIZE);
  unschedulable = false;
  taints: readonly Taint[] | null = null;
  labels: Readonly<Record<string, string>> = EMPTY_LABELS;
  node: Node;
  name: string;
  allocScalar: Map<string, number> | null = null;
  reqScalar: Map<string, number> | null = null;
  pods: PodInfo[] = [];
  podsWithAffinity: PodInfo[] = [];
  podsWithRequiredAntiAffinity: PodInfo[] = [];
  /** Pods whose terms can score other pods (required affinity, preferred affinity or anti-affinity). */
  podsWithScoringAffinity: PodInfo[] = [];
  usedPorts = new HostPortInfo();
  /** Images on this node by name, pointing at the cluster-wide state. */
  imageStates = new Map<string, ImageState>();
  /** namespace/name of each PVC used by pods here → number of such pods. */
  pvcRefCounts = new Map<string, number>();
  /** Bumped on every change; snapshots and tests use it to see that something moved. */
  generation = nextGeneration();

  constructor(node: Node) {
    this.node = node;
    this.name = node.metadata.name ?? '';
    this.setNode(node);
  }

  setNode(node: Node): void {
    this.node = node;
    this.name = node.metadata.name ?? '';
    this.labels = node.metadata.labels ?? EMPTY_LABELS;
    this.unschedulable = !!node.spec?.unschedulable;
    const taints = node.spec?.taints;
    this.taints = taints && taints.length > 0 ? taints : null;
    const a = allocatableOf(node);
    const r = this.res;
    r[R.allocCPU] = a.milliCPU;
    r[R.allocMemory] = a.memory;
    r[R.allocEphemeral] = a.ephemeralStorage;
    r[R.allocPods] = a.allowedPodNumber;
    this.allocScalar = a.scalar;
    this.generation = nextGeneration();
  }

  get allocCPU(): number {
    return this.res[R.allocCPU]!;
  }
  get allocMemory(): number {
    return this.res[R.allocMemory]!;
  }
  get allocEphemeral(): number {
    return this.res[R.allocEphemeral]!;
  }
  get allocPods(): number {
    return this.res[R.allocPods]!;
  }
  /** Sum of the pods' requests. */
  get reqCPU(): number {
    return this.res[R.reqCPU]!;
  }
  get reqMemory(): number {
    return this.res[R.reqMemory]!;
  }
  get reqEphemeral(): number {
    return this.res[R.reqEphemeral]!;
  }
  /** Sum of the pods' cpu/memory requests with the non-zero defaults (for scoring). */
  get nonZeroCPU(): number {
    return this.res[R.nonZeroCPU]!;
  }
  get nonZeroMem(): number {
    return this.res[R.nonZeroMem]!;
  }

  /** The allocatable resources as a Resource (for code off the hot path). */
  get allocatable(): Resource {
    return { milliCPU: this.allocCPU, memory: this.allocMemory, ephemeralStorage: this.allocEphemeral, allowedPodNumber: this.allocPods, scalar: this.allocScalar };
  }

  /** The summed requests as a Resource (for code off the hot path). */
  get requested(): Resource {
    return { milliCPU: this.reqCPU, memory: this.reqMemory, ephemeralStorage: this.reqEphemeral, allowedPodNumber: 0, scalar: this.reqScalar };
  }

  addPod(pi: PodInfo): void {
    this.pods.push(pi);
    if (hasAffinityTerms(pi)) this.podsWithAffinity.push(pi);
    if (pi.requiredAntiAffinityTerms.length > 0) this.podsWithRequiredAntiAffinity.push(pi);
    if (scoresOthers(pi)) this.podsWithScoringAffinity.push(pi);
    this.account(pi, 1);
  }

  /** Removes the pod with this uid; undefined when it is not here. */
  removePod(uid: string): PodInfo | undefined {
    const i = this.pods.findIndex((p) => p.uid === uid);
    if (i < 0) return undefined;
    const pi = this.pods[i]!;
    // swap-remove, as upstream: pod order on a node carries no meaning
    this.pods[i] = this.pods[this.pods.length - 1]!;
    this.pods.pop();
    removeFrom(this.podsWithAffinity, uid);
    removeFrom(this.podsWithRequiredAntiAffinity, uid);
    removeFrom(this.podsWithScoringAffinity, uid);
    this.account(pi, -1);
    return pi;
  }

  private account(pi: PodInfo, sign: 1 | -1): void {
    const r = pi.requests;
    const a = this.res;
    a[R.reqCPU] += sign * r.milliCPU;
    a[R.reqMemory] += sign * r.memory;
    a[R.reqEphemeral] += sign * r.ephemeralStorage;
    a[R.nonZeroCPU] += sign * pi.nonZeroCPU;
    a[R.nonZeroMem] += sign * pi.nonZeroMem;
    a[R.podCount] = this.pods.length;
    if (r.scalar) {
      const q = (this.reqScalar ??= new Map());
      for (const [k, v] of r.scalar) q.set(k, (q.get(k) ?? 0) + sign * v);
    }
    for (const p of pi.hostPorts) {
      if (sign > 0) this.usedPorts.add(p);
      else this.usedPorts.remove(p);
    }
    for (const k of pi.pvcKeys) {
      const n = (this.pvcRefCounts.get(k) ?? 0) + sign;
      if (n > 0) this.pvcRefCounts.set(k, n);
      else this.pvcRefCounts.delete(k);
    }
    this.generation = nextGeneration();
  }

  /** A deep enough copy for dry runs: pods, aggregates and ports are private to the copy. */
  clone(): NodeInfo {
    const c = new NodeInfo(this.node);
    c.res.set(this.res);
    c.reqScalar = this.reqScalar ? new Map(this.reqScalar) : null;
    c.pods = [...this.pods];
    c.podsWithAffinity = [...this.podsWithAffinity];
    c.podsWithRequiredAntiAffinity = [...this.podsWithRequiredAntiAffinity];
    c.podsWithScoringAffinity = [...this.podsWithScoringAffinity];
    c.usedPorts = this.usedPorts.clone();
    c.imageStates = this.imageStates;
    c.pvcRefCounts = new Map(this.pvcRefCounts);
    c.generation = this.generation;
    return c;
  }
}

export function scoresOthers(pi: PodInfo): boolean {
  return pi.requiredAffinityTerms.length > 0 || pi.preferredAffinityTerms.length > 0 || pi.preferredAntiAffinityTerms.length > 0;
}

function removeFrom(list: PodInfo[], uid: string): void {
  const i = list.findIndex((p) => p.uid === uid);
  if (i >= 0) {
    list[i] = list[list.length - 1]!;
    list.pop();
  }
}

/** status.allocatable, falling back to status.capacity (the apiserver defaults one from the other). */
function allocatableOf(node: Node): Resource {
  return resourceFromList(node.status?.allocatable ?? node.status?.capacity ?? null);
}
