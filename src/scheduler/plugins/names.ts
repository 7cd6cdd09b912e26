// Plugin names, as upstream's pkg/scheduler/framework/plugins/names: configuration files and
// failure diagnostics refer to plugins by these.

export const PrioritySort = 'PrioritySort';
export const SchedulingGates = 'SchedulingGates';
export const NodeUnschedulable = 'NodeUnschedulable';
export const NodeName = 'NodeName';
export const TaintToleration = 'TaintToleration';
export const NodeAffinity = 'NodeAffinity';
export const NodePorts = 'NodePorts';
export const NodeResourcesFit = 'NodeResourcesFit';
export const NodeResourcesBalancedAllocation = 'NodeResourcesBalancedAllocation';
export const ImageLocality = 'ImageLocality';
export const InterPodAffinity = 'InterPodAffinity';
export const PodTopologySpread = 'PodTopologySpread';
export const VolumeBinding = 'VolumeBinding';
export const VolumeRestrictions = 'VolumeRestrictions';
export const VolumeZone = 'VolumeZone';
export const NodeVolumeLimits = 'NodeVolumeLimits';
export const DefaultPreemption = 'DefaultPreemption';
export const DefaultBinder = 'DefaultBinder';
