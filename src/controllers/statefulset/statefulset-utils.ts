// The pure part of the StatefulSet controller (upstream's stateful_set_utils.go): ordinals and
// stable names, pod identity and storage, the pods and claims a set wants, the status it reports,
// and how PersistentVolumeClaim owner references follow persistentVolumeClaimRetentionPolicy.
import { clone, type KObject, type OwnerReference } from '../../api/meta.ts';
import { isPodAvailable, isPodReady, isTerminating, podFromTemplate, podPhase, type Json, type Pod } from '../workload/pods.ts';
import type { ControllerRevision } from '../workload/revisions.ts';

export const POD_NAME_LABEL = 'statefulset.kubernetes.io/pod-name';
export const POD_INDEX_LABEL = 'apps.kubernetes.io/pod-index';
export const REVISION_LABEL = 'controller-revision-hash';

export interface StatefulSet extends KObject {
  spec: Json;
  status?: Json;
}

const ORDINAL_RE = /^(.*)-([0-9]+)$/;

/** The parent name and ordinal encoded in a pod name; ordinal -1 when there is none. */
export function parentAndOrdinal(name: string): { parent: string; ordinal: number } {
  const m = ORDINAL_RE.exec(name);
  if (!m) return { parent: '', ordinal: -1 };
  const n = Number(m[2]);
  return { parent: m[1]!, ordinal: Number.isSafeInteger(n) && n <= 2147483647 ? n : -1 };
}

export function ordinalOf(pod: KObject): number {
  return parentAndOrdinal(pod.metadata.name ?? '').ordinal;
}

export function podName(set: KObject, ordinal: number): string {
  return `${set.metadata.name}-${ordinal}`;
}

/** `<claim template>-<set>-<ordinal>`. */
export function claimName(set: KObject, template: Json, ordinal: number): string {
  return `${template?.metadata?.name}-${set.metadata.name}-${ordinal}`;
}

export function isMemberOf(set: KObject, pod: KObject): boolean {
  return parentAndOrdinal(pod.metadata.name ?? '').parent === set.metadata.name;
}

export function replicasOf(set: StatefulSet): number {
  return set.spec?.replicas ?? 1;
}

export function startOrdinal(set: StatefulSet): number {
  return set.spec?.ordinals?.start ?? 0;
}

export function endOrdinal(set: StatefulSet): number {
  return startOrdinal(set) + replicasOf(set) - 1;
}

export function inOrdinalRange(pod: KObject, set: StatefulSet): boolean {
  const o = ordinalOf(pod);
  return o >= startOrdinal(set) && o <= endOrdinal(set);
}

export function podRevision(pod: KObject): string {
  return pod.metadata.labels?.[REVISION_LABEL] ?? '';
}

/** Running with a Ready condition (isRunningAndReady). */
export function isRunningAndReady(pod: KObject): boolean {
  return podPhase(pod) === 'Running' && isPodReady(pod);
}

export function isRunningAndAvailable(pod: KObject, minReadySeconds: number, nowMs: number): boolean {
  return podPhase(pod) === 'Running' && isPodAvailable(pod, minReadySeconds, nowMs);
}

/** Created by the API server (it has a phase). */
export function isCreated(pod: KObject): boolean {
  return podPhase(pod) !== '';
}

export function isHealthy(pod: KObject): boolean {
  return isRunningAndReady(pod) && !isTerminating(pod);
}

export function allowsBurst(set: StatefulSet): boolean {
  return set.spec?.podManagementPolicy === 'Parallel';
}

/** Name, namespace and the identity labels match the set and ordinal. */
export function identityMatches(set: StatefulSet, pod: KObject): boolean {
  const { parent, ordinal } = parentAndOrdinal(pod.metadata.name ?? '');
  return (
    ordinal >= 0 &&
    parent === set.metadata.name &&
    pod.metadata.name === podName(set, ordinal) &&
    pod.metadata.namespace === set.metadata.namespace &&
    pod.metadata.labels?.[POD_NAME_LABEL] === pod.metadata.name &&
    pod.metadata.labels?.[POD_INDEX_LABEL] === String(ordinal)
  );
}

/** Sets the identity labels (the name and namespace are fixed by the pod's name). */
export function updateIdentity(set: StatefulSet, pod: Pod): void {
  const ordinal = ordinalOf(pod);
  pod.metadata.name = podName(set, ordinal);
  pod.metadata.namespace = set.metadata.namespace;
  pod.metadata.labels = { ...(pod.metadata.labels ?? {}), [POD_NAME_LABEL]: pod.metadata.name, [POD_INDEX_LABEL]: String(ordinal) };
}

/** The claims a member pod needs, keyed by template name: template + name, namespace and the selector's labels. */
export function claimsFor(set: StatefulSet, ordinal: number): Map<string, Json> {
  const out = new Map<string, Json>();
  const matchLabels: Record<string, string> = set.spec?.selector?.matchLabels ?? {};
  for (const t of Array.isArray(set.spec?.volumeClaimTemplates) ? set.spec.volumeClaimTemplates : []) {
    const claim = clone(t);
    delete claim.status;
    claim.apiVersion = 'v1';
    claim.kind = 'PersistentVolumeClaim';
    claim.metadata = { ...(claim.metadata ?? {}), name: claimName(set, t, ordinal), namespace: set.metadata.namespace, labels: { ...(claim.metadata?.labels ?? {}), ...matchLabels } };
    delete claim.metadata.creationTimestamp;
    out.set(t?.metadata?.name, claim);
  }
  return out;
}

/** Every claim template is mounted as a volume naming that pod's claim. */
export function storageMatches(set: StatefulSet, pod: Pod): boolean {
  const ordinal = ordinalOf(pod);
  if (ordinal < 0) return false;
  const volumes = new Map<string, Json>((pod.spec?.volumes ?? []).map((v: Json) => [v?.name, v]));
  for (const t of Array.isArray(set.spec?.volumeClaimTemplates) ? set.spec.volumeClaimTemplates : []) {
    const v = volumes.get(t?.metadata?.name);
    if (!v?.persistentVolumeClaim || v.persistentVolumeClaim.claimName !== claimName(set, t, ordinal)) return false;
  }
  return true;
}

/** Replaces the pod's volumes named like claim templates with the claims; keeps the others. */
export function updateStorage(set: StatefulSet, pod: Pod): void {
  const claims = claimsFor(set, ordinalOf(pod));
  const volumes: Json[] = [];
  for (const [name, claim] of claims) volumes.push({ name, persistentVolumeClaim: { claimName: claim.metadata.name } });
  for (const v of pod.spec?.volumes ?? []) if (!claims.has(v?.name)) volumes.push(v);
  pod.spec = { ...(pod.spec ?? {}), volumes };
}

/** A new member pod from the set's template (newStatefulSetPod): stable name, hostname, subdomain, identity labels, claims. */
export function newStatefulSetPod(set: StatefulSet, ordinal: number, controllerRef: OwnerReference): Pod {
  const pod = podFromTemplate(set.spec?.template, set, controllerRef);
  pod.metadata.name = podName(set, ordinal);
  updateIdentity(set, pod);
  pod.spec = { ...pod.spec, hostname: pod.metadata.name };
  if (set.spec?.serviceName) pod.spec.subdomain = set.spec.serviceName;
  updateStorage(set, pod);
  return pod;
}

/**
 * A new pod at the right revision (newVersionedStatefulSetPod): below the partition (or below
 * currentReplicas for a rolling update without parameters) pods keep the current revision;
 * the others get the update revision. Reproduces upstream's operator precedence.
 */
export function newVersionedStatefulSetPod(currentSet: StatefulSet, updateSet: StatefulSet, currentRevision: string, updateRevision: string, ordinal: number, controllerRef: OwnerReference): Pod {
  const us = currentSet.spec?.updateStrategy ?? {};
  const ru = us.rollingUpdate;
  const start = startOrdinal(currentSet);
  const useCurrent =
    (us.type === 'RollingUpdate' && ru == null && ordinal < start + (currentSet.status?.currentReplicas ?? 0)) ||
    (ru != null && ordinal < start + (ru.partition ?? 0));
  const pod = newStatefulSetPod(useCurrent ? currentSet : updateSet, ordinal, controllerRef);
  pod.metadata.labels![REVISION_LABEL] = useCurrent ? currentRevision : updateRevision;
  return pod;
}

export interface ReplicaCounts {
  replicas: number;
  readyReplicas: number;
  availableReplicas: number;
  currentReplicas: number;
  updatedReplicas: number;
}

/** The counts a StatefulSet's status reports over its pods (computeReplicaStatus). */
export function replicaCounts(pods: readonly KObject[], minReadySeconds: number, currentRevision: string, updateRevision: string, nowMs: number): ReplicaCounts {
  const c: ReplicaCounts = { replicas: 0, readyReplicas: 0, availableReplicas: 0, currentReplicas: 0, updatedReplicas: 0 };
  for (const pod of pods) {
    if (isCreated(pod)) c.replicas++;
    if (isRunningAndReady(pod)) {
      c.readyReplicas++;
      if (isRunningAndAvailable(pod, minReadySeconds, nowMs)) c.availableReplicas++;
    }
    if (isCreated(pod) && !isTerminating(pod)) {
      const rev = podRevision(pod);
      if (rev === currentRevision) c.currentReplicas++;
      if (rev === updateRevision) c.updatedReplicas++;
    }
  }
  return c;
}

/** When every replica is updated and ready, the update revision becomes the current one (completeRollingUpdate). */
export function completeRollingUpdate(set: StatefulSet, status: Json): void {
  if (set.spec?.updateStrategy?.type === 'RollingUpdate' && status.updatedReplicas === status.replicas && status.readyReplicas === status.replicas) {
    status.currentReplicas = status.updatedReplicas;
    status.currentRevision = status.updateRevision;
  }
}

const STATUS_FIELDS = ['observedGeneration', 'replicas', 'readyReplicas', 'currentReplicas', 'updatedReplicas', 'availableReplicas', 'currentRevision', 'updateRevision', 'collisionCount'];

/** Whether the computed status differs from the set's (inconsistentStatus). */
export function statusDiffers(set: StatefulSet, status: Json): boolean {
  const cur = set.status ?? {};
  if (cur.observedGeneration == null || (status.observedGeneration ?? 0) > cur.observedGeneration) return true;
  return STATUS_FIELDS.some((k) => (cur[k] ?? zeroOf(k)) !== (status[k] ?? zeroOf(k)));
}

function zeroOf(k: string): unknown {
  return k.endsWith('Revision') ? '' : 0;
}

/** The status as upstream serializes it: omitempty fields left out when zero. */
export function statusObject(s: Json, conditions?: Json[]): Json {
  const out: Json = { replicas: s.replicas ?? 0, availableReplicas: s.availableReplicas ?? 0 };
  for (const k of ['observedGeneration', 'readyReplicas', 'currentReplicas', 'updatedReplicas']) if (s[k]) out[k] = s[k];
  for (const k of ['currentRevision', 'updateRevision']) if (s[k]) out[k] = s[k];
  if (s.collisionCount != null) out.collisionCount = s.collisionCount;
  if (conditions?.length) out.conditions = conditions;
  return out;
}

export interface RetentionPolicy {
  whenDeleted: string;
  whenScaled: string;
}

export function retentionPolicy(set: StatefulSet): RetentionPolicy {
  const p = set.spec?.persistentVolumeClaimRetentionPolicy ?? {};
  return { whenDeleted: p.whenDeleted || 'Retain', whenScaled: p.whenScaled || 'Retain' };
}

function hasOwnerRef(o: KObject, owner: KObject): boolean {
  return (o.metadata.ownerReferences ?? []).some((r) => r.uid === owner.metadata.uid);
}

/**
 * The owner references a claim should carry under the set's retention policy
 * (updateClaimOwnerRefForSetAndPod): the set when whenDeleted=Delete (and the pod is in range
 * or whenScaled=Retain); the pod when whenScaled=Delete and the pod is being scaled away.
 * Answers the new list, or undefined when the claim already matches.
 */
export function claimOwnerRefsFor(claim: KObject, set: StatefulSet, pod: KObject): OwnerReference[] | undefined {
  const policy = retentionPolicy(set);
  const scaledDown = !inOrdinalRange(pod, set);
  const wantSet = policy.whenDeleted === 'Delete' && !(policy.whenScaled === 'Delete' && scaledDown);
  const wantPod = policy.whenScaled === 'Delete' && scaledDown && !!pod.metadata.uid;
  const hasSet = hasOwnerRef(claim, set);
  const hasPod = pod.metadata.uid ? hasOwnerRef(claim, pod) : false;
  if (hasSet === wantSet && hasPod === wantPod) return undefined;
  let refs = [...(claim.metadata.ownerReferences ?? [])].filter((r) => r.uid !== set.metadata.uid && (!pod.metadata.uid || r.uid !== pod.metadata.uid));
  if (wantSet) refs = [...refs, { apiVersion: 'apps/v1', kind: 'StatefulSet', name: set.metadata.name!, uid: set.metadata.uid! }];
  if (wantPod) refs = [...refs, { apiVersion: 'v1', kind: 'Pod', name: pod.metadata.name!, uid: pod.metadata.uid! }];
  return refs;
}

/** A claim still owned by an earlier pod of the same name (waiting for the garbage collector). */
export function claimIsStale(claim: KObject, pod: KObject): boolean {
  return (claim.metadata.ownerReferences ?? []).some((r) => r.kind === 'Pod' && r.name === pod.metadata.name && r.uid !== pod.metadata.uid);
}

/** The revisions no pod and no status uses, oldest first, beyond revisionHistoryLimit (truncateHistory). */
export function revisionsToTruncate(sortedRevisions: readonly ControllerRevision[], pods: readonly KObject[], current: string, update: string, limit: number): ControllerRevision[] {
  const live = new Set<string>([current, update, ...pods.map(podRevision)]);
  const history = sortedRevisions.filter((r) => !live.has(r.metadata.name!));
  return history.length <= limit ? [] : history.slice(0, history.length - limit);
}
