// NodeResourcesFit: the node must have room for the pod's requests (cpu, memory,
// ephemeral-storage, extended resources, and one more pod), and nodes are scored by the
// configured strategy: LeastAllocated (default), MostAllocated or RequestedToCapacityRatio.

import { Action } from '../events.ts';
import type { CycleState } from '../framework/cycle-state.ts';
import type { EnqueueExtensions, FilterPlugin, PreFilterPlugin, PreScorePlugin, ScorePlugin } from '../framework/interfaces.ts';
import { NodeInfo, R } from '../nodeinfo.ts';
import { podInfoOf, type PodInfo } from '../podinfo.ts';
import { isExtendedResourceName } from '../resources.ts';
import { Code, fixedStatus } from '../status.ts';
import type { Node, Pod } from '../types.ts';
import { NodeResourcesFit as Name } from './names.ts';
import {
  leastAllocatedScorer,
  mostAllocatedScorer,
  podRequestList,
  requestedToCapacityRatioScorer,
  scoreNode,
  type ResourceSpec,
  type Scorer,
  type UtilizationShapePoint,
} from './resource-allocation.ts';

const PRE_SCORE_KEY = 'PreScore' + Name;

export interface NodeResourcesFitArgs {
  ignoredResources?: string[];
  ignoredResourceGroups?: string[];
  scoringStrategy?: {
    type?: string;
    resources?: ResourceSpec[];
    requestedToCapacityRatio?: { shape?: UtilizationShapePoint[] };
  };
}

export interface InsufficientResource {
  resourceName: string;
  reason: string;
  requested: number;
  used: number;
  capacity: number;
}

/**
 * upstream's fitsRequest: every resource the pod lacks on the node, in upstream's order (pods,
 * cpu, memory, ephemeral-storage, then scalar resources).
 */
export function fitsRequest(pod: PodInfo, ni: NodeInfo, ignored: ReadonlySet<string> = new Set(), ignoredGroups: ReadonlySet<string> = new Set()): InsufficientResource[] {
  const out: InsufficientResource[] = [];
  if (ni.pods.length + 1 > ni.allocPods) {
    out.push({ resourceName: 'pods', reason: 'Too many pods', requested: 1, used: ni.pods.length, capacity: ni.allocPods });
  }
  const r = pod.requests;
  if (r.milliCPU === 0 && r.memory === 0 && r.ephemeralStorage === 0 && !r.scalar) return out;
  if (r.milliCPU > 0 && r.milliCPU > ni.allocCPU - ni.reqCPU) {
    out.push({ resourceName: 'cpu', reason: 'Insufficient cpu', requested: r.milliCPU, used: ni.reqCPU, capacity: ni.allocCPU });
  }
  if (r.memory > 0 && r.memory > ni.allocMemory - ni.reqMemory) {
    out.push({ resourceName: 'memory', reason: 'Insufficient memory', requested: r.memory, used: ni.reqMemory, capacity: ni.allocMemory });
  }
  if (r.ephemeralStorage > 0 && r.ephemeralStorage > ni.allocEphemeral - ni.reqEphemeral) {
    out.push({ resourceName: 'ephemeral-storage', reason: 'Insufficient ephemeral-storage', requested: r.ephemeralStorage, used: ni.reqEphemeral, capacity: ni.allocEphemeral });
  }
  if (r.scalar) {
    for (const [name, q] of r.scalar) {
      if (q === 0) continue;
      if (isExtendedResourceName(name) && (ignored.has(name) || (ignoredGroups.size > 0 && ignoredGroups.has(name.split('/')[0]!)))) continue;
      const a = ni.allocScalar?.get(name) ?? 0;
      const u = ni.reqScalar?.get(name) ?? 0;
      if (q > a - u) out.push({ resourceName: name, reason: `Insufficient ${name}`, requested: q, used: u, capacity: a });
    }
  }
  return out;
}

/** The common case without allocation: room for everything, no scalar resources asked. */
function fitsQuickly(pod: PodInfo, ni: NodeInfo): boolean {
  const r = pod.requests;
  if (r.scalar) return false;
  const a = ni.res;
  return (
    a[R.podCount]! < a[R.allocPods]! &&
    r.milliCPU <= a[R.allocCPU]! - a[R.reqCPU]! &&
    r.memory <= a[R.allocMemory]! - a[R.reqMemory]! &&
    r.ephemeralStorage <= a[R.allocEphemeral]! - a[R.reqEphemeral]!
  );
}

function scorerFor(args: NodeResourcesFitArgs): { scorer: Scorer; resources: ResourceSpec[] } {
  const ss = args.scoringStrategy ?? {};
  const resources = (ss.resources?.length ? ss.resources : [{ name: 'cpu', weight: 1 }, { name: 'memory', weight: 1 }]).map((r) => ({ name: r.name, weight: r.weight || 1 }));
  for (const r of resources) {
    if (r.weight < 1 || r.weight > 100) throw new Error(`resource Weight of ${r.name} should be in a range 1-100`);
  }
  switch (ss.type ?? 'LeastAllocated') {
    case 'LeastAllocated':
      return { scorer: leastAllocatedScorer(resources), resources };
    case 'MostAllocated':
      return { scorer: mostAllocatedScorer(resources), resources };
    case 'RequestedToCapacityRatio': {
      const shape = ss.requestedToCapacityRatio?.shape ?? [];
      if (shape.length === 0) throw new Error('scoringStrategy.requestedToCapacityRatio.shape: Required value: at least one point must be specified');
      for (let i = 1; i < shape.length; i++) {
        if (shape[i]!.utilization <= shape[i - 1]!.utilization) throw new Error('scoringStrategy.requestedToCapacityRatio.shape: utilization values must be sorted in increasing order');
      }
      return { scorer: requestedToCapacityRatioScorer(resources, shape), resources };
    }
    default:
      throw new Error(`scoring strategy ${ss.type} is not supported`);
  }
}

/** A node object alone (no pods) as the fit check sees it, for queueing hints. */
function fitsEmptyNode(pod: Pod, node: Node): boolean {
  return fitsRequest(podInfoOf(pod), new NodeInfo(node)).length === 0;
}

export function newNodeResourcesFit(rawArgs: unknown): PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin & EnqueueExtensions {
  const args = (rawArgs ?? {}) as NodeResourcesFitArgs;
  const ignored = new Set(args.ignoredResources ?? []);
  const ignoredGroups = new Set(args.ignoredResourceGroups ?? []);
  const { scorer, resources } = scorerFor(args);
  const scratch = { requested: new Array<number>(resources.length).fill(0), allocatable: new Array<number>(resources.length).fill(0) };
  return {
    name: Name,
    preFilter() {
      // requests are precomputed on the PodInfo; nothing to prepare
      return null;
    },
    filter(_state, pod, ni) {
      if (fitsQuickly(pod, ni)) return null;
      const insufficient = fitsRequest(pod, ni, ignored, ignoredGroups);
      if (insufficient.length === 0) return null;
      return fixedStatus(Code.Unschedulable, ...insufficient.map((x) => x.reason));
    },
    preScore(state: CycleState, pod: PodInfo) {
      state.write(PRE_SCORE_KEY, podRequestList(pod, resources, false));
      return null;
    },
    score(state: CycleState, pod: PodInfo, ni: NodeInfo) {
      const reqs = state.read<number[]>(PRE_SCORE_KEY) ?? podRequestList(pod, resources, false);
      return scoreNode(ni, resources, reqs, false, scorer, scratch);
    },
    eventsToRegister() {
      return [
        {
          event: { resource: 'AssignedPod', action: Action.Delete | Action.UpdatePodScaleDown },
          hint: (_pod: Pod, oldObj: unknown) => ((oldObj as Pod | undefined)?.spec.nodeName ? 'Queue' : 'Skip'),
        },
        {
          event: { resource: 'Node', action: Action.Add | Action.UpdateNodeAllocatable },
          hint: (pod: Pod, _old: unknown, node: unknown) => (fitsEmptyNode(pod, node as Node) ? 'Queue' : 'Skip'),
        },
      ];
    },
  };
}
