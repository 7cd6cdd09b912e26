// PodTopologySpread: DoNotSchedule constraints filter nodes whose domain would exceed maxSkew
// over the least-loaded eligible domain (minDomains treats missing domains as empty);
// ScheduleAnyway constraints (and the cluster defaults for pods owned by a Service, ReplicaSet,
// ReplicationController or StatefulSet) score nodes by how few matching pods their domains hold.

import { labelSelectorAsSelector, selectorString, type Requirement, type Selector } from '../../api/labels.ts';
import { TopologyCounts } from '../topology-counts.ts';
import { matcherOf, selects } from '../selectors.ts';
import { Action } from '../events.ts';
import type { CycleState } from '../framework/cycle-state.ts';
import {
  MAX_NODE_SCORE,
  type EnqueueExtensions,
  type FilterPlugin,
  type Handle,
  type PreFilterExtensions,
  type PreFilterPlugin,
  type PreScorePlugin,
  type ScorePlugin,
} from '../framework/interfaces.ts';
import type { NodeInfo } from '../nodeinfo.ts';
import { findUntoleratedTaint, isDoNotScheduleTaint, requiredNodeAffinity, type RequiredNodeAffinity } from '../nodeaffinity.ts';
import type { PodInfo } from '../podinfo.ts';
import { Code, fixedStatus, Status } from '../status.ts';
import { LABEL_HOSTNAME, LABEL_TOPOLOGY_ZONE, type Node, type Pod, type TopologySpreadConstraint } from '../types.ts';
import { PodTopologySpread as Name } from './names.ts';

export const ErrReasonConstraintsNotMatch = "node(s) didn't match pod topology spread constraints";
export const ErrReasonNodeLabelNotMatch = ErrReasonConstraintsNotMatch + ' (missing required label)';

const LABEL_MISSING = fixedStatus(Code.UnschedulableAndUnresolvable, ErrReasonNodeLabelNotMatch);
const SKEW = fixedStatus(Code.Unschedulable, ErrReasonConstraintsNotMatch);

const PRE_FILTER_KEY = 'PreFilter' + Name;
const PRE_SCORE_KEY = 'PreScore' + Name;
const MAX_INT32 = 2147483647;

/** upstream's systemDefaultConstraints. */
export const SYSTEM_DEFAULT_CONSTRAINTS: TopologySpreadConstraint[] = [
  { topologyKey: LABEL_HOSTNAME, whenUnsatisfiable: 'ScheduleAnyway', maxSkew: 3 },
  { topologyKey: LABEL_TOPOLOGY_ZONE, whenUnsatisfiable: 'ScheduleAnyway', maxSkew: 5 },
];

export interface PodTopologySpreadArgs {
  defaultConstraints?: TopologySpreadConstraint[];
  defaultingType?: 'System' | 'List';
}

interface Constraint {
  maxSkew: number;
  topologyKey: string;
  selector: Selector;
  minDomains: number;
  nodeAffinityPolicy: string;
  nodeTaintsPolicy: string;
}

function countMatching(ni: NodeInfo, selector: Selector, ns: string): number {
  if (!selector.nothing && selector.requirements.length === 0) return 0; // an empty selector counts nothing
  const pods = ni.pods;
  if (pods.length === 0) return 0;
  const match = matcherOf(selector);
  let n = 0;
  for (let i = 0; i < pods.length; i++) {
    const p = pods[i]!;
    const m = p.pod.metadata;
    if (m.deletionTimestamp || p.namespace !== ns) continue;
    if (match(m.labels)) n++;
  }
  return n;
}

function nodeHasAllKeys(node: Node, constraints: readonly Constraint[]): boolean {
  const labels = node.metadata.labels;
  if (!labels) return constraints.length === 0;
  for (const c of constraints) if (!Object.hasOwn(labels, c.topologyKey)) return false;
  return true;
}

function matchesInclusionPolicies(c: Constraint, pod: Pod, node: Node, req: RequiredNodeAffinity): boolean {
  if (c.nodeAffinityPolicy === 'Honor' && !req.match(node)) return false;
  if (c.nodeTaintsPolicy === 'Honor' && findUntoleratedTaint(node.spec?.taints, pod.spec.tolerations, isDoNotScheduleTaint)) return false;
  return true;
}

/**
 * What Filter needs per constraint: matching pods per eligible domain (possibly a view the cache
 * keeps: read-only, adjustments from AddPod/RemovePod go to `delta`), the eligible domains, and
 * the global minimum over them (upstream's critical paths; only the minimum is ever read).
 */
class PreFilterState {
  readonly constraints: Constraint[];
  readonly counts: TopologyCounts[];
  readonly domains: ReadonlyMap<string, number>[];
  private readonly delta: (Map<string, number> | null)[];
  private readonly mins: (number | undefined)[];

  constructor(constraints: Constraint[], counts: TopologyCounts[], domains: ReadonlyMap<string, number>[], delta?: (Map<string, number> | null)[], mins?: (number | undefined)[]) {
    this.constraints = constraints;
    this.counts = counts;
    this.domains = domains;
    this.delta = delta ?? constraints.map(() => null);
    this.mins = mins ?? constraints.map(() => undefined);
  }

  clone(): PreFilterState {
    return new PreFilterState(this.constraints, this.counts, this.domains, this.delta.map((d) => (d ? new Map(d) : null)), [...this.mins]);
  }

  matchNum(i: number, value: string): number {
    return this.counts[i]!.get(this.constraints[i]!.topologyKey, value) + (this.delta[i]?.get(value) ?? 0);
  }

  update(i: number, value: string, d: number): void {
    const m = (this.delta[i] ??= new Map());
    m.set(value, (m.get(value) ?? 0) + d);
    this.mins[i] = undefined;
  }

  minMatchNum(i: number): number {
    // fewer eligible domains than minDomains: the global minimum is taken as 0
    if (this.domains[i]!.size < this.constraints[i]!.minDomains) return 0;
    let m = this.mins[i];
    if (m === undefined) this.mins[i] = m = this.computeMin(i);
    return m;
  }

  private computeMin(i: number): number {
    const domains = this.domains[i]!;
    if (domains.size === 0) return MAX_INT32;
    if (!this.delta[i]) {
      // counts hold only non-zero domains: if some eligible domain is missing, the minimum is 0
      const byValue = this.counts[i]!.byKey.get(this.constraints[i]!.topologyKey);
      if (!byValue || byValue.size < domains.size) {
        let zero = false;
        for (const v of domains.keys()) {
          if (!byValue?.has(v)) {
            zero = true;
            break;
          }
        }
        if (zero) return 0;
      }
    }
    let min = MAX_INT32;
    for (const v of domains.keys()) {
      const n = this.matchNum(i, v);
      if (n < min) min = n;
    }
    return min;
  }
}

interface PreScoreState {
  constraints: Constraint[];
  ignoredNodes: Set<string>;
  /** Per constraint (null for hostname ones): domain value → matching pods in the domain. */
  pairCounts: (Map<string, number> | null)[];
  normalizingWeight: number[];
}

/** A selector with key=value requirements added for matchLabelKeys (upstream's mergeLabelSetWithSelector). */
function withMatchLabelKeys(selector: Selector, keys: readonly string[] | null | undefined, labels: Readonly<Record<string, string>> | undefined): Selector {
  if (!keys?.length || !labels || selector.nothing) return selector;
  const extra: Requirement[] = [];
  for (const k of keys) if (Object.hasOwn(labels, k)) extra.push({ key: k, operator: 'in', values: [labels[k]!] });
  if (extra.length === 0) return selector;
  return { requirements: [...selector.requirements, ...extra].sort((a, b) => (a.key < b.key ? -1 : a.key > b.key ? 1 : 0)) };
}

export function newPodTopologySpread(rawArgs: unknown, handle: Handle): PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin & EnqueueExtensions {
  const args = (rawArgs ?? {}) as PodTopologySpreadArgs;
  const defaultingType = args.defaultingType ?? 'System';
  if (defaultingType === 'System' && args.defaultConstraints?.length) {
    throw new Error('defaultConstraints: Invalid value: when .defaultingType is "System", .defaultConstraints must be empty');
  }
  const systemDefaulted = defaultingType === 'System';
  const defaults = systemDefaulted ? SYSTEM_DEFAULT_CONSTRAINTS : (args.defaultConstraints ?? []);
  for (const c of defaults) if (c.labelSelector) throw new Error('defaultConstraints.labelSelector: Forbidden: constraint must not define a selector, as they deduced for each pod');

  function parse(constraints: readonly TopologySpreadConstraint[], pod: Pod, action: string): Constraint[] {
    const out: Constraint[] = [];
    for (const c of constraints) {
      if (c.whenUnsatisfiable !== action) continue;
      out.push({
        maxSkew: c.maxSkew,
        topologyKey: c.topologyKey,
        selector: withMatchLabelKeys(labelSelectorAsSelector(c.labelSelector ?? null), c.matchLabelKeys, pod.metadata.labels),
        minDomains: c.minDomains ?? 1,
        nodeAffinityPolicy: c.nodeAffinityPolicy ?? 'Honor',
        nodeTaintsPolicy: c.nodeTaintsPolicy ?? 'Ignore',
      });
    }
    return out;
  }

  function defaultConstraints(pod: Pod, action: string): Constraint[] {
    const cs = parse(defaults, pod, action);
    if (cs.length === 0) return cs;
    const sel = handle.listers.defaultSelectors?.defaultSelector(pod);
    if (!sel || sel.nothing || sel.requirements.length === 0) return [];
    for (const c of cs) c.selector = sel;
    return cs;
  }

  function constraintsFor(pod: Pod, action: string): Constraint[] {
    const own = pod.spec.topologySpreadConstraints;
    return own?.length ? parse(own, pod, action) : defaultConstraints(pod, action);
  }

  function updateWithPod(s: PreFilterState, other: PodInfo, preemptor: PodInfo, node: Node, delta: number): void {
    if (other.namespace !== preemptor.namespace) return;
    if (!nodeHasAllKeys(node, s.constraints)) return;
    const req = requiredNodeAffinity(preemptor.pod);
    for (let i = 0; i < s.constraints.length; i++) {
      const c = s.constraints[i]!;
      if (!selects(c.selector, other.pod.metadata.labels)) continue;
      if (!matchesInclusionPolicies(c, preemptor.pod, node, req)) continue;
      s.update(i, node.metadata.labels![c.topologyKey]!, delta);
    }
  }

  /** The pods a constraint counts, as a weight for the cache's incremental counts. */
  function viewKey(c: Constraint, ns: string): string {
    return `pts#${ns}#${c.selector.nothing ? '!' : selectorString(c.selector)}#${c.topologyKey}`;
  }

  function viewWeight(c: Constraint, ns: string): (pi: PodInfo) => number {
    if (c.selector.nothing || c.selector.requirements.length === 0) return () => 0;
    const match = matcherOf(c.selector);
    return (pi) => (pi.namespace === ns && !pi.pod.metadata.deletionTimestamp && match(pi.pod.metadata.labels) ? 1 : 0);
  }

  /**
   * Whether the cache's view of a constraint is exactly what the plugin would count: no policy
   * excludes nodes, and every node with one constraint's key has all of them.
   */
  function viewsApply(constraints: readonly Constraint[], policy: readonly boolean[]): boolean {
    const snap = handle.snapshot();
    if (!snap.podCounts || !snap.domains || policy.some((p) => p)) return false;
    if (constraints.length === 1) return true;
    const total = snap.list().length;
    return constraints.every((c) => snap.domains!(c.topologyKey).nodes === total);
  }

  const extensions: PreFilterExtensions = {
    addPod(state, pod, toAdd, ni) {
      const s = state.read<PreFilterState>(PRE_FILTER_KEY);
      if (s) updateWithPod(s, toAdd, pod, ni.node, 1);
      return null;
    },
    removePod(state, pod, toRemove, ni) {
      const s = state.read<PreFilterState>(PRE_FILTER_KEY);
      if (s) updateWithPod(s, toRemove, pod, ni.node, -1);
      return null;
    },
  };

  return {
    name: Name,
    preFilter(state: CycleState, pi: PodInfo) {
      const pod = pi.pod;
      let constraints: Constraint[];
      try {
        constraints = constraintsFor(pod, 'DoNotSchedule');
      } catch (e) {
        return Status.error(e as Error);
      }
      if (constraints.length === 0) return new Status(Code.Skip);
      const req = requiredNodeAffinity(pod);
      const nc = constraints.length;
      // policies that cannot exclude any node are not evaluated per node
      const policy = constraints.map((c) => (c.nodeAffinityPolicy === 'Honor' && !req.matchesAll) || c.nodeTaintsPolicy === 'Honor');
      const snap = handle.snapshot();
      if (viewsApply(constraints, policy)) {
        const counts = constraints.map((c) => snap.podCounts!(viewKey(c, pi.namespace), viewWeight(c, pi.namespace), [c.topologyKey]));
        const domains = constraints.map((c) => snap.domains!(c.topologyKey).values);
        state.write(PRE_FILTER_KEY, new PreFilterState(constraints, counts, domains));
        return null;
      }
      const counts = constraints.map(() => new TopologyCounts());
      const domains = constraints.map(() => new Map<string, number>());
      const list = snap.list();
      nodes: for (let n = 0; n < list.length; n++) {
        const ni = list[n]!;
        const labels = ni.labels;
        for (let i = 0; i < nc; i++) if (labels[constraints[i]!.topologyKey] === undefined) continue nodes;
        for (let i = 0; i < nc; i++) {
          const c = constraints[i]!;
          if (policy[i] && !matchesInclusionPolicies(c, pod, ni.node, req)) continue;
          const v = labels[c.topologyKey]!;
          const d = domains[i]!;
          d.set(v, (d.get(v) ?? 0) + 1);
          if (ni.pods.length > 0) counts[i]!.add(c.topologyKey, v, countMatching(ni, c.selector, pi.namespace));
        }
      }
      state.write(PRE_FILTER_KEY, new PreFilterState(constraints, counts, domains));
      return null;
    },
    preFilterExtensions() {
      return extensions;
    },
    filter(state: CycleState, pi: PodInfo, ni: NodeInfo) {
      const s = state.read<PreFilterState>(PRE_FILTER_KEY);
      if (!s) return Status.error(`reading "${PRE_FILTER_KEY}" from cycleState: not found`);
      if (s.constraints.length === 0) return null;
      const labels = ni.labels;
      for (let i = 0; i < s.constraints.length; i++) {
        const c = s.constraints[i]!;
        const v = labels[c.topologyKey];
        if (v === undefined) return LABEL_MISSING;
        const selfMatch = selects(c.selector, pi.pod.metadata.labels) ? 1 : 0;
        const skew = s.matchNum(i, v) + selfMatch - s.minMatchNum(i);
        if (skew > c.maxSkew) return SKEW;
      }
      return null;
    },
    preScore(state: CycleState, pi: PodInfo, filtered: readonly NodeInfo[]) {
      const pod = pi.pod;
      const all = handle.snapshot().list();
      if (filtered.length === 0 || all.length === 0) return new Status(Code.Skip);
      let constraints: Constraint[];
      try {
        constraints = constraintsFor(pod, 'ScheduleAnyway');
      } catch (e) {
        return Status.error(e as Error);
      }
      if (constraints.length === 0) return new Status(Code.Skip);
      const requireAll = (pod.spec.topologySpreadConstraints?.length ?? 0) > 0 || !systemDefaulted;
      const ignored = new Set<string>();
      const nc = constraints.length;
      // per constraint (not for hostname, counted per node in Score): domain value → matching pods
      const counts: (Map<string, number> | null)[] = constraints.map((c) => (c.topologyKey === LABEL_HOSTNAME ? null : new Map<string, number>()));
      for (const ni of filtered) {
        if (requireAll && !nodeHasAllKeys(ni.node, constraints)) {
          ignored.add(ni.name);
          continue;
        }
        for (let i = 0; i < nc; i++) {
          const m = counts[i];
          if (!m) continue;
          const v = ni.labels[constraints[i]!.topologyKey] ?? '';
          if (!m.has(v)) m.set(v, 0);
        }
      }
      const normalizingWeight = constraints.map((c, i) => Math.log((c.topologyKey === LABEL_HOSTNAME ? filtered.length - ignored.size : counts[i]!.size) + 2));
      if (counts.some((m) => m !== null)) {
        const req = requiredNodeAffinity(pod);
        const policy = constraints.map((c) => (c.nodeAffinityPolicy === 'Honor' && !req.matchesAll) || c.nodeTaintsPolicy === 'Honor');
        const snap = handle.snapshot();
        if (viewsApply(constraints, policy) && constraints.every((c) => snap.domains!(c.topologyKey).nodes === all.length)) {
          for (let i = 0; i < nc; i++) {
            const m = counts[i];
            if (!m) continue;
            const c = constraints[i]!;
            const view = snap.podCounts!(viewKey(c, pi.namespace), viewWeight(c, pi.namespace), [c.topologyKey]);
            for (const v of m.keys()) m.set(v, view.get(c.topologyKey, v));
          }
        } else {
          for (let n = 0; n < all.length; n++) {
            const ni = all[n]!;
            if (ni.pods.length === 0) continue;
            if (requireAll && !nodeHasAllKeys(ni.node, constraints)) continue;
            for (let i = 0; i < nc; i++) {
              const m = counts[i];
              if (!m) continue;
              const c = constraints[i]!;
              const cur = m.get(ni.labels[c.topologyKey] ?? '');
              if (cur === undefined) continue;
              if (policy[i] && !matchesInclusionPolicies(c, pod, ni.node, req)) continue;
              const cnt = countMatching(ni, c.selector, pi.namespace);
              if (cnt !== 0) m.set(ni.labels[c.topologyKey] ?? '', cur + cnt);
            }
          }
        }
      }
      const pairCounts = counts;
      state.write(PRE_SCORE_KEY, { constraints, ignoredNodes: ignored, pairCounts, normalizingWeight } satisfies PreScoreState);
      return null;
    },
    score(state: CycleState, pi: PodInfo, ni: NodeInfo) {
      const s = state.read<PreScoreState>(PRE_SCORE_KEY);
      if (!s || (s.ignoredNodes.size > 0 && s.ignoredNodes.has(ni.name))) return 0;
      const labels = ni.labels;
      let score = 0;
      for (let i = 0; i < s.constraints.length; i++) {
        const c = s.constraints[i]!;
        const v = labels[c.topologyKey];
        if (v === undefined) continue;
        const m = s.pairCounts[i];
        const cnt = m ? (m.get(v) ?? 0) : countMatching(ni, c.selector, pi.namespace);
        score += cnt * s.normalizingWeight[i]! + (c.maxSkew - 1);
      }
      return Math.round(score);
    },
    normalizeScore(state: CycleState, _pi, nodes: readonly NodeInfo[], scores: number[]) {
      const s = state.read<PreScoreState>(PRE_SCORE_KEY);
      if (!s) return null;
      let min = Infinity;
      let max = 0;
      for (let i = 0; i < scores.length; i++) {
        if (s.ignoredNodes.has(nodes[i]!.name)) continue;
        const v = scores[i]!;
        if (v < min) min = v;
        if (v > max) max = v;
      }
      for (let i = 0; i < scores.length; i++) {
        if (s.ignoredNodes.has(nodes[i]!.name)) scores[i] = 0;
        else if (max === 0) scores[i] = MAX_NODE_SCORE;
        else scores[i] = Math.trunc((MAX_NODE_SCORE * (max + min - scores[i]!)) / max);
      }
      return null;
    },
    eventsToRegister() {
      return [
        { event: { resource: 'AssignedPod', action: Action.Add | Action.UpdatePodLabel | Action.Delete } },
        { event: { resource: 'Node', action: Action.Add | Action.Delete | Action.UpdateNodeLabel | Action.UpdateNodeTaint } },
      ];
    },
  };
}
