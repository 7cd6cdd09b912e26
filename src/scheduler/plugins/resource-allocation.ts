// The resource-allocation scorers shared by NodeResourcesFit (LeastAllocated, MostAllocated,
// RequestedToCapacityRatio) and NodeResourcesBalancedAllocation, with upstream's integer
// arithmetic (Go's int64 division truncates).

import { MAX_NODE_SCORE } from '../framework/interfaces.ts';
import { R, type NodeInfo } from '../nodeinfo.ts';
import type { PodInfo } from '../podinfo.ts';
import { isScalarResourceName, RESOURCE_CPU, RESOURCE_EPHEMERAL_STORAGE, RESOURCE_MEMORY } from '../resources.ts';

export interface ResourceSpec {
  name: string;
  weight: number;
}

/** requested[i], allocatable[i] per configured resource → score. */
export type Scorer = (requested: number[], allocatable: number[]) => number;

/**
 * The pod's request per configured resource. Without useRequested (NodeResourcesFit) a
 * container that sets no cpu/memory request counts 100m/200Mi, so empty pods still spread.
 */
export function podRequestList(pod: PodInfo, resources: readonly ResourceSpec[], useRequested: boolean): number[] {
  const amounts = useRequested ? pod.requestAmounts : pod.nonZeroAmounts;
  return resources.map((r) => amounts.get(r.name) ?? 0);
}

/**
 * upstream's calculateResourceAllocatableRequest: the node's allocatable and requested (the
 * pod's included) for one resource; (0, 0) leaves the resource out of the score.
 */
function allocatableRequest(ni: NodeInfo, name: string, podRequest: number, useRequested: boolean, out: { a: number; r: number }): void {
  if (podRequest === 0 && isScalarResourceName(name)) {
    out.a = out.r = 0;
    return;
  }
  const a = ni.res;
  switch (name) {
    case RESOURCE_CPU:
      out.a = a[R.allocCPU]!;
      out.r = a[useRequested ? R.reqCPU : R.nonZeroCPU]! + podRequest;
      return;
    case RESOURCE_MEMORY:
      out.a = a[R.allocMemory]!;
      out.r = a[useRequested ? R.reqMemory : R.nonZeroMem]! + podRequest;
      return;
    case RESOURCE_EPHEMERAL_STORAGE:
      out.a = a[R.allocEphemeral]!;
      out.r = a[R.reqEphemeral]! + podRequest;
      return;
    default:
      if (ni.allocScalar?.has(name)) {
        out.a = ni.allocScalar.get(name)!;
        out.r = (ni.reqScalar?.get(name) ?? 0) + podRequest;
      } else out.a = out.r = 0;
  }
}

const TMP = { a: 0, r: 0 };

/** Scores a node: fills requested/allocatable per resource, skipping resources with no allocatable. */
export function scoreNode(
  ni: NodeInfo,
  resources: readonly ResourceSpec[],
  podRequests: readonly number[],
  useRequested: boolean,
  scorer: Scorer,
  scratch: { requested: number[]; allocatable: number[] },
): number {
  const tmp = TMP;
  const n = resources.length;
  const requested = scratch.requested;
  const allocatable = scratch.allocatable;
  for (let i = 0; i < n; i++) {
    allocatableRequest(ni, resources[i]!.name, podRequests[i]!, useRequested, tmp);
    if (tmp.a === 0) {
      requested[i] = 0;
      allocatable[i] = 0;
      continue;
    }
    allocatable[i] = tmp.a;
    requested[i] = tmp.r;
  }
  return scorer(requested, allocatable);
}

function leastRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0 || requested > capacity) return 0;
  return Math.trunc(((capacity - requested) * MAX_NODE_SCORE) / capacity);
}

function mostRequestedScore(requested: number, capacity: number): number {
  if (capacity === 0) return 0;
  if (requested > capacity) requested = capacity;
  return Math.trunc((requested * MAX_NODE_SCORE) / capacity);
}

function weighted(resources: readonly ResourceSpec[], f: (r: number, c: number) => number): Scorer {
  return (requested, allocatable) => {
    let score = 0;
    let weightSum = 0;
    for (let i = 0; i < requested.length; i++) {
      if (allocatable[i] === 0) continue;
      const w = resources[i]!.weight;
      score += f(requested[i]!, allocatable[i]!) * w;
      weightSum += w;
    }
    return weightSum === 0 ? 0 : Math.trunc(score / weightSum);
  };
}

/** LeastAllocated: favours nodes with more free capacity. */
export function leastAllocatedScorer(resources: readonly ResourceSpec[]): Scorer {
  return weighted(resources, leastRequestedScore);
}

/** MostAllocated: favours fuller nodes (bin packing). */
export function mostAllocatedScorer(resources: readonly ResourceSpec[]): Scorer {
  return weighted(resources, mostRequestedScore);
}

export interface UtilizationShapePoint {
  utilization: number;
  score: number;
}

const MAX_UTILIZATION = 100;
/** Shape scores run 0..10 (MaxCustomPriorityScore); they are scaled to 0..100. */
const MAX_CUSTOM_PRIORITY_SCORE = 10;

/** upstream's helper.BuildBrokenLinearFunction over (utilization, score) points sorted by utilization. */
export function brokenLinear(shape: readonly UtilizationShapePoint[]): (p: number) => number {
  return (p) => {
    for (let i = 0; i < shape.length; i++) {
      if (p <= shape[i]!.utilization) {
        if (i === 0) return shape[0]!.score;
        const a = shape[i - 1]!;
        const b = shape[i]!;
        return a.score + Math.trunc(((b.score - a.score) * (p - a.utilization)) / (b.utilization - a.utilization));
      }
    }
    return shape[shape.length - 1]!.score;
  };
}

/** RequestedToCapacityRatio: a piecewise-linear function of utilization (rounding the weighted mean). */
export function requestedToCapacityRatioScorer(resources: readonly ResourceSpec[], shape: readonly UtilizationShapePoint[]): Scorer {
  const scaled = shape.map((p) => ({ utilization: p.utilization, score: p.score * (MAX_NODE_SCORE / MAX_CUSTOM_PRIORITY_SCORE) }));
  const raw = brokenLinear(scaled);
  const perResource = (requested: number, capacity: number) => {
    if (capacity === 0 || requested > capacity) return raw(MAX_UTILIZATION);
    return raw(Math.trunc((requested * MAX_UTILIZATION) / capacity));
  };
  return (requested, allocatable) => {
    let score = 0;
    let weightSum = 0;
    for (let i = 0; i < requested.length; i++) {
      if (allocatable[i] === 0) continue;
      const w = resources[i]!.weight;
      const s = perResource(requested[i]!, allocatable[i]!);
      if (s > 0) {
        score += s * w;
        weightSum += w;
      }
    }
    return weightSum === 0 ? 0 : Math.round(score / weightSum);
  };
}

/**
 * BalancedAllocation: 1 - the standard deviation of the per-resource utilization fractions
 * (each capped at 1), times 100.
 */
export function balancedScorer(requested: number[], allocatable: number[]): number {
  let total = 0;
  let count = 0;
  let f0 = 0;
  let f1 = 0;
  for (let i = 0; i < requested.length; i++) {
    if (allocatable[i] === 0) continue;
    let f = requested[i]! / allocatable[i]!;
    if (f > 1) f = 1;
    total += f;
    if (count === 0) f0 = f;
    else if (count === 1) f1 = f;
    count++;
  }
  let std = 0;
  if (count === 2) std = Math.abs((f0 - f1) / 2);
  else if (count > 2) {
    const mean = total / count;
    let sum = 0;
    for (let i = 0; i < requested.length; i++) {
      if (allocatable[i] === 0) continue;
      let f = requested[i]! / allocatable[i]!;
      if (f > 1) f = 1;
      sum += (f - mean) * (f - mean);
    }
    std = Math.sqrt(sum / count);
  }
  return Math.trunc((1 - std) * MAX_NODE_SCORE);
}
