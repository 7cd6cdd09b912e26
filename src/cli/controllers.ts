// The controllers rudder's controller-manager runs, and its configuration from the command line.
// The composition root: the one place that knows every controller.
import type { Controller, ControllerManagerConfig } from '../controllers/controller.ts';
import { garbageCollectorController } from '../controllers/garbagecollector/garbagecollector.ts';
import { namespaceController } from '../controllers/namespace/namespace.ts';
import { nodeIpamController } from '../controllers/nodeipam/rangeallocator.ts';
import { podGCController } from '../controllers/podgc/podgc.ts';
import { rootCACertPublisher } from '../controllers/rootcacertpublisher/publisher.ts';
import { serviceAccountController } from '../controllers/serviceaccount/serviceaccounts.ts';
import { workloadControllers } from '../controllers/workloads.ts';
import { setAndBatchControllers } from '../controllers/batch-and-sets.ts';

export function allControllers(): Controller[] {
  return [
    serviceAccountController,
    rootCACertPublisher,
    namespaceController,
    garbageCollectorController,
    podGCController,
    nodeIpamController,
    ...workloadControllers(),
    ...setAndBatchControllers(),
  ];
}

export interface ControllerFlags {
  clusterCidr: string;
  nodeCidrMaskSize: number;
  serviceCidr: string;
  nodeMonitorGracePeriodMs: number;
  defaultNotReadyTolerationSeconds: number;
  defaultUnreachableTolerationSeconds: number;
  dataDir: string;
  rootCaCert: string;
  controllers?: string[];
}

export function controllerManagerConfig(f: ControllerFlags): ControllerManagerConfig {
  return {
    clusterCidr: f.clusterCidr,
    nodeCidrMaskSize: f.nodeCidrMaskSize,
    serviceCidr: f.serviceCidr,
    nodeMonitorGracePeriodMs: f.nodeMonitorGracePeriodMs,
    nodeMonitorPeriodMs: 5_000,
    defaultNotReadyTolerationSeconds: f.defaultNotReadyTolerationSeconds,
    defaultUnreachableTolerationSeconds: f.defaultUnreachableTolerationSeconds,
    terminatedPodGCThreshold: 12_500,
    localPathRoot: `${f.dataDir}/storage`,
    rootCaCert: f.rootCaCert,
    controllers: f.controllers ?? ['*'],
  };
}
