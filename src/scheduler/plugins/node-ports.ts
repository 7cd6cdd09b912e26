// NodePorts: a pod's host ports must be free on the node (upstream's NodePorts plugin).

import { Action } from '../events.ts';
import type { EnqueueExtensions, FilterPlugin, PreFilterPlugin } from '../framework/interfaces.ts';
import { podInfoOf } from '../podinfo.ts';
import { Code, fixedStatus, Status } from '../status.ts';
import type { Pod } from '../types.ts';
import { NodePorts as Name } from './names.ts';

export const ErrReasonNodePorts = "node(s) didn't have free ports for the requested pod ports";

const PORTS_TAKEN = fixedStatus(Code.Unschedulable, ErrReasonNodePorts);

export function newNodePorts(): PreFilterPlugin & FilterPlugin & EnqueueExtensions {
  return {
    name: Name,
    preFilter(_state, pod) {
      return pod.hostPorts.length === 0 ? new Status(Code.Skip) : null;
    },
    filter(_state, pod, ni) {
      if (ni.usedPorts.size === 0) return null;
      for (const p of pod.hostPorts) if (ni.usedPorts.conflicts(p)) return PORTS_TAKEN;
      return null;
    },
    eventsToRegister() {
      return [
        {
          // a deleted pod frees its ports: only interesting if it held one this pod wants
          event: { resource: 'AssignedPod', action: Action.Delete },
          hint: (pod: Pod, deleted: unknown) => {
            const want = podInfoOf(pod).hostPorts;
            const had = podInfoOf(deleted as Pod).hostPorts;
            return had.some((h) => want.some((w) => w.port === h.port && w.protocol === h.protocol)) ? 'Queue' : 'Skip';
          },
        },
        { event: { resource: 'Node', action: Action.Add } },
      ];
    },
  };
}
