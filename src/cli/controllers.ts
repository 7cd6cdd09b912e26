// The controllers rudder's controller-manager runs, and its configuration from the command line.
// The composition root: the one place that knows every controller.
import type { Controller, ControllerManagerConfig } from '../controllers/controller.ts';
import { clusterControllers } from '../controllers/cluster.ts';
import { serviceLBController } from '../controllers/servicelb/servicelb.ts';
import { workloadControllers } from '../controllers/workloads.ts';
import { setAndBatchControllers } from '../controllers/batch-and-sets.ts';
import { certificateControllers, type CertificateSigningConfig } from '../controllers/certificates/index.ts';

export function allControllers(): Controller[] {
  return [
    ...clusterControllers(),
    serviceLBController,
    ...workloadControllers(),
    ...setAndBatchControllers(),
    ...certificateControllers(),
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
  /** The certificate controllers' signing CA files (--cluster-signing-*). */
  signing?: CertificateSigningConfig;
}

export function controllerManagerConfig(f: ControllerFlags): ControllerManagerConfig & CertificateSigningConfig {
  return {
    ...f.signing,
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
