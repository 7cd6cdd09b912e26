// The status a ReplicaSet (or ReplicationController) reports, computed from the pods it owns, as
// upstream's calculateStatus and updateReplicaSetStatus do it.
import { matchesLabels, selectorFromSet } from '../../api/labels.ts';
import { rfc3339 } from '../../api/meta.ts';
import { isPodAvailable, isPodReady } from './pods.ts';
import type { Pod, PodTemplateSpec, ReplicaStatus, WorkloadCondition } from './types.ts';

export const REPLICA_FAILURE = 'ReplicaFailure';

export interface ReplicaOwner {
  metadata: { generation?: number };
  spec: { replicas?: number; minReadySeconds?: number; template?: PodTemplateSpec };
  status?: ReplicaStatus;
}

/**
 * The new status for an owner of `pods` (its active, claimed pods). A failed manageReplicas sets
 * the ReplicaFailure condition (reason FailedCreate when pods were missing, FailedDelete when
 * there were too many; the error text as message) unless one is already set; a successful one
 * clears it. observedGeneration is left as it was: updateStatus sets it when writing.
 */
export function calculateReplicaStatus(owner: ReplicaOwner, pods: readonly Pod[], manageError: Error | undefined, nowMs: number): ReplicaStatus {
  const templateLabels = selectorFromSet(owner.spec.template?.metadata?.labels);
  const minReady = owner.spec.minReadySeconds ?? 0;
  let fullyLabeled = 0;
  let ready = 0;
  let available = 0;
  for (const p of pods) {
    if (matchesLabels(templateLabels, p.metadata.labels)) fullyLabeled++;
    if (isPodReady(p)) {
      ready++;
      if (isPodAvailable(p, minReady, nowMs)) available++;
    }
  }
  let conditions = (owner.status?.conditions ?? []).map((c) => ({ ...c }));
  const failure = conditions.find((c) => c.type === REPLICA_FAILURE);
  if (manageError && !failure) {
    const diff = pods.length - (owner.spec.replicas ?? 1);
    const reason = diff < 0 ? 'FailedCreate' : diff > 0 ? 'FailedDelete' : '';
    const cond: WorkloadCondition = { type: REPLICA_FAILURE, status: 'True', lastTransitionTime: rfc3339(new Date(nowMs)), reason, message: manageError.message };
    if (!reason) delete cond.reason;
    conditions.push(cond);
  } else if (!manageError && failure) {
    conditions = conditions.filter((c) => c.type !== REPLICA_FAILURE);
  }
  const status: ReplicaStatus = { replicas: pods.length };
  if (fullyLabeled) status.fullyLabeledReplicas = fullyLabeled;
  if (ready) status.readyReplicas = ready;
  if (available) status.availableReplicas = available;
  if (owner.status?.observedGeneration !== undefined) status.observedGeneration = owner.status.observedGeneration;
  if (conditions.length) status.conditions = conditions;
  return status;
}

/**
 * Whether writing `next` would change anything (upstream's check before UpdateStatus): counts,
 * conditions, or an observedGeneration behind the owner's generation.
 */
export function replicaStatusChanged(owner: ReplicaOwner, next: ReplicaStatus): boolean {
  const cur = owner.status ?? { replicas: 0 };
  return (
    (cur.replicas ?? 0) !== next.replicas ||
    (cur.fullyLabeledReplicas ?? 0) !== (next.fullyLabeledReplicas ?? 0) ||
    (cur.readyReplicas ?? 0) !== (next.readyReplicas ?? 0) ||
    (cur.availableReplicas ?? 0) !== (next.availableReplicas ?? 0) ||
    (owner.metadata.generation ?? 0) !== (cur.observedGeneration ?? 0) ||
    JSON.stringify(cur.conditions ?? []) !== JSON.stringify(next.conditions ?? [])
  );
}
