// InterPodAffinity: required pod affinity and anti-affinity filter nodes by the pods already
// running in each topology domain (and existing pods' anti-affinity keeps the incoming pod out of
// theirs); preferred terms, and existing pods' terms toward the incoming pod, score them.

import { matchesLabels, NOTHING, type Labels } from '../../api/labels.ts';
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
import { affinityTermMatches, TermMatchMemo, type AffinityTerm, type PodInfo, type WeightedAffinityTerm } from '../podinfo.ts';
import { Code, fixedStatus, Status } from '../status.ts';
import { TopologyCounts as Counts } from '../topology-counts.ts';
import type { Node, Pod } from '../types.ts';
import { InterPodAffinity as Name } from './names.ts';

export const ErrReasonExistingAntiAffinityRulesNotMatch = "node(s) didn't satisfy existing pods anti-affinity rules";
export const ErrReasonAffinityRulesNotMatch = "node(s) didn't match pod affinity rules";
export const ErrReasonAntiAffinityRulesNotMatch = "node(s) didn't match pod anti-affinity rules";

const AFFINITY_MISMATCH = fixedStatus(Code.UnschedulableAndUnresolvable, ErrReasonAffinityRulesNotMatch);
const ANTI_MISMATCH = fixedStatus(Code.Unschedulable, ErrReasonAntiAffinityRulesNotMatch);
const EXISTING_ANTI_MISMATCH = fixedStatus(Code.Unschedulable, ErrReasonExistingAntiAffinityRulesNotMatch);

const PRE_FILTER_KEY = 'PreFilter' + Name;
const PRE_SCORE_KEY = 'PreScore' + Name;

function hasKeys(o: Readonly<Record<string, string>>): boolean {
  for (const _ in o) return true;
  return false;
}

export interface InterPodAffinityArgs {
  hardPodAffinityWeight?: number;
  ignorePreferredTermsOfExistingPods?: boolean;
}

function matchesAllTerms(terms: readonly AffinityTerm[], pod: Pod): boolean {
  if (terms.length === 0) return false;
  for (const t of terms) if (!affinityTermMatches(t, pod, undefined)) return false;
  return true;
}

class PreFilterState {
  readonly pod: PodInfo;
  readonly affinityTerms: AffinityTerm[];
  readonly antiAffinityTerms: AffinityTerm[];
  readonly namespaceLabels: Labels;
  /** Existing pods' required anti-affinity terms matching the incoming pod, per pair. */
  existingAntiAffinityCounts: Counts;
  /** Pods matching all of the incoming pod's required affinity terms, per pair. */
  affinityCounts: Counts;
  /** Pods matching the incoming pod's required anti-affinity terms, per pair. */
  antiAffinityCounts: Counts;

  constructor(pod: PodInfo, affinityTerms: AffinityTerm[], antiAffinityTerms: AffinityTerm[], namespaceLabels: Labels, existingAnti: Counts, affinityCounts: Counts, antiCounts: Counts) {
    this.pod = pod;
    this.affinityTerms = affinityTerms;
    this.antiAffinityTerms = antiAffinityTerms;
    this.namespaceLabels = namespaceLabels;
    this.existingAntiAffinityCounts = existingAnti;
    this.affinityCounts = affinityCounts;
    this.antiAffinityCounts = antiCounts;
  }

  clone(): PreFilterState {
    const c = new PreFilterState(
      this.pod,
      this.affinityTerms,
      this.antiAffinityTerms,
      this.namespaceLabels,
      this.existingAntiAffinityCounts.clone(),
      this.affinityCounts.clone(),
      this.antiAffinityCounts.clone(),
    );
    c.owned = true;
    return c;
  }

  /** False while the counts may be the cache's shared ones: copied before the first change. */
  private owned = false;

  /** upstream's preFilterState.updateWithPod: account pod `other` on node as added (+1) or removed (-1). */
  updateWithPod(other: PodInfo, node: Node, delta: number): void {
    if (!this.owned) {
      this.existingAntiAffinityCounts = this.existingAntiAffinityCounts.clone();
      this.affinityCounts = this.affinityCounts.clone();
      this.antiAffinityCounts = this.antiAffinityCounts.clone();
      this.owned = true;
    }
    const labels = node.metadata.labels ?? {};
    for (const t of other.requiredAntiAffinityTerms) if (affinityTermMatches(t, this.pod.pod, this.namespaceLabels)) this.existingAntiAffinityCounts.bump(labels, t.topologyKey, delta);
    if (matchesAllTerms(this.affinityTerms, other.pod)) for (const t of this.affinityTerms) this.affinityCounts.bump(labels, t.topologyKey, delta);
    for (const t of this.antiAffinityTerms) if (affinityTermMatches(t, other.pod, undefined)) this.antiAffinityCounts.bump(labels, t.topologyKey, delta);
  }
}

/** The pod's carrying count of one interned term. */
function occurrences(terms: readonly AffinityTerm[], t: AffinityTerm): number {
  let n = 0;
  for (const x of terms) if (x === t) n++;
  return n;
}

/** One of the counts as it is (shared) when there is one, else their sum. */
function sum(parts: Counts[]): Counts {
  if (parts.length === 1) return parts[0]!;
  const out = new Counts();
  for (const p of parts) out.merge(p);
  return out;
}

interface ScoreState {
  /** topologyKey → value → score. */
  topologyScore: Map<string, Map<string, number>>;
}

export function newInterPodAffinity(rawArgs: unknown, handle: Handle): PreFilterPlugin & FilterPlugin & PreScorePlugin & ScorePlugin & EnqueueExtensions {
  const args = (rawArgs ?? {}) as InterPodAffinityArgs;
  const hardWeight = args.hardPodAffinityWeight ?? 1;
  if (hardWeight < 0 || hardWeight > 100) throw new Error('hardPodAffinityWeight: Invalid value: not in valid range [0-100]');
  const ignorePreferredOfExisting = args.ignorePreferredTermsOfExistingPods ?? false;

  const nsLabelsOf = (ns: string): Labels => handle.listers.namespaces?.get(ns)?.metadata.labels;

  /**
   * The incoming pod's terms with a namespaceSelector unrolled into namespace names (upstream's
   * mergeAffinityTermNamespacesIfNotEmpty), so matching never needs other pods' namespace labels.
   */
  function merged<T extends AffinityTerm>(terms: readonly T[]): T[] {
    return terms.map((t) => {
      if (t.namespaceSelector.nothing || t.namespaceSelector.requirements.length === 0) return t;
      const namespaces = new Set(t.namespaces);
      for (const ns of handle.listers.namespaces?.list() ?? []) {
        if (matchesLabels(t.namespaceSelector, ns.metadata.labels)) namespaces.add(ns.metadata.name ?? '');
      }
      // a new term (namespaces unrolled): it has no identity in the cache's indexes
      return { ...t, namespaces, namespaceSelector: NOTHING, id: undefined };
    });
  }

  const extensions: PreFilterExtensions = {
    addPod(state, _pod, toAdd, ni) {
      state.read<PreFilterState>(PRE_FILTER_KEY)?.updateWithPod(toAdd, ni.node, 1);
      return null;
    },
    removePod(state, _pod, toRemove, ni) {
      state.read<PreFilterState>(PRE_FILTER_KEY)?.updateWithPod(toRemove, ni.node, -1);
      return null;
    },
  };

  function processTerm(m: Map<string, Map<string, number>>, t: AffinityTerm, weight: number, pod: Pod, nsLabels: Labels, node: Node, mult: number): void {
    if (!affinityTermMatches(t, pod, nsLabels)) return;
    const v = node.metadata.labels?.[t.topologyKey];
    if (v === undefined) return;
    let byValue = m.get(t.topologyKey);
    if (!byValue) m.set(t.topologyKey, (byValue = new Map()));
    byValue.set(v, (byValue.get(v) ?? 0) + weight * mult);
  }

  return {
    name: Name,
    preFilter(state: CycleState, pod: PodInfo) {
      if (pod.parseError) return Status.error(pod.parseError);
      const snapshot = handle.snapshot();
      const affinityTerms = merged(pod.requiredAffinityTerms);
      const antiAffinityTerms = merged(pod.requiredAntiAffinityTerms);
      const namespaceLabels = nsLabelsOf(pod.namespace);
      // existing pods' terms are mostly shared (interned) objects: match each distinct one once
      const memo = new TermMatchMemo(pod.pod, namespaceLabels);
      let existingAnti: Counts;
      const indexed = snapshot.podCounts && snapshot.existingAntiAffinityTerms;
      if (indexed) {
        // the cache counts, per term, the pods carrying it: only terms matching this pod matter
        const parts: Counts[] = [];
        for (const t of snapshot.existingAntiAffinityTerms!()) {
          if (t.id === undefined || !memo.matches(t)) continue;
          parts.push(snapshot.podCounts!(`carries-anti#${t.id}`, (pi) => occurrences(pi.requiredAntiAffinityTerms, t), [t.topologyKey]));
        }
        existingAnti = parts.length ? sum(parts) : new Counts();
      } else {
        existingAnti = new Counts();
        for (const ni of snapshot.havePodsWithRequiredAntiAffinityList()) {
          for (const existing of ni.podsWithRequiredAntiAffinity) {
            for (const t of existing.requiredAntiAffinityTerms) if (memo.matches(t)) existingAnti.bump(ni.labels, t.topologyKey, 1);
          }
        }
      }
      let affinityCounts = new Counts();
      let antiCounts = new Counts();
      const allIdentified = affinityTerms.every((t) => t.id !== undefined) && antiAffinityTerms.every((t) => t.id !== undefined);
      if (snapshot.podCounts && allIdentified) {
        if (affinityTerms.length > 0) {
          affinityCounts = snapshot.podCounts(
            `matches-all#${affinityTerms.map((t) => t.id).join(',')}`,
            (pi) => (matchesAllTerms(affinityTerms, pi.pod) ? 1 : 0),
            affinityTerms.map((t) => t.topologyKey),
          );
        }
        if (antiAffinityTerms.length > 0) {
          antiCounts = sum(antiAffinityTerms.map((t) => snapshot.podCounts!(`matches#${t.id}`, (pi) => (affinityTermMatches(t, pi.pod, undefined) ? 1 : 0), [t.topologyKey])));
        }
      } else if (affinityTerms.length > 0 || antiAffinityTerms.length > 0) {
        for (const ni of snapshot.list()) {
          const pods = ni.pods;
          for (let i = 0; i < pods.length; i++) {
            const existing = pods[i]!.pod;
            if (affinityTerms.length > 0 && matchesAllTerms(affinityTerms, existing)) for (const t of affinityTerms) affinityCounts.bump(ni.labels, t.topologyKey, 1);
            for (const t of antiAffinityTerms) if (affinityTermMatches(t, existing, undefined)) antiCounts.bump(ni.labels, t.topologyKey, 1);
          }
        }
      }
      if (existingAnti.size === 0 && affinityTerms.length === 0 && antiAffinityTerms.length === 0) return new Status(Code.Skip);
      state.write(PRE_FILTER_KEY, new PreFilterState(pod, affinityTerms, antiAffinityTerms, namespaceLabels, existingAnti, affinityCounts, antiCounts));
      return null;
    },
    preFilterExtensions() {
      return extensions;
    },
    filter(state: CycleState, _pod, ni: NodeInfo) {
      const s = state.read<PreFilterState>(PRE_FILTER_KEY);
      if (!s) return Status.error(`reading "${PRE_FILTER_KEY}" from cycleState: not found`);
      const labels = ni.labels;
      // pod affinity: every term's topology must exist on the node and hold a matching pod,
      // unless no pod anywhere matches and the pod matches its own terms (the first of a group)
      let podsExist = true;
      for (const t of s.affinityTerms) {
        const v = labels[t.topologyKey];
        if (v === undefined) return AFFINITY_MISMATCH;
        if (s.affinityCounts.get(t.topologyKey, v) <= 0) podsExist = false;
      }
      if (!podsExist && !(s.affinityCounts.size === 0 && matchesAllTerms(s.affinityTerms, s.pod.pod))) {
        return AFFINITY_MISMATCH;
      }
      if (s.antiAffinityCounts.size > 0) {
        for (const t of s.antiAffinityTerms) {
          const v = labels[t.topologyKey];
          if (v !== undefined && s.antiAffinityCounts.get(t.topologyKey, v) > 0) return ANTI_MISMATCH;
        }
      }
      if (s.existingAntiAffinityCounts.size > 0 && s.existingAntiAffinityCounts.anyOn(labels)) {
        return EXISTING_ANTI_MISMATCH;
      }
      return null;
    },
    preScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]) {
      if (nodes.length === 0) return null;
      const hasPreferred = pod.preferredAffinityTerms.length > 0 || pod.preferredAntiAffinityTerms.length > 0;
      if (ignorePreferredOfExisting && !hasPreferred) return new Status(Code.Skip);
      const snapshot = handle.snapshot();
      // without preferred terms of its own, only existing pods whose terms score others matter
      // (anti-affinity-only pods contribute nothing to scores)
      const scoring = !hasPreferred && !!snapshot.havePodsWithScoringAffinityList;
      const all = hasPreferred ? snapshot.list() : scoring ? snapshot.havePodsWithScoringAffinityList!() : snapshot.havePodsWithAffinityList();
      if (all.length === 0) return fixedStatus(Code.Skip);
      const preferredAffinity: WeightedAffinityTerm[] = merged(pod.preferredAffinityTerms);
      const preferredAnti: WeightedAffinityTerm[] = merged(pod.preferredAntiAffinityTerms);
      const nsLabels = nsLabelsOf(pod.namespace);
      const scores = new Map<string, Map<string, number>>();
      for (const ni of all) {
        const node = ni.node;
        if (!hasKeys(ni.labels)) continue;
        const pods = hasPreferred ? ni.pods : scoring ? ni.podsWithScoringAffinity : ni.podsWithAffinity;
        for (const existing of pods) {
          for (const t of preferredAffinity) processTerm(scores, t, t.weight, existing.pod, undefined, node, 1);
          for (const t of preferredAnti) processTerm(scores, t, t.weight, existing.pod, undefined, node, -1);
          // existing pods' terms toward the incoming pod (required anti-affinity does not score)
          if (hardWeight > 0) for (const t of existing.requiredAffinityTerms) processTerm(scores, t, hardWeight, pod.pod, nsLabels, node, 1);
          for (const t of existing.preferredAffinityTerms) processTerm(scores, t, t.weight, pod.pod, nsLabels, node, 1);
          for (const t of existing.preferredAntiAffinityTerms) processTerm(scores, t, t.weight, pod.pod, nsLabels, node, -1);
        }
      }
      // drop zero entries: upstream only keeps topology scores that some pod contributed to
      if (scores.size === 0) return new Status(Code.Skip);
      state.write(PRE_SCORE_KEY, { topologyScore: scores } satisfies ScoreState);
      return null;
    },
    score(state: CycleState, _pod, ni: NodeInfo) {
      const s = state.read<ScoreState>(PRE_SCORE_KEY);
      if (!s) return 0;
      const labels = ni.node.metadata.labels;
      if (!labels) return 0;
      let score = 0;
      for (const [key, byValue] of s.topologyScore) {
        const v = labels[key];
        if (v !== undefined) score += byValue.get(v) ?? 0;
      }
      return score;
    },
    normalizeScore(state: CycleState, _pod, _nodes, scores: number[]) {
      const s = state.read<ScoreState>(PRE_SCORE_KEY);
      if (!s || s.topologyScore.size === 0) return null;
      let min = Infinity;
      let max = -Infinity;
      for (const v of scores) {
        if (v > max) max = v;
        if (v < min) min = v;
      }
      const diff = max - min;
      for (let i = 0; i < scores.length; i++) scores[i] = diff > 0 ? Math.trunc(MAX_NODE_SCORE * ((scores[i]! - min) / diff)) : 0;
      return null;
    },
    eventsToRegister() {
      return [
        { event: { resource: 'AssignedPod', action: Action.Add | Action.UpdatePodLabel | Action.Delete } },
        { event: { resource: 'Node', action: Action.Add | Action.UpdateNodeLabel } },
        { event: { resource: 'Namespace', action: Action.Add | Action.UpdateOther } },
      ];
    },
  };
}
