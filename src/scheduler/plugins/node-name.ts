// NodeName: a pod that names its node (spec.nodeName) fits only there.

import { Action } from '../events.ts';
import type { EnqueueExtensions, FilterPlugin } from '../framework/interfaces.ts';
import { Code, fixedStatus } from '../status.ts';
import type { Node, Pod } from '../types.ts';
import { NodeName as Name } from './names.ts';

export const ErrReasonNodeName = "node(s) didn't match the requested node name";

const OTHER_NODE = fixedStatus(Code.UnschedulableAndUnresolvable, ErrReasonNodeName);

export function newNodeName(): FilterPlugin & EnqueueExtensions {
  return {
    name: Name,
    filter(_state, pod, ni) {
      const want = pod.pod.spec.nodeName;
      if (!want || want === ni.name) return null;
      return OTHER_NODE;
    },
    eventsToRegister() {
      return [
        {
          event: { resource: 'Node', action: Action.Add },
          hint: (pod: Pod, _old: unknown, node: unknown) => (!pod.spec.nodeName || pod.spec.nodeName === (node as Node).metadata.name ? 'Queue' : 'Skip'),
        },
      ];
    },
  };
}
