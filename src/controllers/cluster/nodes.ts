// Node helpers shared by the node controllers of this set: upstream's node events
// (pkg/controller/util/node) and the zone a node belongs to.
import type { KObject } from '../../api/meta.ts';
import { EVENT_TYPE_NORMAL, type EventRecorder } from '../../client/events.ts';

/** upstream's RecordNodeStatusChange: "Node <name> status is now: <status>", a Normal event on the node. */
export function recordNodeStatusChange(recorder: EventRecorder, node: { name: string; uid?: string }, newStatus: string): void {
  recorder.event({ apiVersion: 'v1', kind: 'Node', name: node.name, uid: node.uid }, EVENT_TYPE_NORMAL, newStatus, `Node ${node.name} status is now: ${newStatus}`);
}

/** upstream's RecordNodeEvent (RegisteredNode, RemovingNode …). */
export function recordNodeEvent(recorder: EventRecorder, node: { name: string; uid?: string }, type: string, reason: string, message: string): void {
  recorder.event({ apiVersion: 'v1', kind: 'Node', name: node.name, uid: node.uid }, type, reason, message);
}

/** upstream's GetZoneKey: region and zone labels joined by ":\0:", '' when the node has neither. */
export function zoneKey(node: KObject): string {
  const l = node.metadata.labels ?? {};
  const region = l['topology.kubernetes.io/region'] ?? l['failure-domain.beta.kubernetes.io/region'] ?? '';
  const zone = l['topology.kubernetes.io/zone'] ?? l['failure-domain.beta.kubernetes.io/zone'] ?? '';
  if (!region && !zone) return '';
  return `${region}:\u0000:${zone}`;
}
