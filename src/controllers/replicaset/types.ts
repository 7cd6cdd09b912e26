// The slices of core/v1 Pod, apps/v1 ReplicaSet and core/v1 ReplicationController these
// controllers read and write, in their wire (JSON) form. Only the fields used here are typed;
// everything else passes through untouched.
import type { KObject, ObjectMeta } from '../../api/meta.ts';
import type { LabelSelectorJSON } from '../../api/labels.ts';

export interface PodTemplateSpec {
  metadata?: ObjectMeta;
  spec?: Record<string, unknown>;
}

/** A condition as ReplicaSets, ReplicationControllers and Deployments carry them. */
export interface WorkloadCondition {
  type: string;
  status: 'True' | 'False' | 'Unknown';
  reason?: string;
  message?: string;
  lastTransitionTime?: string;
  /** Deployments only. */
  lastUpdateTime?: string;
}

export interface PodCondition {
  type: string;
  status: string;
  lastTransitionTime?: string;
}

export interface Pod extends KObject {
  spec?: { nodeName?: string; [k: string]: unknown };
  status?: {
    phase?: string;
    conditions?: PodCondition[];
    containerStatuses?: { restartCount?: number }[];
    [k: string]: unknown;
  };
}

/** The status both ReplicaSets and ReplicationControllers report (zero counts are omitted on the wire). */
export interface ReplicaStatus {
  replicas: number;
  fullyLabeledReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  observedGeneration?: number;
  conditions?: WorkloadCondition[];
}

export interface ReplicaSet extends KObject {
  spec: {
    replicas?: number;
    minReadySeconds?: number;
    selector?: LabelSelectorJSON;
    template?: PodTemplateSpec;
  };
  status?: ReplicaStatus;
}

export interface ReplicationController extends KObject {
  spec: {
    replicas?: number;
    minReadySeconds?: number;
    selector?: Record<string, string>;
    template?: PodTemplateSpec;
  };
  status?: ReplicaStatus;
}
