// The workload controllers of this package, for the controller-manager to run: Deployments,
// ReplicaSets and ReplicationControllers (upstream's "deployment", "replicaset" and
// "replicationcontroller" controllers).
import type { Controller } from './controller.ts';
import { deploymentController } from './deployment/deployment.ts';
import { replicaSetController } from './replicaset/replicaset.ts';
import { replicationControllerController } from './replicationcontroller/replicationcontroller.ts';

export { deploymentController, replicaSetController, replicationControllerController };

export function workloadControllers(): Controller[] {
  return [deploymentController(), replicaSetController(), replicationControllerController()];
}
