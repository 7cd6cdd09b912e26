// Cluster events: what happened to the cluster, in upstream's vocabulary (framework.ClusterEvent),
// so the queue can tell which unschedulable pods a change might help. A plugin that rejected a
// pod registers the events that could make it pass (EventsToRegister), optionally with a hint
// function that looks at the objects and says Queue or Skip.

import type { Pod } from './types.ts';

export type EventResource =
  | 'Pod'
  | 'AssignedPod'
  | 'UnscheduledPod'
  | 'Node'
  | 'PersistentVolume'
  | 'PersistentVolumeClaim'
  | 'StorageClass'
  | 'CSINode'
  | 'Namespace'
  | 'PodDisruptionBudget'
  | '*';

export const Action = {
  Add: 1,
  Delete: 2,
  UpdateNodeAllocatable: 4,
  UpdateNodeLabel: 8,
  UpdateNodeTaint: 16,
  UpdateNodeCondition: 32,
  UpdateNodeAnnotation: 64,
  UpdatePodLabel: 128,
  UpdatePodScaleDown: 256,
  UpdatePodToleration: 512,
  UpdatePodSchedulingGatesEliminated: 1024,
  /** Any other update of the object. */
  UpdateOther: 2048,
  Update: 4 | 8 | 16 | 32 | 64 | 128 | 256 | 512 | 1024 | 2048,
  All: 0xffff,
} as const;

export interface ClusterEvent {
  readonly resource: EventResource;
  readonly action: number;
  /** For logs: e.g. "NodeAdd", "AssignedPodDelete". */
  readonly label?: string;
}

export type QueueingHint = 'Queue' | 'Skip';

/** Decides whether an event may make `pod` schedulable; old/new are the object before and after. */
export type QueueingHintFn = (pod: Pod, oldObj: unknown, newObj: unknown) => QueueingHint;

export interface ClusterEventWithHint {
  readonly event: ClusterEvent;
  readonly hint?: QueueingHintFn;
}

function resourceMatches(registered: EventResource, incoming: EventResource): boolean {
  if (registered === '*' || registered === incoming) return true;
  return registered === 'Pod' && (incoming === 'AssignedPod' || incoming === 'UnscheduledPod');
}

/** upstream's ClusterEvent.Match: same resource (Pod covers both kinds of pod) and an overlapping action. */
export function eventMatches(registered: ClusterEvent, incoming: ClusterEvent): boolean {
  if (registered.resource === '*' && (registered.action & Action.All) === Action.All) return true;
  return resourceMatches(registered.resource, incoming.resource) && (registered.action & incoming.action) !== 0;
}

// The events the scheduler itself emits from informer changes.
export const NodeAdd: ClusterEvent = { resource: 'Node', action: Action.Add, label: 'NodeAdd' };
export const NodeDelete: ClusterEvent = { resource: 'Node', action: Action.Delete, label: 'NodeDelete' };
export const AssignedPodAdd: ClusterEvent = { resource: 'AssignedPod', action: Action.Add, label: 'AssignedPodAdd' };
export const AssignedPodDelete: ClusterEvent = { resource: 'AssignedPod', action: Action.Delete, label: 'AssignedPodDelete' };
export const UnschedulableTimeout: ClusterEvent = { resource: '*', action: Action.All, label: 'UnschedulableTimeout' };
export const ForceActivate: ClusterEvent = { resource: '*', action: Action.All, label: 'ForceActivate' };

interface NodeLike {
  metadata?: { labels?: Readonly<Record<string, string>> | null; annotations?: Readonly<Record<string, string>> | null };
  spec?: { unschedulable?: boolean; taints?: unknown } | null;
  status?: { allocatable?: unknown; capacity?: unknown; conditions?: unknown } | null;
}

function same(a: unknown, b: unknown): boolean {
  return JSON.stringify(a ?? null) === JSON.stringify(b ?? null);
}

/** The update actions a node change amounts to (upstream's nodeSchedulingPropertiesChange). */
export function nodeUpdateActions(oldNode: NodeLike, newNode: NodeLike): number {
  let a = 0;
  if (!same(oldNode.status?.allocatable, newNode.status?.allocatable)) a |= Action.UpdateNodeAllocatable;
  if (!same(oldNode.metadata?.labels, newNode.metadata?.labels)) a |= Action.UpdateNodeLabel;
  if (!same(oldNode.spec?.taints, newNode.spec?.taints) || !!oldNode.spec?.unschedulable !== !!newNode.spec?.unschedulable) a |= Action.UpdateNodeTaint;
  if (!same(oldNode.status?.conditions, newNode.status?.conditions)) a |= Action.UpdateNodeCondition;
  if (!same(oldNode.metadata?.annotations, newNode.metadata?.annotations)) a |= Action.UpdateNodeAnnotation;
  return a;
}

export function nodeUpdateEvent(oldNode: NodeLike, newNode: NodeLike): ClusterEvent | undefined {
  const action = nodeUpdateActions(oldNode, newNode);
  return action ? { resource: 'Node', action, label: 'NodeUpdate' } : undefined;
}

/** The update actions of an assigned pod's change that could free room or change matching. */
export function podUpdateActions(oldPod: Pod, newPod: Pod): number {
  let a = 0;
  if (!same(oldPod.metadata.labels, newPod.metadata.labels)) a |= Action.UpdatePodLabel;
  if (!same(oldPod.spec.tolerations, newPod.spec.tolerations)) a |= Action.UpdatePodToleration;
  if ((oldPod.spec.schedulingGates?.length ?? 0) > 0 && !newPod.spec.schedulingGates?.length) a |= Action.UpdatePodSchedulingGatesEliminated;
  if (!same(oldPod.spec.containers.map((c) => c.resources?.requests), newPod.spec.containers.map((c) => c.resources?.requests))) a |= Action.UpdatePodScaleDown;
  return a || Action.UpdateOther;
}
