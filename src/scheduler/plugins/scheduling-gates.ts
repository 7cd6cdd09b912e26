// SchedulingGates: a pod with spec.schedulingGates waits outside the active queue until the
// gates are removed (upstream's PreEnqueue plugin of the same name).

import { Action } from '../events.ts';
import type { EnqueueExtensions, PreEnqueuePlugin } from '../framework/interfaces.ts';
import { Code, Status } from '../status.ts';
import type { Pod } from '../types.ts';
import { SchedulingGates as Name } from './names.ts';

export function newSchedulingGates(): PreEnqueuePlugin & EnqueueExtensions {
  return {
    name: Name,
    preEnqueue(pod: Pod) {
      const gates = pod.spec.schedulingGates ?? [];
      if (gates.length === 0) return null;
      return new Status(Code.UnschedulableAndUnresolvable, `waiting for scheduling gates: [${gates.map((g) => g.name).join(' ')}]`);
    },
    eventsToRegister() {
      return [
        {
          event: { resource: 'UnscheduledPod', action: Action.UpdatePodSchedulingGatesEliminated },
          hint: (pod: Pod, _old: unknown, updated: unknown) =>
            (updated as Pod | undefined)?.metadata.uid === pod.metadata.uid && !(updated as Pod).spec.schedulingGates?.length ? 'Queue' : 'Skip',
        },
      ];
    },
  };
}
