// apps/v1 Deployment, in its wire (JSON) form: the fields the deployment controller reads and writes.
import type { KObject } from '../../api/meta.ts';
import type { LabelSelectorJSON } from '../../api/labels.ts';
import type { PodTemplateSpec, ReplicaSet, WorkloadCondition } from '../replicaset/types.ts';

export type IntOrString = number | string;

export interface DeploymentStrategy {
  type?: string;
  rollingUpdate?: { maxSurge?: IntOrString; maxUnavailable?: IntOrString };
}

export interface DeploymentStatus {
  observedGeneration?: number;
  replicas?: number;
  updatedReplicas?: number;
  readyReplicas?: number;
  availableReplicas?: number;
  unavailableReplicas?: number;
  terminatingReplicas?: number;
  conditions?: WorkloadCondition[];
  collisionCount?: number;
}

export interface Deployment extends KObject {
  spec: {
    replicas?: number;
    selector?: LabelSelectorJSON;
    template?: PodTemplateSpec;
    strategy?: DeploymentStrategy;
    minReadySeconds?: number;
    revisionHistoryLimit?: number;
    paused?: boolean;
    progressDeadlineSeconds?: number;
  };
  status?: DeploymentStatus;
}

export type { ReplicaSet, PodTemplateSpec, WorkloadCondition };
