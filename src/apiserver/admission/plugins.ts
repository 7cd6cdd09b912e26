// The admission chain in upstream's default order (kube-apiserver's AllOrderedPlugins, restricted
// to the plugins rudder has): NamespaceLifecycle, LimitRanger, ServiceAccount, Priority,
// DefaultTolerationSeconds, ResourceQuota. rudder runs each plugin's mutation and validation in
// one pass, so the order also stands in for upstream's "all mutating, then all validating":
// every plugin that changes a pod runs before ResourceQuota charges it.
import { namespaceLifecycle } from './namespace-lifecycle.ts';
import type { AdmissionPlugin } from '../registry.ts';
import { defaultTolerationSeconds } from './default-toleration-seconds.ts';
import { limitRanger } from './limit-ranger.ts';
import { priorityAdmission } from './priority.ts';
import { resourceQuotaAdmission } from './resource-quota.ts';
import { serviceAccountAdmission, type ServiceAccountAdmissionOptions } from './service-account.ts';

export interface AdmissionChainOptions {
  /** --default-not-ready-toleration-seconds (300 unless set). */
  defaultNotReadyTolerationSeconds?: number;
  /** --default-unreachable-toleration-seconds (300 unless set). */
  defaultUnreachableTolerationSeconds?: number;
  serviceAccount?: ServiceAccountAdmissionOptions;
  now?: () => Date;
}

export const ADMISSION_ORDER = ['NamespaceLifecycle', 'LimitRanger', 'ServiceAccount', 'Priority', 'DefaultTolerationSeconds', 'ResourceQuota'] as const;

export function defaultAdmissionPlugins(o: AdmissionChainOptions = {}): AdmissionPlugin[] {
  return [
    namespaceLifecycle(),
    limitRanger(),
    serviceAccountAdmission(o.serviceAccount),
    priorityAdmission(),
    defaultTolerationSeconds({ notReadySeconds: o.defaultNotReadyTolerationSeconds, unreachableSeconds: o.defaultUnreachableTolerationSeconds }),
    resourceQuotaAdmission({ now: o.now }),
  ];
}
