// The ReplicationController controller (upstream's "replicationcontroller", events from
// "replication-controller"). Upstream runs it through the ReplicaSet controller with an adapter
// that converts RCs to ReplicaSets; here the shared loop takes the kind's differences directly:
// the resource, the kind in controller references, and a selector that is a plain label map.
import { selectorFromSet } from '../../api/labels.ts';
import type { Controller } from '../controller.ts';
import { replicaController, type ReplicaControllerOptions, type ReplicaKind } from '../replicaset/replica-manager.ts';
import type { ReplicationController } from '../replicaset/types.ts';

export const REPLICATION_CONTROLLER_KIND: ReplicaKind = {
  name: 'replicationcontroller',
  component: 'replication-controller',
  group: '',
  plural: 'replicationcontrollers',
  kind: 'ReplicationController',
  selector: (o) => selectorFromSet((o as ReplicationController).spec.selector),
};

export function replicationControllerController(o: ReplicaControllerOptions = {}): Controller {
  return replicaController(REPLICATION_CONTROLLER_KIND, o);
}
