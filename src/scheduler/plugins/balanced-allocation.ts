// NodeResourcesBalancedAllocation: prefers nodes whose resources would be used evenly after
// placing the pod. Pods requesting nothing are not scored by it (upstream skips best-effort
// pods so they do not pile onto one node).

import type { CycleState } from '../framework/cycle-state.ts';
import type { PreScorePlugin, ScorePlugin } from '../framework/interfaces.ts';
import type { NodeInfo } from '../nodeinfo.ts';
import type { PodInfo } from '../podinfo.ts';
import { Code, Status } from '../status.ts';
import { NodeResourcesBalancedAllocation as Name } from './names.ts';
import { balancedScorer, podRequestList, scoreNode, type ResourceSpec } from './resource-allocation.ts';

const PRE_SCORE_KEY = 'PreScore' + Name;

export interface BalancedAllocationArgs {
  resources?: ResourceSpec[];
}

export function newBalancedAllocation(rawArgs: unknown): PreScorePlugin & ScorePlugin {
  const args = (rawArgs ?? {}) as BalancedAllocationArgs;
  const resources = (args.resources?.length ? args.resources : [{ name: 'cpu', weight: 1 }, { name: 'memory', weight: 1 }]).map((r) => ({ name: r.name, weight: r.weight || 1 }));
  const scratch = { requested: new Array<number>(resources.length).fill(0), allocatable: new Array<number>(resources.length).fill(0) };
  return {
    name: Name,
    preScore(state: CycleState, pod: PodInfo) {
      const reqs = podRequestList(pod, resources, true);
      if (reqs.every((r) => r === 0)) return new Status(Code.Skip);
      state.write(PRE_SCORE_KEY, reqs);
      return null;
    },
    score(state: CycleState, pod: PodInfo, ni: NodeInfo) {
      let reqs = state.read<number[]>(PRE_SCORE_KEY);
      if (!reqs) {
        reqs = podRequestList(pod, resources, true);
        if (reqs.every((r) => r === 0)) return 0;
      }
      return scoreNode(ni, resources, reqs, true, balancedScorer, scratch);
    },
  };
}
