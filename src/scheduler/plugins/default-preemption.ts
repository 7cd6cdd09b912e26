// DefaultPreemption: when no node fits, find nodes where evicting lower-priority pods would
// make room, choose one by upstream's criteria (fewest PDB violations, lowest highest-victim
// priority, lowest priority sum, fewest victims, latest start), and return the plan: victims to
// delete and the node to nominate. The API calls are the caller's (the plan is data).

import { labelSelectorAsSelector, matchesLabels } from '../../api/labels.ts';
import type { CycleState } from '../framework/cycle-state.ts';
import type { Handle, PostFilterPlugin, PreemptionPlan } from '../framework/interfaces.ts';
import type { NodeInfo } from '../nodeinfo.ts';
import type { PodInfo } from '../podinfo.ts';
import { Code, FitError, isSuccess, newDiagnosis, NodeToStatus, Status, type MaybeStatus } from '../status.ts';
import type { Pod, PodDisruptionBudget } from '../types.ts';
import { DefaultPreemption as Name } from './names.ts';

export const ErrNoVictims = 'No preemption victims found for incoming pod';
export const ErrNotHelpful = 'Preemption is not helpful for scheduling';

export interface DefaultPreemptionArgs {
  minCandidateNodesPercentage?: number;
  minCandidateNodesAbsolute?: number;
}

interface Candidate {
  name: string;
  /** Sorted by importance, most important first. */
  victims: Pod[];
  numPDBViolations: number;
}

function startTime(pod: Pod, now: number): number {
  const t = pod.status?.startTime;
  return t ? Date.parse(t) : now;
}

/** upstream's MoreImportantPod: higher priority, then the one that started earlier. */
export function moreImportant(a: Pod, b: Pod, now: number): boolean {
  const pa = a.spec.priority ?? 0;
  const pb = b.spec.priority ?? 0;
  if (pa !== pb) return pa > pb;
  return startTime(a, now) < startTime(b, now);
}

/** A pod already being removed because the scheduler preempted it. */
function terminatingByPreemption(pod: Pod): boolean {
  if (!pod.metadata.deletionTimestamp) return false;
  return (pod.status?.conditions ?? []).some((c) => c.type === 'DisruptionTarget' && c.status === 'True' && c.reason === 'PreemptionByScheduler');
}

/**
 * upstream's filterPodsWithPDBViolation: walking victims in order, each matching PDB's
 * disruptionsAllowed is used up; a pod that takes a PDB below zero violates it.
 */
export function splitByPDBViolation(pods: readonly PodInfo[], pdbs: readonly PodDisruptionBudget[]): { violating: PodInfo[]; nonViolating: PodInfo[] } {
  const allowed = pdbs.map((p) => p.status?.disruptionsAllowed ?? 0);
  const selectors = pdbs.map((p) => {
    try {
      return labelSelectorAsSelector(p.spec?.selector ?? null);
    } catch {
      return undefined;
    }
  });
  const violating: PodInfo[] = [];
  const nonViolating: PodInfo[] = [];
  for (const pi of pods) {
    const pod = pi.pod;
    let violated = false;
    if (pod.metadata.labels && Object.keys(pod.metadata.labels).length > 0) {
      pdbs.forEach((pdb, i) => {
        if (pdb.metadata.namespace !== pod.metadata.namespace) return;
        const sel = selectors[i];
        if (!sel || sel.nothing || sel.requirements.length === 0 || !matchesLabels(sel, pod.metadata.labels)) return;
        if (pdb.status?.disruptedPods && Object.hasOwn(pdb.status.disruptedPods, pod.metadata.name ?? '')) return;
        allowed[i]!--;
        if (allowed[i]! < 0) violated = true;
      });
    }
    (violated ? violating : nonViolating).push(pi);
  }
  return { violating, nonViolating };
}

/** upstream's pickOneNodeForPreemption. */
export function pickOneNode(candidates: readonly Candidate[], now: number): Candidate | undefined {
  if (candidates.length === 0) return undefined;
  const INT32_OFFSET = 2147483648;
  const earliestStartOfHighest = (c: Candidate) => {
    let maxP = c.victims[0]!.spec.priority ?? 0;
    let earliest = startTime(c.victims[0]!, now);
    for (const p of c.victims) {
      const pr = p.spec.priority ?? 0;
      if (pr === maxP) earliest = Math.min(earliest, startTime(p, now));
      else if (pr > maxP) {
        maxP = pr;
        earliest = startTime(p, now);
      }
    }
    return earliest;
  };
  const scoreFuncs: ((c: Candidate) => number)[] = [
    (c) => -c.numPDBViolations,
    (c) => -(c.victims[0]!.spec.priority ?? 0),
    (c) => -c.victims.reduce((s, p) => s + (p.spec.priority ?? 0) + INT32_OFFSET, 0),
    (c) => -c.victims.length,
    (c) => earliestStartOfHighest(c),
  ];
  let all = [...candidates];
  for (const f of scoreFuncs) {
    let best = -Infinity;
    let selected: Candidate[] = [];
    for (const c of all) {
      const s = f(c);
      if (s > best) {
        best = s;
        selected = [];
      }
      if (s === best) selected.push(c);
    }
    if (selected.length === 1) return selected[0];
    all = selected;
  }
  return all[0];
}

export function newDefaultPreemption(rawArgs: unknown, handle: Handle): PostFilterPlugin {
  const args = (rawArgs ?? {}) as DefaultPreemptionArgs;
  const minPct = args.minCandidateNodesPercentage ?? 10;
  const minAbs = args.minCandidateNodesAbsolute ?? 100;
  if (minPct < 0 || minPct > 100) throw new Error('minCandidateNodesPercentage: Invalid value: not in valid range [0, 100]');
  if (minAbs < 0) throw new Error('minCandidateNodesAbsolute: Invalid value: not in valid range [0, inf)');
  if (minPct === 0 && minAbs === 0) throw new Error('minCandidateNodesPercentage and minCandidateNodesAbsolute cannot both be zero');

  function numCandidates(numNodes: number): number {
    let n = Math.trunc((numNodes * minPct) / 100);
    if (n < minAbs) n = minAbs;
    if (n > numNodes) n = numNodes;
    return n;
  }

  function eligible(pod: PodInfo, statuses: NodeToStatus): { ok: true } | { ok: false; msg: string } {
    if (pod.pod.spec.preemptionPolicy === 'Never') return { ok: false, msg: 'not eligible due to preemptionPolicy=Never.' };
    const nom = pod.pod.status?.nominatedNodeName;
    if (nom) {
      if (statuses.get(nom).code === Code.UnschedulableAndUnresolvable) return { ok: true };
      const ni = handle.snapshot().get(nom);
      if (ni) {
        for (const p of ni.pods) {
          if (p.priority < pod.priority && terminatingByPreemption(p.pod)) return { ok: false, msg: 'not eligible due to a terminating pod on the nominated node.' };
        }
      }
    }
    return { ok: true };
  }

  /** upstream's SelectVictimsOnNode, on a private copy of the node and state. */
  function selectVictims(state: CycleState, pod: PodInfo, ni: NodeInfo, pdbs: readonly PodDisruptionBudget[]): { victims?: Pod[]; violations?: number; status: MaybeStatus } {
    const fw = handle.framework!;
    const now = handle.now();
    const potential = ni.pods.filter((p) => p.priority < pod.priority);
    for (const p of potential) {
      ni.removePod(p.uid);
      const s = fw.runPreFilterExtensionRemovePod(state, pod, p, ni);
      if (!isSuccess(s)) return { status: s };
    }
    if (potential.length === 0) return { status: new Status(Code.UnschedulableAndUnresolvable, ErrNoVictims) };
    const fits = fw.runFilterPluginsWithNominatedPods(state, pod, ni);
    if (!isSuccess(fits)) return { status: fits };
    potential.sort((a, b) => (moreImportant(a.pod, b.pod, now) ? -1 : moreImportant(b.pod, a.pod, now) ? 1 : 0));
    const { violating, nonViolating } = splitByPDBViolation(potential, pdbs);
    const victims: PodInfo[] = [];
    let violations = 0;
    const reprieve = (p: PodInfo): boolean | Status => {
      ni.addPod(p);
      const s = fw.runPreFilterExtensionAddPod(state, pod, p, ni);
      if (!isSuccess(s)) return s!;
      const ok = isSuccess(fw.runFilterPluginsWithNominatedPods(state, pod, ni));
      if (!ok) {
        ni.removePod(p.uid);
        const r = fw.runPreFilterExtensionRemovePod(state, pod, p, ni);
        if (!isSuccess(r)) return r!;
        victims.push(p);
      }
      return ok;
    };
    for (const p of violating) {
      const r = reprieve(p);
      if (r instanceof Status) return { status: r };
      if (!r) violations++;
    }
    for (const p of nonViolating) {
      const r = reprieve(p);
      if (r instanceof Status) return { status: r };
    }
    if (violating.length > 0 && nonViolating.length > 0) victims.sort((a, b) => (moreImportant(a.pod, b.pod, now) ? -1 : moreImportant(b.pod, a.pod, now) ? 1 : 0));
    return { victims: victims.map((v) => v.pod), violations, status: null };
  }

  return {
    name: Name,
    postFilter(state: CycleState, pod: PodInfo, statuses: NodeToStatus) {
      const wrap = (s: Status) => (s.reasons.length ? new Status(s.code, `preemption: ${s.message()}`) : s);
      const el = eligible(pod, statuses);
      if (!el.ok) return { status: wrap(new Status(Code.Unschedulable, el.msg)) };
      const snapshot = handle.snapshot();
      const all = snapshot.list();
      if (all.length === 0) return { status: Status.error('no nodes available') };
      // Nodes where the failure might be resolved by removing pods.
      const potential = all.filter((ni) => statuses.get(ni.name).code === Code.Unschedulable);
      const nodeStatuses = new NodeToStatus();
      const nonViolating: Candidate[] = [];
      const violatingC: Candidate[] = [];
      if (potential.length > 0) {
        const pdbs = handle.listers.pdbs?.list() ?? [];
        const offset = Math.floor(handle.random() * potential.length);
        const want = numCandidates(potential.length);
        for (let i = 0; i < potential.length; i++) {
          const orig = potential[(offset + i) % potential.length]!;
          const ni = orig.clone();
          const r = selectVictims(state.clone(), pod, ni, pdbs);
          if (isSuccess(r.status) && r.victims && r.victims.length > 0) {
            const c = { name: ni.name, victims: r.victims, numPDBViolations: r.violations ?? 0 };
            (c.numPDBViolations === 0 ? nonViolating : violatingC).push(c);
            if (nonViolating.length > 0 && nonViolating.length + violatingC.length >= want) break;
            continue;
          }
          const st = isSuccess(r.status) ? Status.error(`expected at least one victim pod on node "${ni.name}"`) : r.status!;
          if (st.code === Code.Error) return { status: st };
          nodeStatuses.set(ni.name, st);
        }
      }
      const candidates = [...nonViolating, ...violatingC];
      if (candidates.length === 0) {
        const d = newDiagnosis();
        d.nodeToStatus = nodeStatuses;
        d.nodeToStatus.absent = new Status(Code.UnschedulableAndUnresolvable, ErrNotHelpful);
        const msg = new FitError(all.length, d).message();
        // clear a stale nomination: preemption will not make room anywhere
        return { result: { nominatingInfo: { mode: 'override', nominatedNodeName: '' } }, status: wrap(new Status(Code.Unschedulable, msg)) };
      }
      const best = pickOneNode(candidates, handle.now());
      if (!best) return { status: wrap(new Status(Code.Unschedulable, 'no candidate node for preemption')) };
      const nominatedPodsToClear = (handle.nominator?.nominatedPodsForNode(best.name) ?? []).filter((p) => p.priority < pod.priority).map((p) => p.pod);
      const preemption: PreemptionPlan = { nodeName: best.name, victims: best.victims, nominatedPodsToClear, numPDBViolations: best.numPDBViolations };
      return { result: { nominatingInfo: { mode: 'override', nominatedNodeName: best.name }, preemption }, status: null };
    },
  };
}
