// Upstream's bootstrap RBAC policy (plugin/pkg/auth/authorizer/rbac/bootstrappolicy) as data: the
// default ClusterRoles and ClusterRoleBindings, the controllers' system:controller:* roles and
// bindings, and the Roles and RoleBindings in kube-system and kube-public. Rules whose upstream
// feature gates are off by default at 1.33 (dynamic resource allocation, cluster trust bundles)
// are left out, as a 1.33 kube-apiserver with default gates leaves them out.
//
// Every object carries upstream's label kubernetes.io/bootstrapping=rbac-defaults and annotation
// rbac.authorization.kubernetes.io/autoupdate=true (see rbac-reconcile.ts for what it means).
import type { PolicyRule, Subject } from './rbac-rules.ts';

export const BOOTSTRAP_LABEL = { 'kubernetes.io/bootstrapping': 'rbac-defaults' } as const;
export const AUTOUPDATE_ANNOTATION = 'rbac.authorization.kubernetes.io/autoupdate';

export const AGGREGATE_TO_ADMIN = 'rbac.authorization.k8s.io/aggregate-to-admin';
export const AGGREGATE_TO_EDIT = 'rbac.authorization.k8s.io/aggregate-to-edit';
export const AGGREGATE_TO_VIEW = 'rbac.authorization.k8s.io/aggregate-to-view';

export interface ClusterRoleData {
  name: string;
  labels?: Record<string, string>;
  rules?: PolicyRule[];
  /** matchLabels of the aggregationRule's clusterRoleSelectors. */
  aggregateFrom?: Record<string, string>[];
}

export interface RoleData {
  namespace: string;
  name: string;
  rules: PolicyRule[];
}

export interface BindingData {
  name: string;
  namespace?: string;
  roleKind: 'ClusterRole' | 'Role';
  roleName: string;
  subjects: Subject[];
}

const READ = ['get', 'list', 'watch'];
const READ_WRITE = ['get', 'list', 'watch', 'create', 'update', 'patch', 'delete', 'deletecollection'];
const WRITE = ['create', 'update', 'patch', 'delete', 'deletecollection'];
const READ_UPDATE = ['get', 'list', 'watch', 'update', 'patch'];

/** upstream's PolicyRuleBuilder: every list sorted. */
function rule(verbs: string[], apiGroups: string[], resources: string[], resourceNames?: string[]): PolicyRule {
  const r: PolicyRule = { verbs: [...verbs].sort(), apiGroups: [...apiGroups].sort(), resources: [...resources].sort() };
  if (resourceNames) r.resourceNames = [...resourceNames].sort();
  return r;
}

function urls(verbs: string[], nonResourceURLs: string[]): PolicyRule {
  return { verbs: [...verbs].sort(), nonResourceURLs: [...nonResourceURLs].sort() };
}

/** upstream's eventsRule. */
const EVENTS = rule(['create', 'update', 'patch'], ['', 'events.k8s.io'], ['events']);

const user = (name: string): Subject => ({ kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name });
const group = (name: string): Subject => ({ kind: 'Group', apiGroup: 'rbac.authorization.k8s.io', name });
const sa = (namespace: string, name: string): Subject => ({ kind: 'ServiceAccount', name, namespace });

/** upstream's NodeRules (the system:node role). */
export const NODE_RULES: PolicyRule[] = [
  rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
  rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews', 'localsubjectaccessreviews']),
  rule(READ, [''], ['services']),
  rule(['create', 'get', 'list', 'watch'], [''], ['nodes']),
  rule(['update', 'patch'], [''], ['nodes/status']),
  rule(['update', 'patch'], [''], ['nodes']),
  rule(['create', 'update', 'patch'], [''], ['events']),
  rule(READ, [''], ['pods']),
  rule(['create', 'delete'], [''], ['pods']),
  rule(['update', 'patch'], [''], ['pods/status']),
  rule(['create'], [''], ['pods/eviction']),
  rule(['get', 'list', 'watch'], [''], ['secrets', 'configmaps']),
  rule(['get'], [''], ['persistentvolumeclaims', 'persistentvolumes']),
  rule(['get'], [''], ['endpoints']),
  rule(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests']),
  rule(['get', 'create', 'update', 'patch', 'delete'], ['coordination.k8s.io'], ['leases']),
  rule(['get'], ['storage.k8s.io'], ['volumeattachments']),
  rule(['create'], [''], ['serviceaccounts/token']),
  rule(['get', 'update', 'patch'], [''], ['persistentvolumeclaims/status']),
  rule(['get', 'watch', 'list'], ['storage.k8s.io'], ['csidrivers']),
  rule(['get', 'create', 'update', 'patch', 'delete'], ['storage.k8s.io'], ['csinodes']),
  rule(['get', 'list', 'watch'], ['node.k8s.io'], ['runtimeclasses']),
];

export const CLUSTER_ROLES: ClusterRoleData[] = [
  { name: 'cluster-admin', rules: [rule(['*'], ['*'], ['*']), urls(['*'], ['*'])] },
  {
    name: 'system:discovery',
    rules: [urls(['get'], ['/livez', '/readyz', '/healthz', '/version', '/version/', '/openapi', '/openapi/*', '/api', '/api/*', '/apis', '/apis/*'])],
  },
  { name: 'system:monitoring', rules: [urls(['get'], ['/metrics', '/metrics/slis', '/livez', '/readyz', '/healthz', '/livez/*', '/readyz/*', '/healthz/*'])] },
  {
    name: 'system:basic-user',
    rules: [
      rule(['create'], ['authorization.k8s.io'], ['selfsubjectaccessreviews', 'selfsubjectrulesreviews']),
      rule(['create'], ['authentication.k8s.io'], ['selfsubjectreviews']),
    ],
  },
  { name: 'system:public-info-viewer', rules: [urls(['get'], ['/livez', '/readyz', '/healthz', '/version', '/version/'])] },
  { name: 'admin', aggregateFrom: [{ [AGGREGATE_TO_ADMIN]: 'true' }] },
  { name: 'edit', labels: { [AGGREGATE_TO_ADMIN]: 'true' }, aggregateFrom: [{ [AGGREGATE_TO_EDIT]: 'true' }] },
  { name: 'view', labels: { [AGGREGATE_TO_EDIT]: 'true' }, aggregateFrom: [{ [AGGREGATE_TO_VIEW]: 'true' }] },
  {
    name: 'system:aggregate-to-admin',
    labels: { [AGGREGATE_TO_ADMIN]: 'true' },
    rules: [
      rule(['create'], ['authorization.k8s.io'], ['localsubjectaccessreviews']),
      rule(READ_WRITE, ['rbac.authorization.k8s.io'], ['roles', 'rolebindings']),
    ],
  },
  {
    name: 'system:aggregate-to-edit',
    labels: { [AGGREGATE_TO_EDIT]: 'true' },
    rules: [
      rule(READ, [''], ['pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward', 'secrets', 'services/proxy']),
      rule(['impersonate'], [''], ['serviceaccounts']),
      rule(WRITE, [''], ['pods', 'pods/attach', 'pods/proxy', 'pods/exec', 'pods/portforward']),
      rule(['create'], [''], ['pods/eviction']),
      rule(WRITE, [''], ['replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/proxy', 'persistentvolumeclaims', 'configmaps', 'secrets', 'events']),
      rule(['create'], [''], ['serviceaccounts/token']),
      rule(WRITE, ['apps'], ['statefulsets', 'statefulsets/scale', 'daemonsets', 'deployments', 'deployments/scale', 'deployments/rollback', 'replicasets', 'replicasets/scale']),
      rule(WRITE, ['autoscaling'], ['horizontalpodautoscalers']),
      rule(WRITE, ['batch'], ['jobs', 'cronjobs']),
      rule(WRITE, ['extensions'], ['daemonsets', 'deployments', 'deployments/scale', 'deployments/rollback', 'ingresses', 'replicasets', 'replicasets/scale', 'replicationcontrollers/scale', 'networkpolicies']),
      rule(WRITE, ['policy'], ['poddisruptionbudgets']),
      rule(WRITE, ['networking.k8s.io'], ['networkpolicies', 'ingresses']),
      rule(READ_WRITE, ['coordination.k8s.io'], ['leases']),
    ],
  },
  {
    name: 'system:aggregate-to-view',
    labels: { [AGGREGATE_TO_VIEW]: 'true' },
    rules: [
      rule(READ, [''], ['pods', 'replicationcontrollers', 'replicationcontrollers/scale', 'serviceaccounts', 'services', 'services/status', 'endpoints', 'persistentvolumeclaims', 'persistentvolumeclaims/status', 'configmaps']),
      rule(READ, [''], ['limitranges', 'resourcequotas', 'bindings', 'events', 'pods/status', 'resourcequotas/status', 'namespaces/status', 'replicationcontrollers/status', 'pods/log']),
      rule(READ, [''], ['namespaces']),
      rule(READ, ['discovery.k8s.io'], ['endpointslices']),
      rule(READ, ['apps'], ['controllerrevisions', 'statefulsets', 'statefulsets/status', 'statefulsets/scale', 'daemonsets', 'daemonsets/status', 'deployments', 'deployments/status', 'deployments/scale', 'replicasets', 'replicasets/status', 'replicasets/scale']),
      rule(READ, ['autoscaling'], ['horizontalpodautoscalers', 'horizontalpodautoscalers/status']),
      rule(READ, ['batch'], ['jobs', 'cronjobs', 'cronjobs/status', 'jobs/status']),
      rule(READ, ['extensions'], ['daemonsets', 'daemonsets/status', 'deployments', 'deployments/scale', 'deployments/status', 'ingresses', 'ingresses/status', 'replicasets', 'replicasets/scale', 'replicasets/status', 'replicationcontrollers/scale', 'networkpolicies']),
      rule(READ, ['policy'], ['poddisruptionbudgets', 'poddisruptionbudgets/status']),
      rule(READ, ['networking.k8s.io'], ['networkpolicies', 'ingresses', 'ingresses/status']),
    ],
  },
  {
    name: 'system:heapster',
    rules: [rule(READ, [''], ['events', 'pods', 'nodes', 'namespaces']), rule(READ, ['extensions'], ['deployments'])],
  },
  { name: 'system:node', rules: NODE_RULES },
  {
    name: 'system:node-problem-detector',
    rules: [rule(['get'], [''], ['nodes']), rule(['patch'], [''], ['nodes/status']), EVENTS],
  },
  {
    name: 'system:kubelet-api-admin',
    rules: [
      rule(['get', 'list', 'watch'], [''], ['nodes']),
      rule(['proxy'], [''], ['nodes']),
      rule(['*'], [''], ['nodes/proxy', 'nodes/metrics', 'nodes/stats', 'nodes/log']),
    ],
  },
  { name: 'system:node-bootstrapper', rules: [rule(['create', 'get', 'list', 'watch'], ['certificates.k8s.io'], ['certificatesigningrequests'])] },
  {
    name: 'system:auth-delegator',
    rules: [rule(['create'], ['authentication.k8s.io'], ['tokenreviews']), rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews'])],
  },
  { name: 'system:kube-aggregator', rules: [rule(READ, [''], ['services', 'endpoints'])] },
  {
    name: 'system:kube-controller-manager',
    rules: [
      EVENTS,
      rule(['create'], ['coordination.k8s.io'], ['leases']),
      rule(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-controller-manager']),
      rule(['create'], [''], ['secrets', 'serviceaccounts']),
      rule(['delete'], [''], ['secrets']),
      rule(['get'], [''], ['namespaces', 'secrets', 'serviceaccounts', 'configmaps']),
      rule(['update'], [''], ['secrets', 'serviceaccounts']),
      rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
      rule(['list', 'watch'], ['*'], ['*']),
      rule(['create'], [''], ['serviceaccounts/token']),
    ],
  },
  { name: 'system:kube-dns', rules: [rule(['list', 'watch'], [''], ['endpoints', 'services'])] },
  {
    name: 'system:persistent-volume-provisioner',
    rules: [
      rule(['get', 'list', 'watch', 'create', 'delete'], [''], ['persistentvolumes']),
      rule(['get', 'list', 'watch', 'update'], [''], ['persistentvolumeclaims']),
      rule(READ, ['storage.k8s.io'], ['storageclasses']),
      rule(['watch'], [''], ['events']),
      EVENTS,
    ],
  },
  { name: 'system:certificates.k8s.io:certificatesigningrequests:nodeclient', rules: [rule(['create'], ['certificates.k8s.io'], ['certificatesigningrequests/nodeclient'])] },
  { name: 'system:certificates.k8s.io:certificatesigningrequests:selfnodeclient', rules: [rule(['create'], ['certificates.k8s.io'], ['certificatesigningrequests/selfnodeclient'])] },
  {
    name: 'system:volume-scheduler',
    rules: [rule(READ_UPDATE, [''], ['persistentvolumes']), rule(READ, ['storage.k8s.io'], ['storageclasses']), rule(READ_UPDATE, [''], ['persistentvolumeclaims'])],
  },
  { name: 'system:certificates.k8s.io:legacy-unknown-approver', rules: [rule(['approve'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/legacy-unknown'])] },
  { name: 'system:certificates.k8s.io:kubelet-serving-approver', rules: [rule(['approve'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/kubelet-serving'])] },
  { name: 'system:certificates.k8s.io:kube-apiserver-client-approver', rules: [rule(['approve'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/kube-apiserver-client'])] },
  {
    name: 'system:certificates.k8s.io:kube-apiserver-client-kubelet-approver',
    rules: [rule(['approve'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/kube-apiserver-client-kubelet'])],
  },
  {
    name: 'system:service-account-issuer-discovery',
    rules: [urls(['get'], ['/.well-known/openid-configuration', '/.well-known/openid-configuration/', '/openid/v1/jwks', '/openid/v1/jwks/'])],
  },
  {
    name: 'system:node-proxier',
    rules: [
      rule(['list', 'watch'], [''], ['services', 'endpoints']),
      rule(['get', 'list', 'watch'], [''], ['nodes']),
      EVENTS,
      rule(['list', 'watch'], ['networking.k8s.io'], ['servicecidrs']),
      rule(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
    ],
  },
  {
    name: 'system:kube-scheduler',
    rules: [
      EVENTS,
      rule(['create'], ['coordination.k8s.io'], ['leases']),
      rule(['get', 'update'], ['coordination.k8s.io'], ['leases'], ['kube-scheduler']),
      rule(READ, [''], ['nodes']),
      rule(['get', 'list', 'watch', 'delete'], [''], ['pods']),
      rule(['create'], [''], ['pods/binding', 'bindings']),
      rule(['patch', 'update'], [''], ['pods/status']),
      rule(READ, [''], ['services', 'replicationcontrollers']),
      rule(READ, ['apps', 'extensions'], ['replicasets']),
      rule(READ, ['apps'], ['statefulsets']),
      rule(READ, ['policy'], ['poddisruptionbudgets']),
      rule(READ, [''], ['persistentvolumeclaims', 'persistentvolumes']),
      rule(['create'], ['authentication.k8s.io'], ['tokenreviews']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
      rule(READ, ['storage.k8s.io'], ['csinodes']),
      rule(READ, [''], ['namespaces']),
      rule(READ, ['storage.k8s.io'], ['csidrivers']),
      rule(READ, ['storage.k8s.io'], ['csistoragecapacities']),
    ],
  },
  // rudder's node components, as k3s grants them: the cluster DNS each agent serves (k3s's
  // system:coredns) and the proxy/network-policy enforcer (k3s's kube-router rights).
  {
    name: 'rudder:cluster-dns',
    rules: [
      rule(['list', 'watch'], [''], ['endpoints', 'services', 'pods', 'namespaces']),
      rule(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
      rule(['get'], [''], ['nodes']),
    ],
  },
  {
    name: 'rudder:network-policy',
    rules: [
      rule(['list', 'watch'], ['networking.k8s.io'], ['networkpolicies']),
      rule(['list', 'watch'], [''], ['pods', 'namespaces']),
      rule(['list', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
    ],
  },
];

export const CLUSTER_ROLE_BINDINGS: BindingData[] = [
  { name: 'cluster-admin', roleKind: 'ClusterRole', roleName: 'cluster-admin', subjects: [group('system:masters')] },
  { name: 'system:monitoring', roleKind: 'ClusterRole', roleName: 'system:monitoring', subjects: [group('system:monitoring')] },
  { name: 'system:discovery', roleKind: 'ClusterRole', roleName: 'system:discovery', subjects: [group('system:authenticated')] },
  { name: 'system:basic-user', roleKind: 'ClusterRole', roleName: 'system:basic-user', subjects: [group('system:authenticated')] },
  {
    name: 'system:public-info-viewer',
    roleKind: 'ClusterRole',
    roleName: 'system:public-info-viewer',
    subjects: [group('system:authenticated'), group('system:unauthenticated')],
  },
  { name: 'system:node-proxier', roleKind: 'ClusterRole', roleName: 'system:node-proxier', subjects: [user('system:kube-proxy')] },
  { name: 'system:kube-controller-manager', roleKind: 'ClusterRole', roleName: 'system:kube-controller-manager', subjects: [user('system:kube-controller-manager')] },
  { name: 'system:kube-dns', roleKind: 'ClusterRole', roleName: 'system:kube-dns', subjects: [sa('kube-system', 'kube-dns')] },
  { name: 'system:kube-scheduler', roleKind: 'ClusterRole', roleName: 'system:kube-scheduler', subjects: [user('system:kube-scheduler')] },
  { name: 'system:volume-scheduler', roleKind: 'ClusterRole', roleName: 'system:volume-scheduler', subjects: [user('system:kube-scheduler')] },
  // Deprecated since the Node authorizer: kept without subjects so reconciliation can drop old ones.
  { name: 'system:node', roleKind: 'ClusterRole', roleName: 'system:node', subjects: [] },
  { name: 'system:service-account-issuer-discovery', roleKind: 'ClusterRole', roleName: 'system:service-account-issuer-discovery', subjects: [group('system:serviceaccounts')] },
  { name: 'rudder:cluster-dns', roleKind: 'ClusterRole', roleName: 'rudder:cluster-dns', subjects: [user('system:kube-dns')] },
  { name: 'rudder:network-policy', roleKind: 'ClusterRole', roleName: 'rudder:network-policy', subjects: [user('system:kube-proxy')] },
];

/** upstream's controller_policy: one role per controller, bound to its kube-system service account. */
const CONTROLLER_ROLES: { name: string; rules: PolicyRule[] }[] = [
  {
    name: 'attachdetach-controller',
    rules: [
      rule(['list', 'watch'], [''], ['persistentvolumes', 'persistentvolumeclaims']),
      rule(['get', 'list', 'watch'], [''], ['nodes']),
      rule(['patch', 'update'], [''], ['nodes/status']),
      rule(['list', 'watch'], [''], ['pods']),
      EVENTS,
      rule(['get', 'create', 'delete', 'list', 'watch'], ['storage.k8s.io'], ['volumeattachments']),
      rule(['get', 'watch', 'list'], ['storage.k8s.io'], ['csidrivers']),
      rule(['get', 'watch', 'list'], ['storage.k8s.io'], ['csinodes']),
    ],
  },
  {
    name: 'certificate-controller',
    rules: [
      rule(['get', 'list', 'watch', 'delete'], ['certificates.k8s.io'], ['certificatesigningrequests']),
      rule(['update'], ['certificates.k8s.io'], ['certificatesigningrequests/status', 'certificatesigningrequests/approval']),
      rule(['approve'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/kube-apiserver-client-kubelet']),
      rule(['sign'], ['certificates.k8s.io'], ['signers'], ['kubernetes.io/legacy-unknown', 'kubernetes.io/kube-apiserver-client', 'kubernetes.io/kube-apiserver-client-kubelet', 'kubernetes.io/kubelet-serving']),
      rule(['create'], ['authorization.k8s.io'], ['subjectaccessreviews']),
      EVENTS,
    ],
  },
  { name: 'clusterrole-aggregation-controller', rules: [rule(['escalate', 'get', 'list', 'watch', 'update', 'patch'], ['rbac.authorization.k8s.io'], ['clusterroles'])] },
  {
    name: 'cronjob-controller',
    rules: [
      rule(['get', 'list', 'watch', 'update'], ['batch'], ['cronjobs']),
      rule(['get', 'list', 'watch', 'create', 'update', 'delete', 'patch'], ['batch'], ['jobs']),
      rule(['update'], ['batch'], ['cronjobs/status']),
      rule(['update'], ['batch'], ['cronjobs/finalizers']),
      rule(['list', 'watch', 'delete'], [''], ['pods']),
      EVENTS,
    ],
  },
  {
    name: 'daemon-set-controller',
    rules: [
      rule(['get', 'list', 'watch'], ['apps', 'extensions'], ['daemonsets']),
      rule(['update'], ['apps', 'extensions'], ['daemonsets/status']),
      rule(['update'], ['apps', 'extensions'], ['daemonsets/finalizers']),
      rule(['list', 'watch'], [''], ['nodes']),
      rule(['list', 'watch', 'create', 'delete', 'patch'], [''], ['pods']),
      rule(['create'], [''], ['pods/binding']),
      rule(['get', 'list', 'watch', 'create', 'delete', 'update', 'patch'], ['apps'], ['controllerrevisions']),
      EVENTS,
    ],
  },
  {
    name: 'deployment-controller',
    rules: [
      rule(['get', 'list', 'watch', 'update'], ['apps', 'extensions'], ['deployments']),
      rule(['update'], ['apps', 'extensions'], ['deployments/status']),
      rule(['update'], ['apps', 'extensions'], ['deployments/finalizers']),
      rule(['get', 'list', 'watch', 'create', 'update', 'patch', 'delete'], ['apps', 'extensions'], ['replicasets']),
      rule(['get', 'list', 'watch', 'update'], [''], ['pods']),
      EVENTS,
    ],
  },
  {
    name: 'disruption-controller',
    rules: [
      rule(['get', 'list', 'watch'], ['apps', 'extensions'], ['deployments']),
      rule(['get', 'list', 'watch'], ['apps', 'extensions'], ['replicasets']),
      rule(['get', 'list', 'watch'], [''], ['replicationcontrollers']),
      rule(['get', 'list', 'watch'], ['policy'], ['poddisruptionbudgets']),
      rule(['get', 'list', 'watch'], ['apps'], ['statefulsets']),
      rule(['update'], ['policy'], ['poddisruptionbudgets/status']),
      rule(['patch', 'update'], [''], ['pods/status']),
      rule(['get'], ['*'], ['*/scale']),
      EVENTS,
    ],
  },
  {
    name: 'endpoint-controller',
    rules: [
      rule(['get', 'list', 'watch'], [''], ['services', 'pods']),
      rule(['get', 'list', 'create', 'update', 'delete', 'watch'], [''], ['endpoints']),
      rule(['create'], [''], ['endpoints/restricted']),
      EVENTS,
    ],
  },
  {
    name: 'endpointslice-controller',
    rules: [
      rule(['get', 'list', 'watch'], [''], ['services', 'pods', 'nodes']),
      rule(['update'], [''], ['services/finalizers']),
      rule(['get', 'list', 'create', 'update', 'delete', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
      EVENTS,
    ],
  },
  {
    name: 'endpointslicemirroring-controller',
    rules: [
      rule(['get', 'list', 'watch'], [''], ['services', 'endpoints']),
      rule(['update'], [''], ['services/finalizers']),
      rule(['update'], [''], ['endpoints/finalizers']),
      rule(['get', 'list', 'create', 'update', 'delete', 'watch'], ['discovery.k8s.io'], ['endpointslices']),
      EVENTS,
    ],
  },
  {
    name: 'ephemeral-volume-controller',
    rules: [
      rule(['get', 'list', 'watch'], [''], ['pods']),
      rule(['update'], [''], ['pods/finalizers']),
      rule(['get', 'list', 'watch', 'create'], [''], ['persistentvolumeclaims']),
      EVENTS,
    ],
  },
  {
    name: 'expand-controller',
    rules: [
      rule(['get', 'list', 'watch', 'update', 'patch'], [''], ['persistentvolumes']),
      rule(['update', 'patch'], [''], ['persistentvolumeclaims/status']),
      rule(['get', 'list', 'watch'], [''], ['persistentvolumeclaims']),
      EVENTS,
    ],
  },
  { name: 'generic-garbage-collector', rules: [rule(['get', 'list', 'watch', 'patch', 'update', 'delete'], ['*'], ['*']), EVENTS] },
  {
    name: 'horizontal-pod-autoscaler',
    rules: [
      rule(['get', 'list', 'watch'], ['autoscaling'], ['horizontalpodautoscalers']),
      rule(['update'], ['autoscaling'], ['horizontalpodautoscalers/status']),
      rule(['get', 'update'], ['*'], ['*/scale']),
      rule(['list', 'watch'], [''], ['pods']),
      rule(['list', 'watch'], ['metrics.k8s.io'], ['pods']),
      rule(['get', 'list', 'watch'], ['custom.metrics.k8s.io'], ['*']),
      rule(['get', 'list', 'watch'], ['external.metrics.k8s.io'], ['*']),
      EVENTS,
    ],
  },
  {
    name: 'job-controller',
    rules: [
      rule(['get', 'list', 'watch', 'update', 'patch'], ['batch'], ['jobs']),
      rule(['update'], ['batch'], ['jobs/status']),
      rule(['update'], ['batch'], ['jobs/finalizers']),
      rule(['list', 'watch', 'create', 'delete', 'patch'], [''], ['pods']),
      EVENTS,
    ],
  },
  {
    name: 'legacy-service-account-token-cleaner',
    rules: [
      rule(['get'], [''], ['configmaps'], ['kube-apiserver-legacy-service-account-token-tracking']),
      rule(['patch', 'delete'], [''], ['secrets']),
    ],
  },
  {
    name: 'namespace-controller',
    rules: [
      rule(['get', 'list', 'watch', 'delete'], [''], ['namespaces']),
      rule(['update'], [''], ['namespaces/finalize', 'namespaces/status']),
      rule(['get', 'list', 'delete', 'deletecollection', 'watch'], ['*'], ['*']),
    ],
  },
  {
    name: 'node-controller',
    rules: [
      rule(['get', 'list', 'update', 'delete', 'patch', 'watch'], [''], ['nodes']),
      rule(['patch', 'update'], [''], ['nodes/status']),
      rule(['patch', 'update'], [''], ['pods/status']),
      rule(['list', 'get', 'delete', 'watch'], [''], ['pods']),
      EVENTS,
    ],
  },
  {
    name: 'persistent-volume-binder',
    rules: [
      rule(['get', 'list', 'watch', 'update', 'create', 'delete'], [''], ['persistentvolumes']),
      rule(['update'], [''], ['persistentvolumes/status']),
      rule(['get', 'list', 'watch', 'update'], [''], ['persistentvolumeclaims']),
      rule(['update'], [''], ['persistentvolumeclaims/status']),
      rule(['list', 'watch', 'get', 'create', 'delete'], [''], ['pods']),
      rule(['get', 'list', 'watch'], ['storage.k8s.io'], ['storageclasses']),
      rule(['list', 'watch'], [''], ['nodes']),
      EVENTS,
      rule(['watch'], [''], ['events']),
    ],
  },
  // rudder's built-in local-path provisioner (k3s ships it as a deployment with a role of this shape)
  {
    name: 'local-path-provisioner',
    rules: [
      rule(['get', 'list', 'watch', 'create'], ['storage.k8s.io'], ['storageclasses']),
      rule(['get', 'list', 'watch', 'create', 'delete'], [''], ['persistentvolumes']),
      rule(['get', 'list', 'watch', 'update'], [''], ['persistentvolumeclaims']),
      rule(['get', 'list', 'watch'], [''], ['nodes']),
      EVENTS,
    ],
  },
  {
    name: 'pod-garbage-collector',
    rules: [rule(['list', 'watch', 'delete'], [''], ['pods']), rule(['get', 'list', 'watch'], [''], ['nodes']), rule(['patch'], [''], ['pods/status'])],
  },
  { name: 'pv-protection-controller', rules: [rule(['get', 'list', 'watch', 'update'], [''], ['persistentvolumes']), EVENTS] },
  {
    name: 'pvc-protection-controller',
    rules: [
      rule(['get', 'list', 'watch', 'update'], [''], ['persistentvolumeclaims']),
      rule(['update'], [''], ['persistentvolumeclaims/status']),
      rule(['list', 'watch', 'get'], [''], ['pods']),
      EVENTS,
    ],
  },
  {
    name: 'replicaset-controller',
    rules: [
      rule(['get', 'list', 'watch', 'update'], ['apps', 'extensions'], ['replicasets']),
      rule(['update'], ['apps', 'extensions'], ['replicasets/status']),
      rule(['update'], ['apps', 'extensions'], ['replicasets/finalizers']),
      rule(['list', 'watch', 'patch', 'create', 'delete'], [''], ['pods']),
      EVENTS,
    ],
  },
  {
    name: 'replication-controller',
    rules: [
      rule(['get', 'list', 'watch', 'update'], [''], ['replicationcontrollers']),
      rule(['update'], [''], ['replicationcontrollers/status']),
      rule(['update'], [''], ['replicationcontrollers/finalizers']),
      rule(['list', 'watch', 'patch', 'create', 'delete'], [''], ['pods']),
      EVENTS,
    ],
  },
  { name: 'resourcequota-controller', rules: [rule(['list', 'watch'], ['*'], ['*']), rule(['update'], [''], ['resourcequotas/status']), EVENTS] },
  { name: 'root-ca-cert-publisher', rules: [rule(['create', 'update'], [''], ['configmaps']), EVENTS] },
  { name: 'route-controller', rules: [rule(['list', 'watch'], [''], ['nodes']), rule(['patch'], [''], ['nodes/status']), EVENTS] },
  {
    name: 'selinux-warning-controller',
    rules: [
      EVENTS,
      rule(['get', 'list', 'watch'], [''], ['persistentvolumes']),
      rule(['get', 'list', 'watch'], [''], ['persistentvolumeclaims']),
      rule(['get', 'list', 'watch'], [''], ['pods']),
      rule(['get', 'list', 'watch'], ['storage.k8s.io'], ['csidrivers']),
    ],
  },
  { name: 'service-account-controller', rules: [rule(['create'], [''], ['serviceaccounts']), EVENTS] },
  {
    name: 'service-cidrs-controller',
    rules: [
      rule(['get', 'list', 'watch', 'patch', 'update'], ['networking.k8s.io'], ['servicecidrs']),
      rule(['patch', 'update'], ['networking.k8s.io'], ['servicecidrs/finalizers']),
      rule(['patch', 'update'], ['networking.k8s.io'], ['servicecidrs/status']),
      rule(['get', 'list', 'watch'], ['networking.k8s.io'], ['ipaddresses']),
      EVENTS,
    ],
  },
  {
    name: 'service-controller',
    rules: [
      rule(['get', 'list', 'watch'], [''], ['services']),
      rule(['patch', 'update'], [''], ['services/status']),
      rule(['list', 'watch'], [''], ['nodes']),
      EVENTS,
    ],
  },
  {
    name: 'statefulset-controller',
    rules: [
      rule(['list', 'watch'], [''], ['pods']),
      rule(['get', 'list', 'watch'], ['apps'], ['statefulsets']),
      rule(['update'], ['apps'], ['statefulsets/status']),
      rule(['update'], ['apps'], ['statefulsets/finalizers']),
      rule(['get', 'create', 'delete', 'update', 'patch'], [''], ['pods']),
      rule(['get', 'list', 'watch', 'create', 'delete', 'update', 'patch'], ['apps'], ['controllerrevisions']),
      rule(['get', 'list', 'watch', 'create'], [''], ['persistentvolumeclaims']),
      rule(['update', 'delete'], [''], ['persistentvolumeclaims']),
      rule(['update'], [''], ['pods/finalizers']),
      EVENTS,
    ],
  },
  { name: 'ttl-after-finished-controller', rules: [rule(['get', 'list', 'watch', 'delete'], ['batch'], ['jobs']), EVENTS] },
  { name: 'ttl-controller', rules: [rule(['update', 'patch', 'list', 'watch'], [''], ['nodes']), EVENTS] },
  {
    name: 'validatingadmissionpolicy-status-controller',
    rules: [
      rule(['get', 'list', 'watch'], ['admissionregistration.k8s.io'], ['validatingadmissionpolicies']),
      rule(['get', 'patch', 'update'], ['admissionregistration.k8s.io'], ['validatingadmissionpolicies/status']),
      EVENTS,
    ],
  },
  {
    name: 'volumeattributesclass-protection-controller',
    rules: [
      rule(['get', 'list', 'watch'], [''], ['persistentvolumeclaims']),
      rule(['get', 'list', 'watch'], [''], ['persistentvolumes']),
      rule(['get', 'list', 'watch', 'update'], ['storage.k8s.io'], ['volumeattributesclasses']),
      EVENTS,
    ],
  },
];

export const CONTROLLER_ROLE_PREFIX = 'system:controller:';

/** The service account a controller runs as (with --use-service-account-credentials). */
export function controllerServiceAccount(controller: string): { namespace: string; name: string } {
  return { namespace: 'kube-system', name: controller };
}

export const CONTROLLER_CLUSTER_ROLES: ClusterRoleData[] = CONTROLLER_ROLES.map((c) => ({ name: CONTROLLER_ROLE_PREFIX + c.name, rules: c.rules }));

export const CONTROLLER_CLUSTER_ROLE_BINDINGS: BindingData[] = CONTROLLER_ROLES.map((c) => ({
  name: CONTROLLER_ROLE_PREFIX + c.name,
  roleKind: 'ClusterRole',
  roleName: CONTROLLER_ROLE_PREFIX + c.name,
  subjects: [sa('kube-system', c.name)],
}));

export const NAMESPACE_ROLES: RoleData[] = [
  {
    namespace: 'kube-system',
    name: 'extension-apiserver-authentication-reader',
    rules: [rule(['get', 'list', 'watch'], [''], ['configmaps'], ['extension-apiserver-authentication'])],
  },
  {
    namespace: 'kube-system',
    name: 'system::leader-locking-kube-controller-manager',
    rules: [
      rule(['watch', 'get', 'list', 'create', 'update'], ['coordination.k8s.io'], ['leases']),
      rule(['watch', 'get', 'list', 'create', 'update'], ['coordination.k8s.io'], ['leasecandidates']),
    ],
  },
  {
    namespace: 'kube-system',
    name: 'system::leader-locking-kube-scheduler',
    rules: [
      rule(['watch', 'get', 'list', 'create', 'update'], ['coordination.k8s.io'], ['leases']),
      rule(['watch', 'get', 'list', 'create', 'update'], ['coordination.k8s.io'], ['leasecandidates']),
    ],
  },
  { namespace: 'kube-system', name: 'system:controller:bootstrap-signer', rules: [rule(['get', 'list', 'watch'], [''], ['secrets'])] },
  { namespace: 'kube-system', name: 'system:controller:cloud-provider', rules: [rule(['create', 'get', 'list', 'watch'], [''], ['configmaps'])] },
  { namespace: 'kube-system', name: 'system:controller:token-cleaner', rules: [rule(['delete', 'get', 'list', 'watch'], [''], ['secrets']), EVENTS] },
  {
    namespace: 'kube-public',
    name: 'system:controller:bootstrap-signer',
    rules: [rule(['get', 'list', 'watch'], [''], ['configmaps']), rule(['update'], [''], ['configmaps'], ['cluster-info']), EVENTS],
  },
  // the cluster DNS publishes the kube-dns Service and one EndpointSlice per serving node
  {
    namespace: 'kube-system',
    name: 'rudder:cluster-dns-publisher',
    rules: [
      rule(['create'], [''], ['services']),
      rule(['get', 'update'], [''], ['services'], ['kube-dns']),
      rule(['get', 'create', 'update', 'delete'], ['discovery.k8s.io'], ['endpointslices']),
    ],
  },
];

export const NAMESPACE_ROLE_BINDINGS: BindingData[] = [
  {
    namespace: 'kube-system',
    name: 'system::extension-apiserver-authentication-reader',
    roleKind: 'Role',
    roleName: 'extension-apiserver-authentication-reader',
    subjects: [user('system:kube-controller-manager'), user('system:kube-scheduler')],
  },
  {
    namespace: 'kube-system',
    name: 'system::leader-locking-kube-controller-manager',
    roleKind: 'Role',
    roleName: 'system::leader-locking-kube-controller-manager',
    subjects: [user('system:kube-controller-manager'), sa('kube-system', 'kube-controller-manager'), sa('kube-system', 'leader-election-controller')],
  },
  {
    namespace: 'kube-system',
    name: 'system::leader-locking-kube-scheduler',
    roleKind: 'Role',
    roleName: 'system::leader-locking-kube-scheduler',
    subjects: [user('system:kube-scheduler'), sa('kube-system', 'kube-scheduler')],
  },
  { namespace: 'kube-system', name: 'system:controller:bootstrap-signer', roleKind: 'Role', roleName: 'system:controller:bootstrap-signer', subjects: [sa('kube-system', 'bootstrap-signer')] },
  { namespace: 'kube-system', name: 'system:controller:cloud-provider', roleKind: 'Role', roleName: 'system:controller:cloud-provider', subjects: [sa('kube-system', 'cloud-provider')] },
  { namespace: 'kube-system', name: 'system:controller:token-cleaner', roleKind: 'Role', roleName: 'system:controller:token-cleaner', subjects: [sa('kube-system', 'token-cleaner')] },
  { namespace: 'kube-public', name: 'system:controller:bootstrap-signer', roleKind: 'Role', roleName: 'system:controller:bootstrap-signer', subjects: [sa('kube-system', 'bootstrap-signer')] },
  { namespace: 'kube-system', name: 'rudder:cluster-dns-publisher', roleKind: 'Role', roleName: 'rudder:cluster-dns-publisher', subjects: [user('system:kube-dns')] },
];
