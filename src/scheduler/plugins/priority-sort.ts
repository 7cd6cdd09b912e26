// PrioritySort: the active queue's order — higher priority first, then the pod queued earlier.

import type { QueueSortPlugin, QueuedPodView } from '../framework/interfaces.ts';
import { PrioritySort as Name } from './names.ts';

export function newPrioritySort(): QueueSortPlugin {
  return {
    name: Name,
    less(a: QueuedPodView, b: QueuedPodView): boolean {
      const p1 = a.podInfo.priority;
      const p2 = b.podInfo.priority;
      return p1 > p2 || (p1 === p2 && a.timestamp < b.timestamp);
    },
  };
}
