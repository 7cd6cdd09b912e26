// scheduling.k8s.io/v1 defaults, as upstream's pkg/apis/scheduling/v1/defaults.go.

import { register } from '../validation/registry.ts';

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type Json = any;

/** SetDefaults_PriorityClass: preemptionPolicy defaults to PreemptLowerPriority. */
export function defaultPriorityClass(pc: Json): void {
  if (pc.preemptionPolicy == null) pc.preemptionPolicy = 'PreemptLowerPriority';
}

register('scheduling.k8s.io/PriorityClass', { defaults: defaultPriorityClass });
