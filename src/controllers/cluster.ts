// The cluster-wide controllers of this package, for the controller-manager to run, with
// upstream's --controllers names: garbagecollector, namespace, serviceaccount,
// root-ca-cert-publisher, endpoint, endpointslice, endpointslicemirroring, nodelifecycle,
// taint-eviction-controller, nodeipam, podgc, resourcequota, persistentvolume-binder,
// local-path-provisioner (k3s's built-in local storage) and disruption.
import type { Controller } from './controller.ts';
import { disruptionController } from './disruption/disruption.ts';
import { endpointsController } from './endpoint/endpoints.ts';
import { endpointSliceController } from './endpointslice/endpointslice.ts';
import { endpointSliceMirroringController } from './endpointslicemirroring/mirroring.ts';
import { garbageCollectorController } from './garbagecollector/garbagecollector.ts';
import { namespaceController } from './namespace/namespace.ts';
import { nodeIpamController } from './nodeipam/rangeallocator.ts';
import { nodeLifecycleController } from './nodelifecycle/nodelifecycle.ts';
import { taintEvictionController } from './nodelifecycle/tainteviction.ts';
import { persistentVolumeBinderController } from './persistentvolume/binder.ts';
import { localPathProvisioner } from './persistentvolume/localpath.ts';
import { podGCController } from './podgc/podgc.ts';
import { resourceQuotaController } from './resourcequota/resourcequota.ts';
import { rootCACertPublisher } from './rootcacertpublisher/publisher.ts';
import { serviceAccountController } from './serviceaccount/serviceaccounts.ts';

export {
  disruptionController,
  endpointsController,
  endpointSliceController,
  endpointSliceMirroringController,
  garbageCollectorController,
  localPathProvisioner,
  namespaceController,
  nodeIpamController,
  nodeLifecycleController,
  persistentVolumeBinderController,
  podGCController,
  resourceQuotaController,
  rootCACertPublisher,
  serviceAccountController,
  taintEvictionController,
};

/** Every controller keeps its state in what setup() returns, so one list serves any number of managers. */
export function clusterControllers(): Controller[] {
  return [
    garbageCollectorController,
    namespaceController,
    serviceAccountController,
    rootCACertPublisher,
    endpointsController,
    endpointSliceController,
    endpointSliceMirroringController,
    nodeLifecycleController,
    taintEvictionController,
    nodeIpamController,
    podGCController,
    resourceQuotaController,
    persistentVolumeBinderController,
    localPathProvisioner,
    disruptionController,
  ];
}
