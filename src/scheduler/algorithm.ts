// The scheduling cycle as a function over a snapshot: (pod, snapshot, profile) → a node and
// its score, or the failure (per-node statuses and upstream's message), with the PostFilter
// (preemption) outcome. upstream's schedulePod / findNodesThatFitPod / prioritizeNodes /
// selectHost, run sequentially: the search stops at the first numFeasibleNodesToFind feasible
// nodes, starting where the previous cycle stopped so every node gets its turn.

import { CycleState } from './framework/cycle-state.ts';
import type { Framework } from './framework/framework.ts';
import type { NodeInfoLister, NominatingInfo, PostFilterResult, PreemptionPlan } from './framework/interfaces.ts';
import type { NodeInfo } from './nodeinfo.ts';
import type { PodInfo } from './podinfo.ts';
import { addPluginStatus, Code, FitError, isSuccess, newDiagnosis, Status, type Diagnosis } from './status.ts';

/** Below this many nodes every node is considered. */
export const MIN_FEASIBLE_NODES_TO_FIND = 100;
export const MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND = 5;
const NUMBER_OF_HIGHEST_SCORED_NODES_TO_REPORT = 3;

/**
 * upstream's numFeasibleNodesToFind: the profile's percentage, else the configuration's; 0
 * means adaptive (50% at 0 nodes, falling by 1% per 125 nodes, floor 5%); never under 100 nodes.
 */
export function numFeasibleNodesToFind(percentage: number, numAllNodes: number): number {
  if (numAllNodes < MIN_FEASIBLE_NODES_TO_FIND) return numAllNodes;
  let pct = Math.trunc(percentage);
  if (pct === 0) {
    pct = 50 - Math.trunc(numAllNodes / 125);
    if (pct < MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND) pct = MIN_FEASIBLE_NODES_PERCENTAGE_TO_FIND;
  }
  const n = Math.trunc((numAllNodes * pct) / 100);
  return n < MIN_FEASIBLE_NODES_TO_FIND ? MIN_FEASIBLE_NODES_TO_FIND : n;
}

export interface NodeScore {
  name: string;
  total: number;
}

export interface Scheduled {
  kind: 'scheduled';
  nodeName: string;
  /** Nodes filtered (feasible + rejected). */
  evaluatedNodes: number;
  feasibleNodes: number;
  /** The best few nodes by total score, highest first (with recordScores, when scoring ran). */
  topScores?: NodeScore[];
  /** Every feasible node's total (only with recordScores). */
  scores?: NodeScore[];
  state: CycleState;
}

export interface Unschedulable {
  kind: 'unschedulable';
  fitError: FitError;
  /** upstream's FitError.Error(), PostFilter message included. */
  message: string;
  /** What PostFilter decided about the pod's nominatedNodeName (undefined: leave it). */
  nominatingInfo?: NominatingInfo;
  /** Victims to evict and the node to nominate, when preemption found room. */
  preemption?: PreemptionPlan;
  state: CycleState;
}

export interface SchedulingFailed {
  kind: 'error';
  status: Status;
  message: string;
  /** A failure before any node was considered: clear the nomination as upstream does. */
  nominatingInfo?: NominatingInfo;
}

export type CycleResult = Scheduled | Unschedulable | SchedulingFailed;

export const ErrNoNodesAvailable = 'no nodes available to schedule pods';

export interface AlgorithmOptions {
  /** The configuration-wide percentageOfNodesToScore (0: adaptive). */
  percentageOfNodesToScore?: number;
  /** [0, 1) for tie-breaking among the best nodes; injectable for deterministic tests. */
  random?: () => number;
}

export class SchedulingAlgorithm {
  /** Where the next node search starts (upstream's nextStartNodeIndex). */
  nextStartNodeIndex = 0;
  private readonly percentage: number;
  private readonly random: () => number;

  constructor(opts: AlgorithmOptions = {}) {
    this.percentage = opts.percentageOfNodesToScore ?? 0;
    this.random = opts.random ?? Math.random;
  }

  /**
   * One scheduling cycle: filter, score, select; on failure run PostFilter. Synchronous: the
   * snapshot must not change while it runs.
   */
  schedule(fw: Framework, snapshot: NodeInfoLister, pod: PodInfo, opts: { recordScores?: boolean; state?: CycleState } = {}): CycleResult {
    const state = opts.state ?? new CycleState();
    const allNodes = snapshot.list();
    if (allNodes.length === 0) {
      return { kind: 'error', status: new Status(Code.UnschedulableAndUnresolvable, ErrNoNodesAvailable), message: ErrNoNodesAvailable, nominatingInfo: { mode: 'override', nominatedNodeName: '' } };
    }
    const diagnosis = newDiagnosis();
    const found = this.findNodesThatFitPod(fw, snapshot, allNodes, state, pod, diagnosis);
    if (found instanceof Status) return { kind: 'error', status: found, message: found.message(), nominatingInfo: { mode: 'override', nominatedNodeName: '' } };
    const feasible = found;
    if (feasible.length === 0) {
      const fitError = new FitError(allNodes.length, diagnosis);
      let post: PostFilterResult | undefined;
      if (fw.hasPostFilterPlugins()) {
        const r = fw.runPostFilterPlugins(state, pod, diagnosis.nodeToStatus);
        diagnosis.postFilterMsg = r.status?.message() ?? '';
        post = r.result;
      }
      return {
        kind: 'unschedulable',
        fitError,
        message: fitError.message(),
        ...(post?.nominatingInfo ? { nominatingInfo: post.nominatingInfo } : {}),
        ...(post?.preemption ? { preemption: post.preemption } : {}),
        state,
      };
    }
    const evaluatedNodes = feasible.length + diagnosis.nodeToStatus.size;
    if (feasible.length === 1) {
      return { kind: 'scheduled', nodeName: feasible[0]!.name, evaluatedNodes, feasibleNodes: 1, state };
    }
    const prioritized = this.prioritizeNodes(fw, state, pod, feasible, opts.recordScores ?? false);
    if (prioritized instanceof Status) return { kind: 'error', status: prioritized, message: prioritized.message() };
    const { totals } = prioritized;
    const best = this.selectHost(feasible, totals);
    return {
      kind: 'scheduled',
      nodeName: feasible[best]!.name,
      evaluatedNodes,
      feasibleNodes: feasible.length,
      ...(opts.recordScores ? { topScores: topScores(feasible, totals), scores: feasible.map((n, i) => ({ name: n.name, total: totals[i]! })) } : {}),
      state,
    };
  }

  private findNodesThatFitPod(fw: Framework, snapshot: NodeInfoLister, allNodes: readonly NodeInfo[], state: CycleState, pod: PodInfo, d: Diagnosis): NodeInfo[] | Status {
    const pre = fw.runPreFilterPlugins(state, pod, allNodes);
    d.unschedulablePlugins = new Set(pre.plugins);
    if (!isSuccess(pre.status)) {
      const s = pre.status!;
      if (!s.isRejected()) return s;
      d.nodeToStatus.absent = s;
      d.preFilterMsg = s.message();
      addPluginStatus(d, s);
      return [];
    }
    const filters = fw.activeFilters(state);
    const nominated = pod.pod.status?.nominatedNodeName;
    if (nominated) {
      const ni = snapshot.get(nominated);
      if (ni) {
        const s = fw.runFilterPluginsWithNominatedPods(state, pod, ni, filters);
        if (isSuccess(s)) return [ni];
        if (s!.code === Code.Error) return s!;
        d.nodeToStatus.set(ni.name, s!);
        addPluginStatus(d, s!);
      }
    }
    let nodes = allNodes;
    if (pre.nodeNames) {
      const narrowed: NodeInfo[] = [];
      for (const name of pre.nodeNames) {
        const ni = snapshot.get(name);
        if (ni) narrowed.push(ni);
      }
      nodes = narrowed;
      d.nodeToStatus.absent = new Status(Code.UnschedulableAndUnresolvable, `node(s) didn't satisfy plugin(s) [${[...pre.plugins].sort().join(' ')}]`);
    }
    const n = nodes.length;
    const want = numFeasibleNodesToFind(fw.percentageOfNodesToScore ?? this.percentage, n);
    const feasible: NodeInfo[] = [];
    let processed = 0;
    if (n > 0) {
      const start = this.nextStartNodeIndex % n;
      if (filters.length === 0) {
        for (let i = 0; i < want; i++) feasible.push(nodes[(start + i) % n]!);
        processed = want;
      } else {
        const nominated = fw.handle.nominator?.hasNominatedPods() ?? false;
        for (let i = 0; i < n && feasible.length < want; i++) {
          const ni = nodes[(start + i) % n]!;
          const s = nominated ? fw.runFilterPluginsWithNominatedPods(state, pod, ni, filters) : fw.runFilterPlugins(state, pod, ni, filters);
          processed++;
          if (!s || s.code === Code.Success) {
            feasible.push(ni);
            continue;
          }
          if (s.code === Code.Error) return s;
          d.nodeToStatus.set(ni.name, s);
          addPluginStatus(d, s);
        }
      }
    }
    this.nextStartNodeIndex = (this.nextStartNodeIndex + processed) % allNodes.length;
    return feasible;
  }

  private prioritizeNodes(fw: Framework, state: CycleState, pod: PodInfo, nodes: NodeInfo[], record: boolean): { totals: number[] } | Status {
    if (!fw.hasScorePlugins()) return { totals: new Array<number>(nodes.length).fill(1) };
    const pre = fw.runPreScorePlugins(state, pod, nodes);
    if (!isSuccess(pre)) return pre!;
    const r = fw.runScorePlugins(state, pod, nodes, record);
    if (!isSuccess(r.status)) return r.status!;
    return { totals: r.scores!.totals };
  }

  /**
   * The highest total; ties broken uniformly at random, as upstream's reservoir sampling does,
   * but with one random draw: count the best nodes, then take the k-th of them.
   */
  private selectHost(nodes: readonly NodeInfo[], totals: readonly number[]): number {
    let bestScore = -Infinity;
    let ties = 0;
    let first = 0;
    for (let i = 0; i < nodes.length; i++) {
      const s = totals[i]!;
      if (s > bestScore) {
        bestScore = s;
        ties = 1;
        first = i;
      } else if (s === bestScore) ties++;
    }
    if (ties === 1) return first;
    let k = Math.floor(this.random() * ties);
    for (let i = first; i < nodes.length; i++) {
      if (totals[i] === bestScore && k-- === 0) return i;
    }
    return first;
  }
}

function topScores(nodes: readonly NodeInfo[], totals: readonly number[]): NodeScore[] {
  const top: NodeScore[] = [];
  for (let i = 0; i < nodes.length; i++) {
    const t = totals[i]!;
    if (top.length < NUMBER_OF_HIGHEST_SCORED_NODES_TO_REPORT || t > top[top.length - 1]!.total) {
      top.push({ name: nodes[i]!.name, total: t });
      top.sort((a, b) => b.total - a.total);
      if (top.length > NUMBER_OF_HIGHEST_SCORED_NODES_TO_REPORT) top.pop();
    }
  }
  return top;
}
