// The scheduling framework's extension points: one small interface each, as upstream's
// framework package. A plugin is an object with a name implementing any of them; the framework
// finds out which by the methods it has.
//
// Conventions, for speed on the hot path (Filter and Score run per pod × node):
// - success is `null`/`undefined`, never an allocated Status;
// - Score returns a plain number; a plugin that cannot score throws SchedulerError;
// - plugins get the PodInfo (parsed once per pod object), not the raw pod.

import type { ClusterEventWithHint } from '../events.ts';
import type { ImageState, NodeInfo } from '../nodeinfo.ts';
import type { AffinityTerm, PodInfo } from '../podinfo.ts';
import type { TopologyCounts } from '../topology-counts.ts';
import type { MaybeStatus, NodeToStatus } from '../status.ts';
import type {
  Namespace,
  PersistentVolume,
  PersistentVolumeClaim,
  Pod,
  PodDisruptionBudget,
  StorageClass,
} from '../types.ts';
import type { CycleState } from './cycle-state.ts';

export const MAX_NODE_SCORE = 100;
export const MIN_NODE_SCORE = 0;
export const MAX_TOTAL_SCORE = Number.MAX_SAFE_INTEGER;

export interface Plugin {
  readonly name: string;
}

/** A pod waiting in the queue, as QueueSort sees it. */
export interface QueuedPodView {
  readonly podInfo: PodInfo;
  /** When it was last added to the queue (ms since the epoch). */
  readonly timestamp: number;
}

export interface QueueSortPlugin extends Plugin {
  /** True when a should be scheduled before b. */
  less(a: QueuedPodView, b: QueuedPodView): boolean;
}

export interface PreEnqueuePlugin extends Plugin {
  /** Non-success keeps the pod out of the active queue (e.g. scheduling gates). */
  preEnqueue(pod: Pod): MaybeStatus;
}

/** PreFilter may narrow the nodes worth filtering (e.g. affinity to metadata.name). */
export interface PreFilterResult {
  nodeNames: Set<string>;
}

export interface PreFilterExtensions {
  /** Updates the cycle state as if podToAdd ran on nodeInfo (nominated pods, preemption dry runs). */
  addPod(state: CycleState, podToSchedule: PodInfo, podToAdd: PodInfo, nodeInfo: NodeInfo): MaybeStatus;
  removePod(state: CycleState, podToSchedule: PodInfo, podToRemove: PodInfo, nodeInfo: NodeInfo): MaybeStatus;
}

export interface PreFilterPlugin extends Plugin {
  /** Skip: nothing to check for this pod, its Filter is not called. */
  preFilter(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): { status?: MaybeStatus; result?: PreFilterResult } | MaybeStatus;
  preFilterExtensions?(): PreFilterExtensions | undefined;
}

export interface FilterPlugin extends Plugin {
  filter(state: CycleState, pod: PodInfo, node: NodeInfo): MaybeStatus;
}

/** How PostFilter wants the pod's status.nominatedNodeName handled. */
export interface NominatingInfo {
  mode: 'override' | 'noop';
  nominatedNodeName: string;
}

/** What preemption decided: the node to nominate and the pods to evict for it. */
export interface PreemptionPlan {
  nodeName: string;
  victims: Pod[];
  /** Lower-priority pods nominated to the same node: their nomination is cleared. */
  nominatedPodsToClear: Pod[];
  numPDBViolations: number;
}

export interface PostFilterResult {
  nominatingInfo?: NominatingInfo;
  preemption?: PreemptionPlan;
}

export interface PostFilterPlugin extends Plugin {
  postFilter(state: CycleState, pod: PodInfo, statuses: NodeToStatus): { result?: PostFilterResult; status: MaybeStatus };
}

export interface PreScorePlugin extends Plugin {
  /** Skip: this plugin's Score is not called this cycle. */
  preScore(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[]): MaybeStatus;
}

export interface ScorePlugin extends Plugin {
  score(state: CycleState, pod: PodInfo, node: NodeInfo): number;
  /** Rescales the raw scores (parallel to nodes) into [0, MAX_NODE_SCORE], in place. */
  normalizeScore?(state: CycleState, pod: PodInfo, nodes: readonly NodeInfo[], scores: number[]): MaybeStatus;
}

export interface ReservePlugin extends Plugin {
  reserve(state: CycleState, pod: PodInfo, nodeName: string): MaybeStatus;
  /** Undoes reserve; must be idempotent and must not fail. */
  unreserve(state: CycleState, pod: PodInfo, nodeName: string): void;
}

export interface PermitPlugin extends Plugin {
  /** Wait holds the pod for up to timeoutMs until allowed or rejected through the waiting pod. */
  permit(state: CycleState, pod: PodInfo, nodeName: string): { status: MaybeStatus; timeoutMs?: number };
}

export interface PreBindPlugin extends Plugin {
  preBind(state: CycleState, pod: PodInfo, nodeName: string, signal?: AbortSignal): Promise<MaybeStatus>;
}

export interface BindPlugin extends Plugin {
  /** Skip hands the pod to the next bind plugin. */
  bind(state: CycleState, pod: PodInfo, nodeName: string, signal?: AbortSignal): Promise<MaybeStatus>;
}

export interface PostBindPlugin extends Plugin {
  postBind(state: CycleState, pod: PodInfo, nodeName: string): void;
}

export interface EnqueueExtensions extends Plugin {
  /** The cluster events that may make a pod this plugin rejected schedulable. */
  eventsToRegister(): ClusterEventWithHint[];
}

// ---------------------------------------------------------------------------------------------
// What plugins can see of the world

/** The nodes of the current cycle (upstream's SharedLister / NodeInfoLister). */
export interface NodeInfoLister {
  /** Every node, in the scheduler's walk order (zones interleaved). */
  list(): readonly NodeInfo[];
  get(name: string): NodeInfo | undefined;
  havePodsWithAffinityList(): readonly NodeInfo[];
  havePodsWithRequiredAntiAffinityList(): readonly NodeInfo[];
  /** Nodes with pods whose terms can score other pods (NodeInfo.podsWithScoringAffinity); optional. */
  havePodsWithScoringAffinityList?(): readonly NodeInfo[];
  /** The cluster-wide state of an image (size, nodes that have it), by exact name. */
  imageState(name: string): ImageState | undefined;
  /**
   * Optional indexes (the cache has them; plugins scan when absent). podCounts: pods weighted by
   * `weight` per domain of each topology key, kept incrementally under `key` (equal keys must
   * mean equivalent weights); the result is shared and read-only.
   */
  podCounts?(key: string, weight: (pi: PodInfo) => number, topologyKeys: readonly string[]): TopologyCounts;
  /** The values of a label among the nodes (value → nodes with it) and how many nodes have the label. */
  domains?(topologyKey: string): { readonly values: ReadonlyMap<string, number>; readonly nodes: number };
  /** The distinct required anti-affinity terms of the pods on the nodes. */
  existingAntiAffinityTerms?(): Iterable<AffinityTerm>;
}

export interface NamespaceLister {
  get(name: string): Namespace | undefined;
  list(): readonly Namespace[];
}

export interface PVCLister {
  get(namespace: string, name: string): PersistentVolumeClaim | undefined;
}

export interface PVLister {
  get(name: string): PersistentVolume | undefined;
  list(): readonly PersistentVolume[];
}

export interface StorageClassLister {
  get(name: string): StorageClass | undefined;
}

export interface PDBLister {
  list(): readonly PodDisruptionBudget[];
}

/**
 * The selectors that make a pod part of a group for the cluster-default topology spreading:
 * services selecting it and the ReplicaSet/ReplicationController/StatefulSet controlling it
 * (upstream's helper.DefaultSelector). Returns undefined when nothing selects the pod.
 */
export interface DefaultSelectorSource {
  defaultSelector(pod: Pod): import('../../api/labels.ts').Selector | undefined;
}

/** The informer-backed listers the plugins use; each may be absent (treated as empty). */
export interface ClusterListers {
  namespaces?: NamespaceLister;
  pvcs?: PVCLister;
  pvs?: PVLister;
  storageClasses?: StorageClassLister;
  pdbs?: PDBLister;
  defaultSelectors?: DefaultSelectorSource;
}

/** Pods nominated to nodes by preemption (upstream's PodNominator). */
export interface PodNominatorView {
  nominatedPodsForNode(nodeName: string): readonly PodInfo[];
  /** False when no pod is nominated anywhere (lets Filter skip the per-node lookup). */
  hasNominatedPods(): boolean;
}

/** The API call behind DefaultBinder: POST pods/NAME/binding. */
export interface PodBinder {
  bind(pod: Pod, nodeName: string, signal?: AbortSignal): Promise<void>;
}

/** The API calls behind VolumeBinding's PreBind. */
export interface VolumeBinderAPI {
  /** Sets pv.spec.claimRef to the claim (static binding). */
  bindVolume(pv: PersistentVolume, pvc: PersistentVolumeClaim, signal?: AbortSignal): Promise<void>;
  /** Annotates the claim with volume.kubernetes.io/selected-node (dynamic provisioning). */
  selectNode(pvc: PersistentVolumeClaim, nodeName: string, signal?: AbortSignal): Promise<void>;
  /** Resolves when every claim is bound (the PV controller finished), rejects after timeoutMs. */
  waitForBound(pvcs: readonly PersistentVolumeClaim[], timeoutMs: number, signal?: AbortSignal): Promise<void>;
}

/** Framework operations plugins may call back into (preemption's dry runs). */
export interface FrameworkRunner {
  runFilterPluginsWithNominatedPods(state: CycleState, pod: PodInfo, node: NodeInfo): MaybeStatus;
  runPreFilterExtensionAddPod(state: CycleState, pod: PodInfo, toAdd: PodInfo, node: NodeInfo): MaybeStatus;
  runPreFilterExtensionRemovePod(state: CycleState, pod: PodInfo, toRemove: PodInfo, node: NodeInfo): MaybeStatus;
}

/** What a plugin factory receives (upstream's framework.Handle, narrowed). */
export interface Handle {
  /** The snapshot of the cycle in progress. */
  snapshot(): NodeInfoLister;
  readonly listers: ClusterListers;
  readonly nominator: PodNominatorView | undefined;
  readonly binder: PodBinder | undefined;
  readonly volumeBinder: VolumeBinderAPI | undefined;
  /** Set by the framework once built. */
  framework: FrameworkRunner | undefined;
  /** [0, 1); injectable so tests are deterministic. */
  random(): number;
  now(): number;
}

export type PluginFactory = (args: unknown, handle: Handle) => Plugin;

