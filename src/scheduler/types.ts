// The parts of API objects the scheduler reads, as read-only views of their v1 wire form.
// Objects come from informers (shared, frozen cache objects): nothing here may be mutated; a
// change is made by building a new object (or a patch) and writing it through the API.

import type { ObjectMeta, OwnerReference } from '../api/meta.ts';
import type { LabelSelectorJSON } from '../api/labels.ts';

export type Quantityish = string | number;
export type ResourceList = Readonly<Record<string, Quantityish>>;

export interface ResourceRequirements {
  readonly requests?: ResourceList | null;
  readonly limits?: ResourceList | null;
}

export interface ContainerPort {
  readonly name?: string;
  readonly containerPort: number;
  readonly hostPort?: number;
  readonly hostIP?: string;
  readonly protocol?: string;
}

export interface Container {
  readonly name: string;
  readonly image?: string;
  readonly ports?: readonly ContainerPort[] | null;
  readonly resources?: ResourceRequirements | null;
  /** Only on init containers: "Always" makes it a sidecar (restartable init container). */
  readonly restartPolicy?: string;
}

export interface Toleration {
  readonly key?: string;
  readonly operator?: string;
  readonly value?: string;
  readonly effect?: string;
  readonly tolerationSeconds?: number | null;
}

export interface Taint {
  readonly key: string;
  readonly value?: string;
  readonly effect: string;
  readonly timeAdded?: string;
}

export interface NodeSelectorRequirement {
  readonly key: string;
  readonly operator: string;
  readonly values?: readonly string[] | null;
}

export interface NodeSelectorTerm {
  readonly matchExpressions?: readonly NodeSelectorRequirement[] | null;
  readonly matchFields?: readonly NodeSelectorRequirement[] | null;
}

export interface NodeSelector {
  readonly nodeSelectorTerms: readonly NodeSelectorTerm[];
}

export interface PreferredSchedulingTerm {
  readonly weight: number;
  readonly preference: NodeSelectorTerm;
}

export interface NodeAffinity {
  readonly requiredDuringSchedulingIgnoredDuringExecution?: NodeSelector | null;
  readonly preferredDuringSchedulingIgnoredDuringExecution?: readonly PreferredSchedulingTerm[] | null;
}

export interface PodAffinityTerm {
  readonly labelSelector?: LabelSelectorJSON | null;
  readonly namespaces?: readonly string[] | null;
  readonly topologyKey: string;
  readonly namespaceSelector?: LabelSelectorJSON | null;
  readonly matchLabelKeys?: readonly string[] | null;
  readonly mismatchLabelKeys?: readonly string[] | null;
}

export interface WeightedPodAffinityTerm {
  readonly weight: number;
  readonly podAffinityTerm: PodAffinityTerm;
}

export interface PodAffinity {
  readonly requiredDuringSchedulingIgnoredDuringExecution?: readonly PodAffinityTerm[] | null;
  readonly preferredDuringSchedulingIgnoredDuringExecution?: readonly WeightedPodAffinityTerm[] | null;
}

export interface Affinity {
  readonly nodeAffinity?: NodeAffinity | null;
  readonly podAffinity?: PodAffinity | null;
  readonly podAntiAffinity?: PodAffinity | null;
}

export interface TopologySpreadConstraint {
  readonly maxSkew: number;
  readonly topologyKey: string;
  readonly whenUnsatisfiable: string;
  readonly labelSelector?: LabelSelectorJSON | null;
  readonly minDomains?: number | null;
  readonly nodeAffinityPolicy?: string | null;
  readonly nodeTaintsPolicy?: string | null;
  readonly matchLabelKeys?: readonly string[] | null;
}

export interface Volume {
  readonly name: string;
  readonly persistentVolumeClaim?: { readonly claimName: string; readonly readOnly?: boolean } | null;
  readonly ephemeral?: { readonly volumeClaimTemplate?: unknown } | null;
  readonly [other: string]: unknown;
}

export interface PodSpec {
  readonly nodeName?: string;
  readonly nodeSelector?: Readonly<Record<string, string>> | null;
  readonly affinity?: Affinity | null;
  readonly tolerations?: readonly Toleration[] | null;
  readonly containers: readonly Container[];
  readonly initContainers?: readonly Container[] | null;
  readonly overhead?: ResourceList | null;
  readonly priority?: number | null;
  readonly priorityClassName?: string;
  readonly preemptionPolicy?: string | null;
  readonly schedulerName?: string;
  readonly topologySpreadConstraints?: readonly TopologySpreadConstraint[] | null;
  readonly volumes?: readonly Volume[] | null;
  readonly schedulingGates?: readonly { readonly name: string }[] | null;
}

export interface PodCondition {
  readonly type: string;
  readonly status: string;
  readonly reason?: string;
  readonly message?: string;
  readonly lastTransitionTime?: string | null;
  readonly lastProbeTime?: string | null;
}

export interface PodStatus {
  readonly phase?: string;
  readonly nominatedNodeName?: string;
  readonly conditions?: readonly PodCondition[] | null;
  readonly startTime?: string | null;
}

export interface Pod {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: Readonly<ObjectMeta>;
  readonly spec: PodSpec;
  readonly status?: PodStatus | null;
}

export interface ContainerImage {
  readonly names?: readonly string[] | null;
  readonly sizeBytes?: number;
}

export interface Node {
  readonly apiVersion?: string;
  readonly kind?: string;
  readonly metadata: Readonly<ObjectMeta>;
  readonly spec?: {
    readonly unschedulable?: boolean;
    readonly taints?: readonly Taint[] | null;
    readonly podCIDR?: string;
  } | null;
  readonly status?: {
    readonly capacity?: ResourceList | null;
    readonly allocatable?: ResourceList | null;
    readonly images?: readonly ContainerImage[] | null;
    readonly conditions?: readonly { readonly type: string; readonly status: string }[] | null;
  } | null;
}

export interface PersistentVolumeClaim {
  readonly metadata: Readonly<ObjectMeta>;
  readonly spec?: {
    readonly volumeName?: string;
    readonly storageClassName?: string | null;
    readonly accessModes?: readonly string[] | null;
    readonly resources?: ResourceRequirements | null;
    readonly selector?: LabelSelectorJSON | null;
    readonly volumeMode?: string | null;
  } | null;
  readonly status?: { readonly phase?: string } | null;
}

export interface PersistentVolume {
  readonly metadata: Readonly<ObjectMeta>;
  readonly spec?: {
    readonly capacity?: ResourceList | null;
    readonly accessModes?: readonly string[] | null;
    readonly storageClassName?: string;
    readonly claimRef?: { readonly namespace?: string; readonly name?: string; readonly uid?: string } | null;
    readonly nodeAffinity?: { readonly required?: NodeSelector | null } | null;
    readonly volumeMode?: string | null;
  } | null;
  readonly status?: { readonly phase?: string } | null;
}

export interface StorageClass {
  readonly metadata: Readonly<ObjectMeta>;
  readonly provisioner: string;
  readonly volumeBindingMode?: string | null;
  readonly allowedTopologies?: readonly { readonly matchLabelExpressions?: readonly { readonly key: string; readonly values: readonly string[] }[] | null }[] | null;
}

export interface PodDisruptionBudget {
  readonly metadata: Readonly<ObjectMeta>;
  readonly spec?: { readonly selector?: LabelSelectorJSON | null } | null;
  readonly status?: { readonly disruptionsAllowed?: number; readonly disruptedPods?: Readonly<Record<string, string>> | null } | null;
}

export interface Namespace {
  readonly metadata: Readonly<ObjectMeta>;
}

export type { ObjectMeta, OwnerReference };

// Well-known names upstream's scheduler relies on.
export const LABEL_HOSTNAME = 'kubernetes.io/hostname';
export const LABEL_TOPOLOGY_ZONE = 'topology.kubernetes.io/zone';
export const LABEL_TOPOLOGY_REGION = 'topology.kubernetes.io/region';
export const TAINT_NODE_UNSCHEDULABLE = 'node.kubernetes.io/unschedulable';
export const DEFAULT_SCHEDULER_NAME = 'default-scheduler';

/** The pod's namespace/name, the key every queue and cache uses for logs and events. */
export function podKey(pod: Pod): string {
  return `${pod.metadata.namespace ?? ''}/${pod.metadata.name ?? ''}`;
}

/** The pod's identity in the cache and queue: its UID (names can be reused after deletion). */
export function podUID(pod: Pod): string {
  return pod.metadata.uid || podKey(pod);
}

export function podPriority(pod: Pod): number {
  return pod.spec.priority ?? 0;
}
