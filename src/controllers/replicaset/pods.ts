// Pod predicates and the deletion ranking the replica controllers use, as upstream's
// pkg/controller/controller_utils.go and pkg/api/v1/pod define them. Pure functions over the wire
// form; times come in as milliseconds since the epoch so callers pass their injected clock.
import type { OwnerReference, KObject } from '../../api/meta.ts';
import type { Pod, PodCondition, PodTemplateSpec } from './types.ts';

/** Not terminal and not being deleted (upstream's IsPodActive). */
export function isPodActive(p: Pod): boolean {
  const phase = p.status?.phase;
  return phase !== 'Succeeded' && phase !== 'Failed' && !p.metadata.deletionTimestamp;
}

export function podReadyCondition(p: Pod): PodCondition | undefined {
  return p.status?.conditions?.find((c) => c.type === 'Ready');
}

export function isPodReady(p: Pod): boolean {
  return podReadyCondition(p)?.status === 'True';
}

function timeMs(t: string | undefined | null): number {
  if (!t) return 0;
  const v = Date.parse(t);
  return Number.isNaN(v) ? 0 : v;
}

/**
 * Ready for at least minReadySeconds (upstream's IsPodAvailable): ready, and either no minimum or
 * a Ready transition time that lies more than minReadySeconds before now.
 */
export function isPodAvailable(p: Pod, minReadySeconds: number, nowMs: number): boolean {
  if (!isPodReady(p)) return false;
  if (!minReadySeconds) return true;
  const since = timeMs(podReadyCondition(p)?.lastTransitionTime);
  return since !== 0 && since + minReadySeconds * 1000 < nowMs;
}

/** When a ready pod became ready (0 when not ready or unknown). */
export function podReadyTime(p: Pod): number {
  return isPodReady(p) ? timeMs(podReadyCondition(p)?.lastTransitionTime) : 0;
}

function maxContainerRestarts(p: Pod): number {
  let max = 0;
  for (const c of p.status?.containerStatuses ?? []) max = Math.max(max, c.restartCount ?? 0);
  return max;
}

const PHASE_ORDINAL: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/** upstream's pod-deletion-cost annotation: lower cost is deleted first; invalid or absent is 0. */
export const POD_DELETION_COST = 'controller.kubernetes.io/pod-deletion-cost';

function deletionCost(p: Pod): number {
  const v = p.metadata.annotations?.[POD_DELETION_COST];
  if (v === undefined || !/^[+-]?\d+$/.test(v)) return 0;
  const n = Number(v);
  return n >= -2147483648 && n <= 2147483647 ? n : 0;
}

/** Log2 buckets of age, as upstream's logarithmicRankDiff (durations in nanoseconds). */
function logRankDiff(t1: number, t2: number, now: number): number {
  const d1 = (now - t1) * 1e6;
  const d2 = (now - t2) * 1e6;
  const r1 = d1 > 0 ? Math.floor(Math.log2(d1)) : -1;
  const r2 = d2 > 0 ? Math.floor(Math.log2(d2)) : -1;
  return r1 - r2;
}

/** upstream's afterOrZero: a zero time sorts first, otherwise the later time does. */
function afterOrZero(t1: number, t2: number): boolean {
  if (t1 === 0 || t2 === 0) return t1 === 0;
  return t1 > t2;
}

export interface RankedPod {
  pod: Pod;
  /** Active related pods on the same node (more colocated sorts first). */
  rank: number;
}

/**
 * Whether a should be deleted before b: upstream's ActivePodsWithRanks.Less with the
 * PodDeletionCost and LogarithmicScaleDown features on (their defaults):
 * 1. unscheduled before scheduled; 2. Pending < Unknown < Running; 3. not ready before ready;
 * 4. lower pod-deletion-cost first; 5. more colocated related pods first; 6. ready for a shorter
 * time first (log2 buckets, then UID); 7. more container restarts first; 8. newer first (log2
 * buckets, then UID).
 */
export function deleteBefore(a: RankedPod, b: RankedPod, nowMs: number): boolean {
  const pa = a.pod;
  const pb = b.pod;
  const na = pa.spec?.nodeName ?? '';
  const nb = pb.spec?.nodeName ?? '';
  if (na !== nb && (na === '' || nb === '')) return na === '';
  const oa = PHASE_ORDINAL[pa.status?.phase ?? ''] ?? 0;
  const ob = PHASE_ORDINAL[pb.status?.phase ?? ''] ?? 0;
  if (oa !== ob) return oa < ob;
  const ra = isPodReady(pa);
  const rb = isPodReady(pb);
  if (ra !== rb) return !ra;
  const ca = deletionCost(pa);
  const cb = deletionCost(pb);
  if (ca !== cb) return ca < cb;
  if (a.rank !== b.rank) return a.rank > b.rank;
  const uidLess = () => (pa.metadata.uid ?? '') < (pb.metadata.uid ?? '');
  if (ra && rb) {
    const t1 = podReadyTime(pa);
    const t2 = podReadyTime(pb);
    if (t1 !== t2) {
      if (!nowMs || t1 === 0 || t2 === 0) return afterOrZero(t1, t2);
      const d = logRankDiff(t1, t2, nowMs);
      return d === 0 ? uidLess() : d < 0;
    }
  }
  const ma = maxContainerRestarts(pa);
  const mb = maxContainerRestarts(pb);
  if (ma !== mb) return ma > mb;
  const c1 = timeMs(pa.metadata.creationTimestamp);
  const c2 = timeMs(pb.metadata.creationTimestamp);
  if (c1 !== c2) {
    if (!nowMs || c1 === 0 || c2 === 0) return afterOrZero(c1, c2);
    const d = logRankDiff(c1, c2, nowMs);
    return d === 0 ? uidLess() : d < 0;
  }
  return false;
}

/**
 * The `diff` pods to delete, best candidates first (upstream's getPodsToDelete): each pod is
 * ranked by how many active related pods (those of every replica set with the same owner) share
 * its node. Does not change `pods`.
 */
export function podsToDelete(pods: readonly Pod[], related: readonly Pod[], diff: number, nowMs: number): Pod[] {
  if (diff >= pods.length) return [...pods];
  const onNode = new Map<string, number>();
  for (const p of related) {
    if (!isPodActive(p)) continue;
    const n = p.spec?.nodeName ?? '';
    onNode.set(n, (onNode.get(n) ?? 0) + 1);
  }
  const ranked: RankedPod[] = pods.map((pod) => ({ pod, rank: onNode.get(pod.spec?.nodeName ?? '') ?? 0 }));
  ranked.sort((a, b) => (deleteBefore(a, b, nowMs) ? -1 : deleteBefore(b, a, nowMs) ? 1 : 0));
  return ranked.slice(0, diff).map((r) => r.pod);
}

/** metav1.NewControllerRef: the reference a controller puts on what it creates. */
export function controllerRefTo(owner: KObject): OwnerReference {
  return {
    apiVersion: owner.apiVersion,
    kind: owner.kind,
    name: owner.metadata.name!,
    uid: owner.metadata.uid!,
    controller: true,
    blockOwnerDeletion: true,
  };
}

const DNS1123_LABEL_PREFIX = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?-?$/;

/**
 * A pod for a controller from its template (upstream's GetPodFromTemplate): the template's
 * labels, annotations, finalizers and spec, the controller reference, and generateName
 * `<controller>-` (the name alone when that is no valid prefix), so the server names it
 * `<controller>-<5 random characters>`.
 */
export function podFromTemplate(template: PodTemplateSpec, owner: KObject, ref: OwnerReference): Pod {
  const name = owner.metadata.name!;
  let prefix = `${name}-`;
  if (prefix.length > 253 || !prefix.split('.').every((part, i, all) => (i === all.length - 1 ? DNS1123_LABEL_PREFIX.test(part) : /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(part)))) prefix = name;
  const tm = template.metadata ?? {};
  const metadata: Pod['metadata'] = { generateName: prefix, namespace: owner.metadata.namespace, ownerReferences: [ref] };
  if (tm.labels) metadata.labels = { ...tm.labels };
  if (tm.annotations) metadata.annotations = { ...tm.annotations };
  if (tm.finalizers) metadata.finalizers = [...tm.finalizers];
  return { apiVersion: 'v1', kind: 'Pod', metadata, spec: structuredClone(template.spec ?? {}) };
}
