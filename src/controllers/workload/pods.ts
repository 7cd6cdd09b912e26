// Pod facts the workload controllers (StatefulSet, DaemonSet, Job) share: readiness and
// availability as upstream's podutil computes them, the controller reference, and a pod built
// from a template the way upstream's controller.GetPodFromTemplate builds it.
//
// Everything here is pure and never changes its arguments (they are frozen cache objects).
import { clone, type KObject, type OwnerReference } from '../../api/meta.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type Json = any;

export interface Pod extends KObject {
  spec: Json;
  status?: Json;
}

/** The Ready condition of a pod, if any. */
export function podCondition(pod: KObject, type: string): Json | undefined {
  const conds = (pod as Pod).status?.conditions;
  return Array.isArray(conds) ? conds.find((c: Json) => c?.type === type) : undefined;
}

/** upstream's podutil.IsPodReady: a Ready condition with status True. */
export function isPodReady(pod: KObject): boolean {
  return podCondition(pod, 'Ready')?.status === 'True';
}

/**
 * upstream's podutil.IsPodAvailable: ready for at least minReadySeconds at `nowMs` (a pod whose
 * Ready condition has no transition time counts as available only when minReadySeconds is 0).
 */
export function isPodAvailable(pod: KObject, minReadySeconds: number, nowMs: number): boolean {
  if (!isPodReady(pod)) return false;
  if (!minReadySeconds) return true;
  const t = Date.parse(podCondition(pod, 'Ready')?.lastTransitionTime ?? '');
  return Number.isFinite(t) && t + minReadySeconds * 1000 <= nowMs;
}

/** When a ready pod becomes available (ms), or undefined when it is not ready. */
export function availableAt(pod: KObject, minReadySeconds: number): number | undefined {
  if (!isPodReady(pod)) return undefined;
  const t = Date.parse(podCondition(pod, 'Ready')?.lastTransitionTime ?? '');
  return Number.isFinite(t) ? t + (minReadySeconds || 0) * 1000 : undefined;
}

export function podPhase(pod: KObject): string {
  return (pod as Pod).status?.phase ?? '';
}

export function isTerminating(o: KObject): boolean {
  return !!o.metadata.deletionTimestamp;
}

/** upstream's controller.IsPodActive: not Succeeded, not Failed, not being deleted. */
export function isPodActive(pod: KObject): boolean {
  const phase = podPhase(pod);
  return phase !== 'Succeeded' && phase !== 'Failed' && !pod.metadata.deletionTimestamp;
}

/** upstream's controller.IsPodTerminating: being deleted and not yet terminal. */
export function isPodTerminatingNotTerminal(pod: KObject): boolean {
  const phase = podPhase(pod);
  return !!pod.metadata.deletionTimestamp && phase !== 'Succeeded' && phase !== 'Failed';
}

/** The owner reference with controller: true, if any. */
export function controllerOf(o: KObject): OwnerReference | undefined {
  return o.metadata.ownerReferences?.find((r) => r.controller === true);
}

/** A controller reference to `owner` (metav1.NewControllerRef). */
export function newControllerRef(owner: KObject, apiVersion: string, kind: string): OwnerReference {
  return { apiVersion, kind, name: owner.metadata.name!, uid: owner.metadata.uid!, controller: true, blockOwnerDeletion: true };
}

export function isControlledBy(o: KObject, owner: KObject): boolean {
  const ref = controllerOf(o);
  return !!ref && ref.uid === owner.metadata.uid;
}

/**
 * A new pod from a pod template (controller.GetPodFromTemplate): the template's labels,
 * annotations and finalizers, its spec, the parent's namespace, the controller reference, and
 * `generateName` `<prefix>` unless the caller names the pod.
 */
export function podFromTemplate(template: Json, parent: KObject, controllerRef: OwnerReference | undefined, generateName?: string): Pod {
  const t = clone(template ?? {});
  const meta: Json = {
    namespace: parent.metadata.namespace,
    labels: { ...(t.metadata?.labels ?? {}) },
    annotations: { ...(t.metadata?.annotations ?? {}) },
  };
  if (generateName !== undefined) meta.generateName = generateName;
  if (Array.isArray(t.metadata?.finalizers) && t.metadata.finalizers.length) meta.finalizers = [...t.metadata.finalizers];
  if (controllerRef) meta.ownerReferences = [controllerRef];
  return { apiVersion: 'v1', kind: 'Pod', metadata: meta, spec: t.spec ?? {} };
}

/** upstream's getPodsPrefix: `<controller name>-` (the apiserver truncates and appends the suffix). */
export function podsPrefix(controllerName: string): string {
  return `${controllerName}-`;
}

const PHASE_RANK: Record<string, number> = { Pending: 0, Unknown: 1, Running: 2 };

/**
 * upstream's controller.ActivePods ordering, earlier = better to delete: unassigned before
 * assigned, Pending < Unknown < Running, not-ready before ready, more restarts first, newer
 * before older.
 */
export function compareActivePodsForDeletion(a: KObject, b: KObject): number {
  const pa = a as Pod;
  const pb = b as Pod;
  const na = !!pa.spec?.nodeName;
  const nb = !!pb.spec?.nodeName;
  if (na !== nb) return na ? 1 : -1;
  const ra = PHASE_RANK[podPhase(a)] ?? 0;
  const rb = PHASE_RANK[podPhase(b)] ?? 0;
  if (ra !== rb) return ra - rb;
  const ya = isPodReady(a);
  const yb = isPodReady(b);
  if (ya !== yb) return ya ? 1 : -1;
  const restarts = (p: Pod) => (p.status?.containerStatuses ?? []).reduce((m: number, c: Json) => Math.max(m, c?.restartCount ?? 0), 0);
  const xa = restarts(pa);
  const xb = restarts(pb);
  if (xa !== xb) return xb - xa;
  const ca = Date.parse(pa.metadata.creationTimestamp ?? '') || 0;
  const cb = Date.parse(pb.metadata.creationTimestamp ?? '') || 0;
  if (ca !== cb) return cb - ca;
  return 0;
}

/** Oldest first by creationTimestamp, then name (upstream's podByCreationTimestamp…). */
export function compareByCreation(a: KObject, b: KObject): number {
  const ca = Date.parse(a.metadata.creationTimestamp ?? '') || 0;
  const cb = Date.parse(b.metadata.creationTimestamp ?? '') || 0;
  if (ca !== cb) return ca - cb;
  return (a.metadata.name ?? '').localeCompare(b.metadata.name ?? '');
}

/** Runs fn over items in batches of 1, 2, 4, … (upstream's slowStartBatch); stops at the first batch with an error. Answers successes and the first error. */
export async function slowStartBatch<T>(items: readonly T[], initial: number, fn: (item: T) => Promise<void>): Promise<{ successes: number; error?: unknown }> {
  let successes = 0;
  let pos = 0;
  for (let size = Math.min(initial, items.length); size > 0; size = Math.min(2 * size, items.length - pos)) {
    const batch = items.slice(pos, pos + size);
    pos += size;
    const results = await Promise.allSettled(batch.map(fn));
    const failed = results.filter((r) => r.status === 'rejected') as PromiseRejectedResult[];
    successes += results.length - failed.length;
    if (failed.length) return { successes, error: failed[0]!.reason };
  }
  return { successes };
}
