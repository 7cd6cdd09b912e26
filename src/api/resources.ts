// The declaration of every served resource. A resource is declared once here; the apiserver's
// generic registry serves every verb from the declaration, discovery and OpenAPI list it, and
// clients map kinds to paths with it. Adding a type is adding a line, not a handler.

export interface GroupVersionKind {
  group: string;
  version: string;
  kind: string;
}

export interface ScaleDecl {
  /** JSON paths (dotted) into the object, as upstream's scale subresource. */
  specReplicasPath: string;
  statusReplicasPath: string;
  labelSelectorPath?: string;
}

export interface ResourceDecl {
  group: string;
  /** Served versions, preferred first. The first is also the version objects are stored in. */
  versions: string[];
  kind: string;
  plural: string;
  singular: string;
  namespaced: boolean;
  shortNames?: string[];
  categories?: string[];
  /** Subresources beyond the object itself. */
  status?: boolean;
  scale?: ScaleDecl;
  /** Other subresources served by dedicated handlers (e.g. 'binding', 'eviction', 'log'). */
  extraSubresources?: string[];
  /** Verbs, when not the full set. 'create'-only kinds are reviews that are never stored. */
  verbs?: string[];
  /** Storage key prefix when upstream's differs from /registry/<plural> (or /registry/<group>/<plural>). */
  storagePrefix?: string;
  /** Another resource that stores this kind (events.k8s.io events are core events). */
  storedAs?: { group: string; plural: string };
  /** DELETE answers with the deleted object rather than a Status (upstream's ReturnDeletedObject). */
  returnsDeletedObject?: boolean;
}

export const ALL_VERBS = ['create', 'delete', 'deletecollection', 'get', 'list', 'patch', 'update', 'watch'];
export const CREATE_ONLY = ['create'];

const appsScale: ScaleDecl = {
  specReplicasPath: 'spec.replicas',
  statusReplicasPath: 'status.replicas',
  labelSelectorPath: 'status.selector',
};

export const RESOURCES: ResourceDecl[] = [
  // core/v1
  { group: '', versions: ['v1'], kind: 'Namespace', plural: 'namespaces', singular: 'namespace', namespaced: false, shortNames: ['ns'], status: true, extraSubresources: ['finalize'], verbs: ['create', 'delete', 'get', 'list', 'patch', 'update', 'watch'] },
  { group: '', versions: ['v1'], kind: 'Pod', plural: 'pods', singular: 'pod', namespaced: true, shortNames: ['po'], categories: ['all'], status: true, extraSubresources: ['binding', 'eviction', 'log', 'exec', 'attach', 'portforward', 'proxy', 'ephemeralcontainers', 'resize'] , returnsDeletedObject: true },
  { group: '', versions: ['v1'], kind: 'Service', plural: 'services', singular: 'service', namespaced: true, shortNames: ['svc'], categories: ['all'], status: true, extraSubresources: ['proxy'], storagePrefix: '/registry/services/specs' , returnsDeletedObject: true },
  { group: '', versions: ['v1'], kind: 'Endpoints', plural: 'endpoints', singular: 'endpoints', namespaced: true, shortNames: ['ep'], storagePrefix: '/registry/services/endpoints' },
  { group: '', versions: ['v1'], kind: 'Node', plural: 'nodes', singular: 'node', namespaced: false, shortNames: ['no'], status: true, extraSubresources: ['proxy'], storagePrefix: '/registry/minions' },
  { group: '', versions: ['v1'], kind: 'ConfigMap', plural: 'configmaps', singular: 'configmap', namespaced: true, shortNames: ['cm'] },
  { group: '', versions: ['v1'], kind: 'Secret', plural: 'secrets', singular: 'secret', namespaced: true },
  { group: '', versions: ['v1'], kind: 'ServiceAccount', plural: 'serviceaccounts', singular: 'serviceaccount', namespaced: true, shortNames: ['sa'], extraSubresources: ['token'] , returnsDeletedObject: true },
  { group: '', versions: ['v1'], kind: 'Event', plural: 'events', singular: 'event', namespaced: true, shortNames: ['ev'] },
  { group: '', versions: ['v1'], kind: 'PersistentVolume', plural: 'persistentvolumes', singular: 'persistentvolume', namespaced: false, shortNames: ['pv'], status: true , returnsDeletedObject: true },
  { group: '', versions: ['v1'], kind: 'PersistentVolumeClaim', plural: 'persistentvolumeclaims', singular: 'persistentvolumeclaim', namespaced: true, shortNames: ['pvc'], status: true , returnsDeletedObject: true },
  { group: '', versions: ['v1'], kind: 'ReplicationController', plural: 'replicationcontrollers', singular: 'replicationcontroller', namespaced: true, shortNames: ['rc'], categories: ['all'], status: true, scale: { specReplicasPath: 'spec.replicas', statusReplicasPath: 'status.replicas', labelSelectorPath: 'status.selector' }, storagePrefix: '/registry/controllers' },
  { group: '', versions: ['v1'], kind: 'LimitRange', plural: 'limitranges', singular: 'limitrange', namespaced: true, shortNames: ['limits'] },
  { group: '', versions: ['v1'], kind: 'ResourceQuota', plural: 'resourcequotas', singular: 'resourcequota', namespaced: true, shortNames: ['quota'], status: true , returnsDeletedObject: true },
  { group: '', versions: ['v1'], kind: 'PodTemplate', plural: 'podtemplates', singular: 'podtemplate', namespaced: true , returnsDeletedObject: true },
  { group: '', versions: ['v1'], kind: 'Binding', plural: 'bindings', singular: 'binding', namespaced: true, verbs: CREATE_ONLY },
  { group: '', versions: ['v1'], kind: 'ComponentStatus', plural: 'componentstatuses', singular: 'componentstatus', namespaced: false, shortNames: ['cs'], verbs: ['get', 'list'] },

  // apps/v1
  { group: 'apps', versions: ['v1'], kind: 'Deployment', plural: 'deployments', singular: 'deployment', namespaced: true, shortNames: ['deploy'], categories: ['all'], status: true, scale: appsScale },
  { group: 'apps', versions: ['v1'], kind: 'ReplicaSet', plural: 'replicasets', singular: 'replicaset', namespaced: true, shortNames: ['rs'], categories: ['all'], status: true, scale: appsScale },
  { group: 'apps', versions: ['v1'], kind: 'StatefulSet', plural: 'statefulsets', singular: 'statefulset', namespaced: true, shortNames: ['sts'], categories: ['all'], status: true, scale: appsScale },
  { group: 'apps', versions: ['v1'], kind: 'DaemonSet', plural: 'daemonsets', singular: 'daemonset', namespaced: true, shortNames: ['ds'], categories: ['all'], status: true },
  { group: 'apps', versions: ['v1'], kind: 'ControllerRevision', plural: 'controllerrevisions', singular: 'controllerrevision', namespaced: true },

  // batch/v1
  { group: 'batch', versions: ['v1'], kind: 'Job', plural: 'jobs', singular: 'job', namespaced: true, categories: ['all'], status: true },
  { group: 'batch', versions: ['v1'], kind: 'CronJob', plural: 'cronjobs', singular: 'cronjob', namespaced: true, shortNames: ['cj'], categories: ['all'], status: true },

  // autoscaling: one stored object (v2) served as v2 and v1
  { group: 'autoscaling', versions: ['v2', 'v1'], kind: 'HorizontalPodAutoscaler', plural: 'horizontalpodautoscalers', singular: 'horizontalpodautoscaler', namespaced: true, shortNames: ['hpa'], categories: ['all'], status: true },

  // policy/v1
  { group: 'policy', versions: ['v1'], kind: 'PodDisruptionBudget', plural: 'poddisruptionbudgets', singular: 'poddisruptionbudget', namespaced: true, shortNames: ['pdb'], status: true },

  // coordination.k8s.io/v1
  { group: 'coordination.k8s.io', versions: ['v1'], kind: 'Lease', plural: 'leases', singular: 'lease', namespaced: true },

  // discovery.k8s.io/v1
  { group: 'discovery.k8s.io', versions: ['v1'], kind: 'EndpointSlice', plural: 'endpointslices', singular: 'endpointslice', namespaced: true },

  // events.k8s.io/v1: the same stored objects as core/v1 events, converted per request
  { group: 'events.k8s.io', versions: ['v1'], kind: 'Event', plural: 'events', singular: 'event', namespaced: true, shortNames: ['ev'], storedAs: { group: '', plural: 'events' } },

  // networking.k8s.io/v1
  { group: 'networking.k8s.io', versions: ['v1'], kind: 'Ingress', plural: 'ingresses', singular: 'ingress', namespaced: true, shortNames: ['ing'], status: true, storagePrefix: '/registry/ingress' },
  { group: 'networking.k8s.io', versions: ['v1'], kind: 'IngressClass', plural: 'ingressclasses', singular: 'ingressclass', namespaced: false },
  { group: 'networking.k8s.io', versions: ['v1'], kind: 'NetworkPolicy', plural: 'networkpolicies', singular: 'networkpolicy', namespaced: true, shortNames: ['netpol'] },

  // rbac.authorization.k8s.io/v1
  { group: 'rbac.authorization.k8s.io', versions: ['v1'], kind: 'Role', plural: 'roles', singular: 'role', namespaced: true },
  { group: 'rbac.authorization.k8s.io', versions: ['v1'], kind: 'RoleBinding', plural: 'rolebindings', singular: 'rolebinding', namespaced: true },
  { group: 'rbac.authorization.k8s.io', versions: ['v1'], kind: 'ClusterRole', plural: 'clusterroles', singular: 'clusterrole', namespaced: false },
  { group: 'rbac.authorization.k8s.io', versions: ['v1'], kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', singular: 'clusterrolebinding', namespaced: false },

  // storage.k8s.io/v1
  { group: 'storage.k8s.io', versions: ['v1'], kind: 'StorageClass', plural: 'storageclasses', singular: 'storageclass', namespaced: false, shortNames: ['sc'] , returnsDeletedObject: true },
  { group: 'storage.k8s.io', versions: ['v1'], kind: 'VolumeAttachment', plural: 'volumeattachments', singular: 'volumeattachment', namespaced: false, status: true , returnsDeletedObject: true },
  { group: 'storage.k8s.io', versions: ['v1'], kind: 'CSIDriver', plural: 'csidrivers', singular: 'csidriver', namespaced: false , returnsDeletedObject: true },
  { group: 'storage.k8s.io', versions: ['v1'], kind: 'CSINode', plural: 'csinodes', singular: 'csinode', namespaced: false , returnsDeletedObject: true },
  { group: 'storage.k8s.io', versions: ['v1'], kind: 'CSIStorageCapacity', plural: 'csistoragecapacities', singular: 'csistoragecapacity', namespaced: true },

  // scheduling.k8s.io/v1
  { group: 'scheduling.k8s.io', versions: ['v1'], kind: 'PriorityClass', plural: 'priorityclasses', singular: 'priorityclass', namespaced: false, shortNames: ['pc'] },

  // node.k8s.io/v1
  { group: 'node.k8s.io', versions: ['v1'], kind: 'RuntimeClass', plural: 'runtimeclasses', singular: 'runtimeclass', namespaced: false },

  // certificates.k8s.io/v1
  { group: 'certificates.k8s.io', versions: ['v1'], kind: 'CertificateSigningRequest', plural: 'certificatesigningrequests', singular: 'certificatesigningrequest', namespaced: false, shortNames: ['csr'], status: true, extraSubresources: ['approval'] },

  // authorization.k8s.io/v1 and authentication.k8s.io/v1: reviews, answered and never stored
  { group: 'authorization.k8s.io', versions: ['v1'], kind: 'SelfSubjectAccessReview', plural: 'selfsubjectaccessreviews', singular: 'selfsubjectaccessreview', namespaced: false, verbs: CREATE_ONLY },
  { group: 'authorization.k8s.io', versions: ['v1'], kind: 'SelfSubjectRulesReview', plural: 'selfsubjectrulesreviews', singular: 'selfsubjectrulesreview', namespaced: false, verbs: CREATE_ONLY },
  { group: 'authorization.k8s.io', versions: ['v1'], kind: 'SubjectAccessReview', plural: 'subjectaccessreviews', singular: 'subjectaccessreview', namespaced: false, verbs: CREATE_ONLY },
  { group: 'authorization.k8s.io', versions: ['v1'], kind: 'LocalSubjectAccessReview', plural: 'localsubjectaccessreviews', singular: 'localsubjectaccessreview', namespaced: true, verbs: CREATE_ONLY },
  { group: 'authentication.k8s.io', versions: ['v1'], kind: 'TokenReview', plural: 'tokenreviews', singular: 'tokenreview', namespaced: false, verbs: CREATE_ONLY },
  { group: 'authentication.k8s.io', versions: ['v1'], kind: 'SelfSubjectReview', plural: 'selfsubjectreviews', singular: 'selfsubjectreview', namespaced: false, verbs: CREATE_ONLY },
];

/** "apps/v1", or "v1" for the core group. */
export function groupVersion(group: string, version: string): string {
  return group ? `${group}/${version}` : version;
}

/** Splits "apps/v1" into {group:'apps', version:'v1'} and "v1" into {group:'', version:'v1'}. */
export function parseGroupVersion(apiVersion: string): { group: string; version: string } {
  const i = apiVersion.indexOf('/');
  return i < 0 ? { group: '', version: apiVersion } : { group: apiVersion.slice(0, i), version: apiVersion.slice(i + 1) };
}

const byGroupResource = new Map<string, ResourceDecl>();
const byGroupKind = new Map<string, ResourceDecl>();
for (const r of RESOURCES) {
  byGroupResource.set(`${r.group}/${r.plural}`, r);
  byGroupKind.set(`${r.group}/${r.kind}`, r);
}

export function resourceByPlural(group: string, plural: string): ResourceDecl | undefined {
  return byGroupResource.get(`${group}/${plural}`);
}

export function resourceByKind(group: string, kind: string): ResourceDecl | undefined {
  return byGroupKind.get(`${group}/${kind}`);
}

/** The storage key prefix (no trailing slash) for a resource, following upstream's layout. */
export function storagePrefix(r: ResourceDecl): string {
  if (r.storedAs) {
    const s = resourceByPlural(r.storedAs.group, r.storedAs.plural);
    if (s) return storagePrefix(s);
  }
  if (r.storagePrefix) return r.storagePrefix;
  // Built-in groups keep upstream's flat /registry/<resource> layout; only custom resources
  // add their group to the key.
  return `/registry/${r.plural}`;
}
