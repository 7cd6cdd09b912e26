// The pure part of the DaemonSet controller (upstream's pkg/controller/daemon and its util
// package): which nodes should run a daemon pod, the pod template with the tolerations and node
// affinity upstream adds, what to create and delete per node, the rolling-update plan within
// maxUnavailable / maxSurge, and the status counters.
import { clone, type KObject } from '../../api/meta.ts';
import { findUntoleratedTaint, podFitsNodeAffinity, type Taint, type Toleration } from '../workload/nodes.ts';
import { isPodAvailable, isPodReady, podPhase, type Json, type Pod } from '../workload/pods.ts';

export const DS_HASH_LABEL = 'controller-revision-hash';
export const TEMPLATE_GENERATION_LABEL = 'pod-template-generation';
export const TEMPLATE_GENERATION_ANNOTATION = 'deprecated.daemonset.template.generation';

export interface DaemonSet extends KObject {
  spec: Json;
  status?: Json;
}

/** The tolerations every daemon pod gets (util.AddOrUpdateDaemonPodTolerations), so node problems never evict it. */
export function daemonTolerations(hostNetwork: boolean): Toleration[] {
  const t: Toleration[] = [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/unreachable', operator: 'Exists', effect: 'NoExecute' },
    { key: 'node.kubernetes.io/disk-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/memory-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/pid-pressure', operator: 'Exists', effect: 'NoSchedule' },
    { key: 'node.kubernetes.io/unschedulable', operator: 'Exists', effect: 'NoSchedule' },
  ];
  if (hostNetwork) t.push({ key: 'node.kubernetes.io/network-unavailable', operator: 'Exists', effect: 'NoSchedule' });
  return t;
}

/** A toleration list with `add` added, replacing one with the same key, operator, value and effect (AddOrUpdateTolerationInPodSpec). */
export function addOrUpdateTolerations(existing: readonly Toleration[], add: readonly Toleration[]): Toleration[] {
  const out = [...existing];
  for (const t of add) {
    const same = (o: Toleration) => (o.key ?? '') === (t.key ?? '') && (o.operator || 'Equal') === (t.operator || 'Equal') && (o.value ?? '') === (t.value ?? '') && (o.effect ?? '') === (t.effect ?? '');
    const i = out.findIndex(same);
    if (i >= 0) out[i] = { ...t };
    else out.push({ ...t });
  }
  return out;
}

/** The template generation from the deprecated annotation, if present and numeric. */
export function templateGeneration(ds: DaemonSet): string | undefined {
  const v = ds.metadata.annotations?.[TEMPLATE_GENERATION_ANNOTATION];
  return v !== undefined && /^-?\d+$/.test(v) ? String(Number(v)) : undefined;
}

/** The template daemon pods are created from (util.CreatePodTemplate): tolerations, generation and hash labels. */
export function daemonPodTemplate(ds: DaemonSet, hash: string): Json {
  const t = clone(ds.spec?.template ?? {});
  t.spec = t.spec ?? {};
  t.spec.tolerations = addOrUpdateTolerations(t.spec.tolerations ?? [], daemonTolerations(!!t.spec.hostNetwork));
  t.metadata = t.metadata ?? {};
  t.metadata.labels = { ...(t.metadata.labels ?? {}) };
  const gen = templateGeneration(ds);
  if (gen !== undefined) t.metadata.labels[TEMPLATE_GENERATION_LABEL] = gen;
  if (hash) t.metadata.labels[DS_HASH_LABEL] = hash;
  return t;
}

/** Required node affinity selecting exactly this node by name (ReplaceDaemonSetPodNodeNameNodeAffinity). */
export function nodeNameAffinity(affinity: Json, nodeName: string): Json {
  const term = { matchFields: [{ key: 'metadata.name', operator: 'In', values: [nodeName] }] };
  const a = clone(affinity ?? {});
  a.nodeAffinity = a.nodeAffinity ?? {};
  a.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution = { ...(a.nodeAffinity.requiredDuringSchedulingIgnoredDuringExecution ?? {}), nodeSelectorTerms: [term] };
  return a;
}

/** The node a daemon pod is for: spec.nodeName, else the metadata.name In [node] field of its required affinity (GetTargetNodeName). */
export function targetNodeName(pod: Pod): string | undefined {
  if (pod.spec?.nodeName) return pod.spec.nodeName;
  const terms: Json[] = pod.spec?.affinity?.nodeAffinity?.requiredDuringSchedulingIgnoredDuringExecution?.nodeSelectorTerms ?? [];
  for (const term of terms) {
    for (const f of term?.matchFields ?? []) {
      if (f?.key === 'metadata.name' && f?.operator === 'In') return Array.isArray(f.values) && f.values.length === 1 ? f.values[0] : undefined;
    }
  }
  return undefined;
}

/**
 * Whether the DaemonSet wants a pod on the node (shouldRun), and whether a pod already there may
 * stay (shouldContinueRunning: untolerated NoSchedule taints stop new pods, only untolerated
 * NoExecute taints evict) — upstream's NodeShouldRunDaemonPod.
 */
export function nodeShouldRunDaemonPod(node: KObject, ds: DaemonSet): { shouldRun: boolean; shouldContinueRunning: boolean } {
  const spec = ds.spec?.template?.spec ?? {};
  if (spec.nodeName && spec.nodeName !== node.metadata.name) return { shouldRun: false, shouldContinueRunning: false };
  if (!podFitsNodeAffinity(spec, node)) return { shouldRun: false, shouldContinueRunning: false };
  const taints: Taint[] = (node as Json).spec?.taints ?? [];
  const tolerations = addOrUpdateTolerations(spec.tolerations ?? [], daemonTolerations(!!spec.hostNetwork));
  const blocking = findUntoleratedTaint(taints, tolerations, (t) => t.effect === 'NoSchedule' || t.effect === 'NoExecute');
  if (!blocking) return { shouldRun: true, shouldContinueRunning: true };
  const evicting = findUntoleratedTaint(taints, tolerations, (t) => t.effect === 'NoExecute');
  return { shouldRun: false, shouldContinueRunning: !evicting };
}

/** The pod is at the current template: its hash label, or (for old pods) its generation label, matches. */
export function isPodUpdated(pod: KObject, hash: string, generation: string | undefined): boolean {
  const labels = pod.metadata.labels ?? {};
  return (!!hash && labels[DS_HASH_LABEL] === hash) || (generation !== undefined && labels[TEMPLATE_GENERATION_LABEL] === generation);
}

/** Scheduled before unscheduled, then oldest first, then by name (podByCreationTimestampAndPhase). */
export function compareDaemonPods(a: Pod, b: Pod): number {
  const na = !!a.spec?.nodeName;
  const nb = !!b.spec?.nodeName;
  if (na !== nb) return na ? -1 : 1;
  const ca = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const cb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  if (ca !== cb) return ca - cb;
  return (a.metadata.name ?? '') < (b.metadata.name ?? '') ? -1 : (a.metadata.name ?? '') > (b.metadata.name ?? '') ? 1 : 0;
}

/** An int-or-percent scaled against total, rounding up (GetScaledValueFromIntOrPercent with roundUp). */
export function scaledValue(v: unknown, total: number, dflt: number): number {
  if (v === undefined || v === null) return dflt;
  if (typeof v === 'number') return v;
  const m = /^(\d+)%$/.exec(String(v));
  if (m) return Math.ceil((Number(m[1]) * total) / 100);
  const n = Number(v);
  if (Number.isInteger(n)) return n;
  throw new Error(`invalid value for IntOrString: invalid value ${JSON.stringify(v)}`);
}

export function allowsSurge(ds: DaemonSet): boolean {
  const ru = ds.spec?.updateStrategy?.rollingUpdate;
  if (ds.spec?.updateStrategy?.type !== 'RollingUpdate' || !ru) return false;
  try {
    return scaledValue(ru.maxSurge, 1, 0) !== 0;
  } catch {
    return false;
  }
}

/** maxSurge and maxUnavailable for `desired` nodes; both zero falls back to unavailable 1 (updatedDesiredNodeCounts). */
export function surgeAndUnavailable(ds: DaemonSet, desired: number): { maxSurge: number; maxUnavailable: number } {
  const ru = ds.spec?.updateStrategy?.rollingUpdate ?? {};
  const rolling = ds.spec?.updateStrategy?.type === 'RollingUpdate';
  let maxUnavailable = rolling ? scaledValue(ru.maxUnavailable, desired, 1) : 0;
  const maxSurge = rolling ? scaledValue(ru.maxSurge, desired, 0) : 0;
  if (desired > 0 && maxUnavailable === 0 && maxSurge === 0) maxUnavailable = 1;
  return { maxSurge, maxUnavailable };
}

export interface NodePlan {
  create: boolean;
  delete: string[];
  /** Failed pods whose deletion waits for the back-off. */
  failedInBackoff: boolean;
  /** Failed pods found (an event each). */
  failed: Pod[];
}

/**
 * What one node needs (podsShouldBeOnNode): a new pod when it should run one and has none; the
 * failed and succeeded pods deleted (failed ones unless `failedBackoff` holds them back); the
 * excess pods (all but the oldest without surge; with surge, one old and one new at most);
 * every pod when it may not continue running there.
 */
export function planNode(node: KObject, ds: DaemonSet, pods: Pod[] | undefined, hash: string, nowMs: number, failedBackoff: () => boolean): NodePlan {
  const { shouldRun, shouldContinueRunning } = nodeShouldRunDaemonPod(node, ds);
  const plan: NodePlan = { create: false, delete: [], failedInBackoff: false, failed: [] };
  if (shouldRun && pods === undefined) {
    plan.create = true;
    return plan;
  }
  if (shouldContinueRunning) {
    const running: Pod[] = [];
    for (const pod of pods ?? []) {
      if (pod.metadata.deletionTimestamp) continue;
      const phase = podPhase(pod);
      if (phase === 'Failed') {
        if (failedBackoff()) {
          plan.failedInBackoff = true;
          continue;
        }
        plan.failed.push(pod);
        plan.delete.push(pod.metadata.name!);
      } else if (phase === 'Succeeded') {
        plan.delete.push(pod.metadata.name!);
      } else running.push(pod);
    }
    running.sort(compareDaemonPods);
    if (!allowsSurge(ds)) {
      for (let i = 1; i < running.length; i++) plan.delete.push(running[i]!.metadata.name!);
      return plan;
    }
    if (running.length <= 1) {
      if (running.length === 0 && shouldRun) plan.create = true;
      return plan;
    }
    let oldestNew: Pod | undefined;
    let oldestOld: Pod | undefined;
    for (const pod of running) {
      if (pod.metadata.labels?.[DS_HASH_LABEL] === hash) {
        if (!oldestNew) {
          oldestNew = pod;
          continue;
        }
      } else if (!oldestOld) {
        oldestOld = pod;
        continue;
      }
      plan.delete.push(pod.metadata.name!);
    }
    if (oldestNew && oldestOld && (!isPodReady(oldestOld) || isPodAvailable(oldestNew, ds.spec?.minReadySeconds ?? 0, nowMs))) {
      plan.delete.push(oldestOld.metadata.name!);
    }
    return plan;
  }
  if (pods) for (const pod of pods) if (!pod.metadata.deletionTimestamp) plan.delete.push(pod.metadata.name!);
  return plan;
}

/** The newest (updated) and the old pod among a node's live pods; ok false when there are several of either. */
export function findUpdatedPodsOnNode(pods: readonly Pod[], hash: string, generation: string | undefined): { newPod?: Pod; oldPod?: Pod; ok: boolean } {
  let newPod: Pod | undefined;
  let oldPod: Pod | undefined;
  for (const pod of pods) {
    if (pod.metadata.deletionTimestamp) continue;
    if (isPodUpdated(pod, hash, generation)) {
      if (newPod) return { ok: false };
      newPod = pod;
    } else {
      if (oldPod) return { ok: false };
      oldPod = pod;
    }
  }
  return { newPod, oldPod, ok: true };
}

/**
 * The rolling update step (rollingUpdate): without surge, old pods to delete so that at most
 * maxUnavailable nodes lack an available pod (unavailable old pods always go); with surge, nodes
 * that get a new pod beside the old one (at most maxSurge at a time, immediately for unavailable
 * old pods) and old pods to delete once their replacement is available.
 * `nodeToPods` must hold an entry (possibly empty) for every node that should run a pod.
 */
export function planRollingUpdate(
  ds: DaemonSet,
  nodes: readonly KObject[],
  nodeToPods: ReadonlyMap<string, Pod[]>,
  hash: string,
  nowMs: number,
): { deletePods: string[]; createOnNodes: string[] } {
  const generation = templateGeneration(ds);
  const minReady = ds.spec?.minReadySeconds ?? 0;
  const byName = new Map(nodes.map((n) => [n.metadata.name!, n]));
  let desired = 0;
  for (const n of nodes) if (nodeShouldRunDaemonPod(n, ds).shouldRun) desired++;
  const { maxSurge, maxUnavailable } = surgeAndUnavailable(ds, desired);
  const available = (p: Pod) => isPodAvailable(p, minReady, nowMs);

  if (maxSurge === 0) {
    let numUnavailable = 0;
    const allowed: string[] = [];
    const candidates: string[] = [];
    for (const [, pods] of nodeToPods) {
      const { newPod, oldPod, ok } = findUpdatedPodsOnNode(pods, hash, generation);
      if (!ok) {
        numUnavailable++;
        continue;
      }
      if ((!oldPod && !newPod) || (oldPod && newPod)) numUnavailable++;
      else if (newPod) {
        if (!available(newPod)) numUnavailable++;
      } else if (oldPod) {
        if (!available(oldPod)) {
          allowed.push(oldPod.metadata.name!);
          numUnavailable++;
        } else if (numUnavailable < maxUnavailable) candidates.push(oldPod.metadata.name!);
      }
    }
    const remaining = Math.min(Math.max(0, maxUnavailable - numUnavailable), candidates.length);
    return { deletePods: [...allowed, ...candidates.slice(0, remaining)], createOnNodes: [] };
  }

  const oldToDelete: string[] = [];
  const shouldNotRun: string[] = [];
  const candidateNodes: string[] = [];
  const allowedNodes: string[] = [];
  let numSurge = 0;
  let numAvailable = 0;
  for (const [nodeName, pods] of nodeToPods) {
    const { newPod, oldPod, ok } = findUpdatedPodsOnNode(pods, hash, generation);
    if (!ok) {
      numSurge++;
      continue;
    }
    if (oldPod) {
      if (available(oldPod)) numAvailable++;
    } else if (newPod && available(newPod)) numAvailable++;
    if (!oldPod) continue;
    const node = byName.get(nodeName);
    const shouldRun = node ? nodeShouldRunDaemonPod(node, ds).shouldRun : false;
    if (!newPod) {
      if (!available(oldPod)) {
        if (!shouldRun) oldToDelete.push(oldPod.metadata.name!);
        else allowedNodes.push(nodeName);
      } else {
        if (!shouldRun) shouldNotRun.push(oldPod.metadata.name!);
        else if (numSurge < maxSurge) candidateNodes.push(nodeName);
      }
      continue;
    }
    if (!available(newPod)) {
      numSurge++;
      continue;
    }
    oldToDelete.push(oldPod.metadata.name!);
  }
  const deletable = Math.min(Math.max(0, numAvailable - desired), shouldNotRun.length);
  oldToDelete.push(...shouldNotRun.slice(0, deletable));
  const remainingSurge = Math.min(Math.max(0, maxSurge - numSurge), candidateNodes.length);
  return { deletePods: oldToDelete, createOnNodes: [...allowedNodes, ...candidateNodes.slice(0, remainingSurge)] };
}

export interface DaemonSetCounts {
  desiredNumberScheduled: number;
  currentNumberScheduled: number;
  numberMisscheduled: number;
  numberReady: number;
  updatedNumberScheduled: number;
  numberAvailable: number;
  numberUnavailable: number;
}

/** The status counters over nodes and their daemon pods (updateDaemonSetStatus). */
export function daemonSetCounts(ds: DaemonSet, nodes: readonly KObject[], nodeToPods: ReadonlyMap<string, Pod[]>, hash: string, nowMs: number): DaemonSetCounts {
  const c: DaemonSetCounts = { desiredNumberScheduled: 0, currentNumberScheduled: 0, numberMisscheduled: 0, numberReady: 0, updatedNumberScheduled: 0, numberAvailable: 0, numberUnavailable: 0 };
  const generation = templateGeneration(ds);
  for (const node of nodes) {
    const { shouldRun } = nodeShouldRunDaemonPod(node, ds);
    const pods = nodeToPods.get(node.metadata.name!) ?? [];
    const scheduled = pods.length > 0;
    if (shouldRun) {
      c.desiredNumberScheduled++;
      if (!scheduled) continue;
      c.currentNumberScheduled++;
      const pod = [...pods].sort(compareDaemonPods)[0]!;
      if (isPodReady(pod)) {
        c.numberReady++;
        if (isPodAvailable(pod, ds.spec?.minReadySeconds ?? 0, nowMs)) c.numberAvailable++;
      }
      if (isPodUpdated(pod, hash, generation)) c.updatedNumberScheduled++;
    } else if (scheduled) c.numberMisscheduled++;
  }
  c.numberUnavailable = c.desiredNumberScheduled - c.numberAvailable;
  return c;
}

/** The status as upstream serializes it (omitempty counters left out when zero). */
export function daemonSetStatusObject(c: DaemonSetCounts, observedGeneration: number | undefined, collisionCount: number | undefined, conditions?: Json[]): Json {
  const s: Json = {
    currentNumberScheduled: c.currentNumberScheduled,
    numberMisscheduled: c.numberMisscheduled,
    desiredNumberScheduled: c.desiredNumberScheduled,
    numberReady: c.numberReady,
  };
  if (observedGeneration) s.observedGeneration = observedGeneration;
  if (c.updatedNumberScheduled) s.updatedNumberScheduled = c.updatedNumberScheduled;
  if (c.numberAvailable) s.numberAvailable = c.numberAvailable;
  if (c.numberUnavailable) s.numberUnavailable = c.numberUnavailable;
  if (collisionCount != null) s.collisionCount = collisionCount;
  if (conditions?.length) s.conditions = conditions;
  return s;
}
