// The in-tree plugin registry: plugin name → factory. Profiles pick plugins from it by name.

import type { Registry } from '../framework/framework.ts';
import type { PluginFactory } from '../framework/interfaces.ts';
import { newBalancedAllocation } from './balanced-allocation.ts';
import { newDefaultBinder } from './default-binder.ts';
import { newDefaultPreemption } from './default-preemption.ts';
import { newImageLocality } from './image-locality.ts';
import { newInterPodAffinity } from './inter-pod-affinity.ts';
import * as names from './names.ts';
import { newNodeAffinity } from './node-affinity.ts';
import { newNodeName } from './node-name.ts';
import { newNodePorts } from './node-ports.ts';
import { newNodeUnschedulable } from './node-unschedulable.ts';
import { newNodeResourcesFit } from './noderesources-fit.ts';
import { newPodTopologySpread } from './pod-topology-spread.ts';
import { newPrioritySort } from './priority-sort.ts';
import { newSchedulingGates } from './scheduling-gates.ts';
import { newTaintToleration } from './taint-toleration.ts';
import { newVolumeBinding } from './volume-binding.ts';

export function inTreeRegistry(): Map<string, PluginFactory> {
  return new Map<string, PluginFactory>([
    [names.PrioritySort, () => newPrioritySort()],
    [names.SchedulingGates, () => newSchedulingGates()],
    [names.NodeUnschedulable, () => newNodeUnschedulable()],
    [names.NodeName, () => newNodeName()],
    [names.TaintToleration, () => newTaintToleration()],
    [names.NodeAffinity, (args) => newNodeAffinity(args)],
    [names.NodePorts, () => newNodePorts()],
    [names.NodeResourcesFit, (args) => newNodeResourcesFit(args)],
    [names.NodeResourcesBalancedAllocation, (args) => newBalancedAllocation(args)],
    [names.ImageLocality, newImageLocality],
    [names.InterPodAffinity, newInterPodAffinity],
    [names.PodTopologySpread, newPodTopologySpread],
    [names.VolumeBinding, newVolumeBinding],
    [names.DefaultPreemption, newDefaultPreemption],
    [names.DefaultBinder, newDefaultBinder],
  ]);
}

/** Merges out-of-tree plugins into the in-tree registry (a name present in both is an error). */
export function mergeRegistries(base: Registry, extra: Registry): Map<string, PluginFactory> {
  const out = new Map(base);
  for (const [k, v] of extra) {
    if (out.has(k)) throw new Error(`a plugin named ${k} already exists`);
    out.set(k, v);
  }
  return out;
}
