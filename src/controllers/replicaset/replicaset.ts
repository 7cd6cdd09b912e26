// The ReplicaSet controller (upstream's "replicaset" controller, events from
// "replicaset-controller"): the shared replica loop over apps/v1 ReplicaSets.
import { labelSelectorAsSelector } from '../../api/labels.ts';
import type { Controller } from '../controller.ts';
import { replicaController, type ReplicaControllerOptions, type ReplicaKind } from './replica-manager.ts';
import type { ReplicaSet } from './types.ts';

export const REPLICA_SET_KIND: ReplicaKind = {
  name: 'replicaset',
  component: 'replicaset-controller',
  group: 'apps',
  plural: 'replicasets',
  kind: 'ReplicaSet',
  selector: (o) => labelSelectorAsSelector((o as ReplicaSet).spec.selector),
};

export function replicaSetController(o: ReplicaControllerOptions = {}): Controller {
  return replicaController(REPLICA_SET_KIND, o);
}
