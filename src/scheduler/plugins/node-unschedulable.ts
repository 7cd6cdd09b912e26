// NodeUnschedulable: keeps pods off cordoned nodes (spec.unschedulable) unless they tolerate
// the node.kubernetes.io/unschedulable:NoSchedule taint.

import { Action } from '../events.ts';
import type { EnqueueExtensions, FilterPlugin } from '../framework/interfaces.ts';
import type { NodeInfo } from '../nodeinfo.ts';
import { tolerationsTolerateTaint } from '../nodeaffinity.ts';
import type { PodInfo } from '../podinfo.ts';
import { Code, fixedStatus } from '../status.ts';
import { TAINT_NODE_UNSCHEDULABLE, type Node, type Pod } from '../types.ts';
import { NodeUnschedulable as Name } from './names.ts';

export const ErrReasonUnschedulable = 'node(s) were unschedulable';

const UNSCHEDULABLE_TAINT = { key: TAINT_NODE_UNSCHEDULABLE, effect: 'NoSchedule' };

const CORDONED = fixedStatus(Code.UnschedulableAndUnresolvable, ErrReasonUnschedulable);

export function newNodeUnschedulable(): FilterPlugin & EnqueueExtensions {
  return {
    name: Name,
    filter(_state, pod: PodInfo, ni: NodeInfo) {
      if (!ni.unschedulable) return null;
      if (tolerationsTolerateTaint(pod.pod.spec.tolerations, UNSCHEDULABLE_TAINT)) return null;
      return CORDONED;
    },
    eventsToRegister() {
      return [
        {
          event: { resource: 'Node', action: Action.Add | Action.UpdateNodeTaint },
          hint: (pod: Pod, _old: unknown, node: unknown) =>
            !(node as Node).spec?.unschedulable || tolerationsTolerateTaint(pod.spec.tolerations, UNSCHEDULABLE_TAINT) ? 'Queue' : 'Skip',
        },
        { event: { resource: 'UnscheduledPod', action: Action.UpdatePodToleration } },
      ];
    },
  };
}
