// Which table each served resource prints as. Kinds upstream has no printer for get upstream's
// default table (rest.DefaultTableConvertor): NAME and CREATED AT.

import { NAME, col } from './columns.ts';
import * as cluster from './cluster.ts';
import * as core from './core.ts';
import { obj, str } from './format.ts';
import { parseTimestamp } from './duration.ts';
import * as workloads from './workloads.ts';
import type { TableSpec } from './types.ts';

const SPECS: ReadonlyMap<string, TableSpec> = new Map<string, TableSpec>([
  ['/pods', core.pods],
  ['/podtemplates', core.podTemplates],
  ['/replicationcontrollers', core.replicationControllers],
  ['/services', core.services],
  ['/endpoints', core.endpoints],
  ['/nodes', core.nodes],
  ['/events', core.events],
  ['/namespaces', core.namespaces],
  ['/configmaps', core.configMaps],
  ['/secrets', core.secrets],
  ['/serviceaccounts', core.serviceAccounts],
  ['/persistentvolumes', core.persistentVolumes],
  ['/persistentvolumeclaims', core.persistentVolumeClaims],
  ['/componentstatuses', core.componentStatuses],
  ['/resourcequotas', core.resourceQuotas],
  ['apps/deployments', workloads.deployments],
  ['apps/replicasets', workloads.replicaSets],
  ['apps/statefulsets', workloads.statefulSets],
  ['apps/daemonsets', workloads.daemonSets],
  ['apps/controllerrevisions', workloads.controllerRevisions],
  ['batch/jobs', workloads.jobs],
  ['batch/cronjobs', workloads.cronJobs],
  ['autoscaling/horizontalpodautoscalers', workloads.horizontalPodAutoscalers],
  ['policy/poddisruptionbudgets', workloads.podDisruptionBudgets],
  ['events.k8s.io/events', core.events],
  ['networking.k8s.io/ingresses', cluster.ingresses],
  ['networking.k8s.io/ingressclasses', cluster.ingressClasses],
  ['networking.k8s.io/networkpolicies', cluster.networkPolicies],
  ['discovery.k8s.io/endpointslices', cluster.endpointSlices],
  ['rbac.authorization.k8s.io/rolebindings', cluster.roleBindings],
  ['rbac.authorization.k8s.io/clusterrolebindings', cluster.clusterRoleBindings],
  ['certificates.k8s.io/certificatesigningrequests', cluster.certificateSigningRequests],
  ['coordination.k8s.io/leases', cluster.leases],
  ['storage.k8s.io/storageclasses', cluster.storageClasses],
  ['storage.k8s.io/volumeattachments', cluster.volumeAttachments],
  ['storage.k8s.io/csinodes', cluster.csiNodes],
  ['storage.k8s.io/csidrivers', cluster.csiDrivers],
  ['storage.k8s.io/csistoragecapacities', cluster.csiStorageCapacities],
  ['scheduling.k8s.io/priorityclasses', cluster.priorityClasses],
  ['node.k8s.io/runtimeclasses', cluster.runtimeClasses],
]);

/** Go's time.Format(time.RFC3339) of a UTC time: whole seconds, "Z"; the zero time when absent. */
function rfc3339Seconds(v: unknown): string {
  const t = parseTimestamp(v);
  if (t === undefined) return '0001-01-01T00:00:00Z';
  return new Date(Math.floor(t / 1000) * 1000).toISOString().replace('.000Z', 'Z');
}

/** upstream's default table, for kinds without a printer (Role, ClusterRole, LimitRange, custom resources). */
export const defaultTable: TableSpec = {
  columns: [NAME, col('Created At', 'When the object was created.', { type: 'date' })],
  cells(o) {
    const m = obj(obj(o).metadata);
    return [str(m.name), rfc3339Seconds(m.creationTimestamp)];
  },
};

/** The table a resource prints as; the default table for resources without their own. */
export function tableFor(group: string, plural: string): TableSpec {
  return SPECS.get(`${group}/${plural}`) ?? defaultTable;
}

/**
 * The table for a subresource request: the status subresource prints as its resource (upstream's
 * status stores share the resource's table convertor), scale as a Scale; others take the default.
 */
export function tableForSubresource(group: string, plural: string, subresource: string): TableSpec {
  if (subresource === '' || subresource === 'status') return tableFor(group, plural);
  if (subresource === 'scale') return workloads.scales;
  return defaultTable;
}
