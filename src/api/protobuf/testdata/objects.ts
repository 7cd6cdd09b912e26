// Realistic API objects in the exact form Go's JSON encoding gives them (what an upstream API
// server returns): non-pointer structs present even when empty, zero times as null, and so on.
// Used by the protobuf codec tests.

const T1 = '2025-01-02T03:04:05Z';
const T2 = '2025-01-02T03:05:00Z';

export const podSpec = {
  volumes: [
    { name: 'config', configMap: { name: 'web-config', items: [{ key: 'a', path: 'a.txt', mode: 0o644 }], defaultMode: 420 } },
    { name: 'cache', emptyDir: { medium: 'Memory', sizeLimit: '64Mi' } },
    { name: 'tls', secret: { secretName: 'tls', defaultMode: 256, optional: false } },
    { name: 'data', persistentVolumeClaim: { claimName: 'data' } },
    {
      name: 'podinfo',
      downwardAPI: { items: [{ path: 'labels', fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.labels' } }], defaultMode: 420 },
    },
  ],
  initContainers: [
    {
      name: 'init',
      image: 'busybox:1.36',
      command: ['sh', '-c', 'echo ready'],
      resources: {},
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      imagePullPolicy: 'IfNotPresent',
      restartPolicy: 'Always',
    },
  ],
  containers: [
    {
      name: 'web',
      image: 'nginx:1.27',
      command: ['nginx'],
      args: ['-g', 'daemon off;'],
      ports: [
        { name: 'http', containerPort: 80, protocol: 'TCP' },
        { hostPort: 8443, containerPort: 443, protocol: 'TCP', hostIP: '0.0.0.0' },
      ],
      env: [
        { name: 'MODE', value: 'prod' },
        { name: 'POD_NAME', valueFrom: { fieldRef: { apiVersion: 'v1', fieldPath: 'metadata.name' } } },
        { name: 'PASS', valueFrom: { secretKeyRef: { name: 'db', key: 'password', optional: true } } },
        { name: 'CPU', valueFrom: { resourceFieldRef: { containerName: 'web', resource: 'limits.cpu', divisor: '1m' } } },
      ],
      resources: { limits: { cpu: '500m', memory: '128Mi' }, requests: { cpu: '250m', memory: '64Mi' } },
      volumeMounts: [
        { name: 'config', readOnly: true, mountPath: '/etc/web' },
        { name: 'cache', mountPath: '/cache', subPath: 'web' },
      ],
      livenessProbe: {
        httpGet: { path: '/healthz', port: 'http', scheme: 'HTTP', httpHeaders: [{ name: 'X-Probe', value: '1' }] },
        initialDelaySeconds: 10,
        timeoutSeconds: 1,
        periodSeconds: 10,
        successThreshold: 1,
        failureThreshold: 3,
      },
      readinessProbe: { tcpSocket: { port: 80 }, timeoutSeconds: 1, periodSeconds: 5, successThreshold: 1, failureThreshold: 3 },
      startupProbe: {
        exec: { command: ['cat', '/tmp/ready'] },
        timeoutSeconds: 1,
        periodSeconds: 10,
        successThreshold: 1,
        failureThreshold: 30,
        terminationGracePeriodSeconds: 5,
      },
      lifecycle: { preStop: { exec: { command: ['sleep', '5'] } }, postStart: { sleep: { seconds: 1 } } },
      terminationMessagePath: '/dev/termination-log',
      terminationMessagePolicy: 'File',
      imagePullPolicy: 'IfNotPresent',
      securityContext: {
        capabilities: { drop: ['ALL'] },
        runAsUser: 1000,
        runAsNonRoot: true,
        readOnlyRootFilesystem: true,
        allowPrivilegeEscalation: false,
      },
      stdin: true,
      tty: true,
    },
  ],
  restartPolicy: 'Always',
  terminationGracePeriodSeconds: 30,
  activeDeadlineSeconds: 3600,
  dnsPolicy: 'ClusterFirst',
  nodeSelector: { 'kubernetes.io/os': 'linux' },
  serviceAccountName: 'web',
  serviceAccount: 'web',
  securityContext: { runAsGroup: 3000, supplementalGroups: [3000, 4000], fsGroup: 2000, seccompProfile: { type: 'RuntimeDefault' } },
  imagePullSecrets: [{ name: 'registry' }],
  affinity: {
    podAntiAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        {
          weight: 100,
          podAffinityTerm: {
            labelSelector: { matchExpressions: [{ key: 'app', operator: 'In', values: ['web'] }] },
            topologyKey: 'kubernetes.io/hostname',
          },
        },
      ],
    },
  },
  schedulerName: 'default-scheduler',
  tolerations: [
    { key: 'node.kubernetes.io/not-ready', operator: 'Exists', effect: 'NoExecute', tolerationSeconds: 300 },
    { key: 'dedicated', operator: 'Equal', value: 'web', effect: 'NoSchedule' },
  ],
  hostAliases: [{ ip: '10.0.0.1', hostnames: ['db.local'] }],
  priority: 0,
  enableServiceLinks: true,
  preemptionPolicy: 'PreemptLowerPriority',
  topologySpreadConstraints: [
    { maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'ScheduleAnyway', labelSelector: { matchLabels: { app: 'web' } } },
  ],
};

const managedFields = [
  {
    manager: 'kubectl-create',
    operation: 'Update',
    apiVersion: 'apps/v1',
    time: T1,
    fieldsType: 'FieldsV1',
    fieldsV1: { 'f:metadata': { 'f:labels': { '.': {}, 'f:app': {} } }, 'f:spec': { 'f:replicas': {} } },
  },
  { manager: 'kube-controller-manager', operation: 'Update', apiVersion: 'apps/v1', time: T2, fieldsType: 'FieldsV1', fieldsV1: { 'f:status': {} }, subresource: 'status' },
];

export const deployment = {
  kind: 'Deployment',
  apiVersion: 'apps/v1',
  metadata: {
    name: 'web',
    namespace: 'default',
    uid: '6f1b9a1e-8d1c-4f62-9a43-0c1d2e3f4a5b',
    resourceVersion: '12345',
    generation: 3,
    creationTimestamp: T1,
    labels: { app: 'web' },
    annotations: { 'deployment.kubernetes.io/revision': '2' },
    managedFields,
  },
  spec: {
    replicas: 3,
    selector: { matchLabels: { app: 'web' } },
    template: { metadata: { creationTimestamp: null, labels: { app: 'web' } }, spec: podSpec },
    strategy: { type: 'RollingUpdate', rollingUpdate: { maxUnavailable: '25%', maxSurge: 1 } },
    minReadySeconds: 5,
    revisionHistoryLimit: 10,
    progressDeadlineSeconds: 600,
  },
  status: {
    observedGeneration: 3,
    replicas: 3,
    updatedReplicas: 3,
    readyReplicas: 3,
    availableReplicas: 3,
    conditions: [
      { type: 'Available', status: 'True', lastUpdateTime: T2, lastTransitionTime: T2, reason: 'MinimumReplicasAvailable', message: 'Deployment has minimum availability.' },
      { type: 'Progressing', status: 'True', lastUpdateTime: T2, lastTransitionTime: T1, reason: 'NewReplicaSetAvailable', message: 'ReplicaSet "web-5d8f" has successfully progressed.' },
    ],
  },
};

export const pod = {
  kind: 'Pod',
  apiVersion: 'v1',
  metadata: {
    name: 'web-5d8f-abcde',
    generateName: 'web-5d8f-',
    namespace: 'default',
    uid: '0a1b2c3d-0000-4000-8000-000000000001',
    resourceVersion: '12400',
    creationTimestamp: T1,
    deletionTimestamp: T2,
    deletionGracePeriodSeconds: 30,
    labels: { app: 'web', 'pod-template-hash': '5d8f' },
    ownerReferences: [
      { apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'web-5d8f', uid: '0a1b2c3d-0000-4000-8000-000000000002', controller: true, blockOwnerDeletion: true },
    ],
    finalizers: ['example.com/keep'],
  },
  spec: { ...podSpec, nodeName: 'node-1' },
  status: {
    phase: 'Running',
    conditions: [
      { type: 'PodScheduled', status: 'True', lastProbeTime: null, lastTransitionTime: T1 },
      { type: 'Ready', status: 'False', lastProbeTime: null, lastTransitionTime: T2, reason: 'ContainersNotReady', message: 'containers with unready status: [web]' },
    ],
    hostIP: '192.168.1.10',
    hostIPs: [{ ip: '192.168.1.10' }],
    podIP: '10.244.1.7',
    podIPs: [{ ip: '10.244.1.7' }, { ip: 'fd00::7' }],
    startTime: T1,
    initContainerStatuses: [
      {
        name: 'init',
        state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: T1, finishedAt: T1, containerID: 'containerd://aaa' } },
        lastState: {},
        ready: true,
        restartCount: 0,
        image: 'docker.io/library/busybox:1.36',
        imageID: 'docker.io/library/busybox@sha256:0123',
        containerID: 'containerd://aaa',
        started: false,
      },
    ],
    containerStatuses: [
      {
        name: 'web',
        state: { running: { startedAt: T2 } },
        lastState: { terminated: { exitCode: 137, signal: 9, reason: 'OOMKilled', startedAt: T1, finishedAt: T2, containerID: 'containerd://bbb' } },
        ready: false,
        restartCount: 2,
        image: 'docker.io/library/nginx:1.27',
        imageID: 'docker.io/library/nginx@sha256:4567',
        containerID: 'containerd://ccc',
        started: true,
        allocatedResources: { cpu: '250m', memory: '64Mi' },
        volumeMounts: [{ name: 'config', mountPath: '/etc/web', readOnly: true, recursiveReadOnly: 'Disabled' }],
      },
    ],
    qosClass: 'Burstable',
  },
};

export const configMap = {
  kind: 'ConfigMap',
  apiVersion: 'v1',
  metadata: { name: 'web-config', namespace: 'default', uid: 'c0000000-0000-4000-8000-000000000001', resourceVersion: '7', creationTimestamp: T1 },
  data: { 'a.txt': 'hello\n', 'b.json': '{"x":1}', empty: '' },
  binaryData: { 'logo.png': 'iVBORw0KGgo=', zero: '' },
  immutable: true,
};

export const secret = {
  kind: 'Secret',
  apiVersion: 'v1',
  metadata: { name: 'db', namespace: 'default', creationTimestamp: T1, annotations: { note: 'ünïcödé ✓ 🚀' } },
  data: { password: Buffer.from('s3cr3t\u0000\u00ff').toString('base64'), 'tls.key': Buffer.from([0, 1, 2, 250, 251, 255]).toString('base64') },
  type: 'Opaque',
};

export const service = {
  kind: 'Service',
  apiVersion: 'v1',
  metadata: { name: 'web', namespace: 'default', creationTimestamp: T1, labels: { app: 'web' } },
  spec: {
    ports: [
      { name: 'http', protocol: 'TCP', port: 80, targetPort: 'http', nodePort: 30080 },
      { name: 'metrics', protocol: 'TCP', port: 9090, targetPort: 9090, appProtocol: 'http' },
    ],
    selector: { app: 'web' },
    clusterIP: '10.96.0.10',
    clusterIPs: ['10.96.0.10'],
    type: 'LoadBalancer',
    sessionAffinity: 'ClientIP',
    sessionAffinityConfig: { clientIP: { timeoutSeconds: 10800 } },
    externalTrafficPolicy: 'Local',
    healthCheckNodePort: 31000,
    ipFamilies: ['IPv4'],
    ipFamilyPolicy: 'SingleStack',
    allocateLoadBalancerNodePorts: true,
    internalTrafficPolicy: 'Cluster',
  },
  status: {
    loadBalancer: { ingress: [{ ip: '203.0.113.5', ipMode: 'VIP', ports: [{ port: 80, protocol: 'TCP' }] }] },
    conditions: [{ type: 'Ready', status: 'True', observedGeneration: 1, lastTransitionTime: T1, reason: 'Ok', message: '' }],
  },
};

export const node = {
  kind: 'Node',
  apiVersion: 'v1',
  metadata: { name: 'node-1', uid: 'n0000000-0000-4000-8000-000000000001', resourceVersion: '99', creationTimestamp: T1, labels: { 'kubernetes.io/hostname': 'node-1' } },
  spec: {
    podCIDR: '10.244.1.0/24',
    podCIDRs: ['10.244.1.0/24'],
    taints: [{ key: 'node-role.kubernetes.io/control-plane', effect: 'NoSchedule' }, { key: 'node.kubernetes.io/unreachable', effect: 'NoExecute', timeAdded: T2 }],
  },
  status: {
    capacity: { cpu: '4', memory: '16389072Ki', pods: '110', 'ephemeral-storage': '102687672Ki', 'hugepages-2Mi': '0' },
    allocatable: { cpu: '3800m', memory: '15Gi', pods: '110' },
    conditions: [
      { type: 'Ready', status: 'True', lastHeartbeatTime: T2, lastTransitionTime: T1, reason: 'KubeletReady', message: 'kubelet is posting ready status' },
      { type: 'MemoryPressure', status: 'False', lastHeartbeatTime: T2, lastTransitionTime: T1, reason: 'KubeletHasSufficientMemory', message: 'kubelet has sufficient memory available' },
    ],
    addresses: [
      { type: 'InternalIP', address: '192.168.1.10' },
      { type: 'Hostname', address: 'node-1' },
    ],
    daemonEndpoints: { kubeletEndpoint: { Port: 10250 } },
    nodeInfo: {
      machineID: 'm',
      systemUUID: 'u',
      bootID: 'b',
      kernelVersion: '6.1.0',
      osImage: 'Debian GNU/Linux 12 (bookworm)',
      containerRuntimeVersion: 'containerd://1.7.0',
      kubeletVersion: 'v1.33.0',
      kubeProxyVersion: '',
      operatingSystem: 'linux',
      architecture: 'amd64',
      swap: { capacity: 0 },
    },
    images: [{ names: ['docker.io/library/nginx@sha256:4567', 'docker.io/library/nginx:1.27'], sizeBytes: 72983247 }],
    volumesInUse: ['kubernetes.io/csi/x'],
    runtimeHandlers: [{ name: 'runc', features: { recursiveReadOnlyMounts: true, userNamespaces: false } }],
    features: { supplementalGroupsPolicy: true },
  },
};

export const event = {
  kind: 'Event',
  apiVersion: 'v1',
  metadata: { name: 'web.17a', namespace: 'default', creationTimestamp: T1 },
  involvedObject: { kind: 'Pod', namespace: 'default', name: 'web', uid: 'u1', apiVersion: 'v1', resourceVersion: '5', fieldPath: 'spec.containers{web}' },
  reason: 'Pulled',
  message: 'Container image "nginx:1.27" already present on machine',
  source: { component: 'kubelet', host: 'node-1' },
  firstTimestamp: null,
  lastTimestamp: null,
  count: 3,
  type: 'Normal',
  eventTime: '2025-01-02T03:04:05.123456Z',
  series: { count: 3, lastObservedTime: '2025-01-02T03:05:00.000001Z' },
  action: 'Pulling',
  reportingComponent: 'kubelet',
  reportingInstance: 'node-1',
};

export const eventsV1Event = {
  kind: 'Event',
  apiVersion: 'events.k8s.io/v1',
  metadata: { name: 'web.17b', namespace: 'default', creationTimestamp: T1 },
  eventTime: '2025-01-02T03:04:05.000000Z',
  reportingController: 'kubelet',
  reportingInstance: 'node-1',
  action: 'Started',
  reason: 'Started',
  regarding: { kind: 'Pod', namespace: 'default', name: 'web' },
  note: 'Started container web',
  type: 'Normal',
  deprecatedSource: {},
  deprecatedFirstTimestamp: null,
  deprecatedLastTimestamp: null,
};

export const lease = {
  kind: 'Lease',
  apiVersion: 'coordination.k8s.io/v1',
  metadata: { name: 'node-1', namespace: 'kube-node-lease', creationTimestamp: T1, ownerReferences: [{ apiVersion: 'v1', kind: 'Node', name: 'node-1', uid: 'n1' }] },
  spec: {
    holderIdentity: 'node-1',
    leaseDurationSeconds: 40,
    acquireTime: '2025-01-02T03:04:05.000000Z',
    renewTime: '2025-01-02T03:04:45.654321Z',
    leaseTransitions: 0,
  },
};

export const selfSubjectAccessReview = {
  kind: 'SelfSubjectAccessReview',
  apiVersion: 'authorization.k8s.io/v1',
  metadata: { creationTimestamp: null },
  spec: { resourceAttributes: { namespace: 'default', verb: 'create', group: 'apps', resource: 'deployments', subresource: 'scale' } },
  status: { allowed: true, reason: 'RBAC: allowed by ClusterRoleBinding "admin"' },
};

export const deleteOptions = {
  kind: 'DeleteOptions',
  apiVersion: 'v1',
  gracePeriodSeconds: 0,
  preconditions: { uid: 'u1', resourceVersion: '42' },
  propagationPolicy: 'Foreground',
  dryRun: ['All'],
};

export const status = {
  kind: 'Status',
  apiVersion: 'v1',
  metadata: {},
  status: 'Failure',
  message: 'deployments.apps "web" already exists',
  reason: 'AlreadyExists',
  details: { name: 'web', group: 'apps', kind: 'deployments', causes: [{ reason: 'FieldValueInvalid', message: 'bad', field: 'spec.replicas' }] },
  code: 409,
};

export const configMapList = {
  kind: 'ConfigMapList',
  apiVersion: 'v1',
  metadata: { resourceVersion: '100', continue: 'eyJydiI6MTAwfQ', remainingItemCount: 2 },
  items: [
    { metadata: { name: 'a', namespace: 'default', creationTimestamp: T1 }, data: { k: 'v' } },
    { metadata: { name: 'b', namespace: 'default', creationTimestamp: T2 }, immutable: false },
  ],
};

export const podList = {
  kind: 'PodList',
  apiVersion: 'v1',
  metadata: { resourceVersion: '12400' },
  items: [{ metadata: pod.metadata, spec: pod.spec, status: pod.status }],
};

export const emptyList = { kind: 'NamespaceList', apiVersion: 'v1', metadata: { resourceVersion: '1' }, items: null };

const smallTemplate = {
  metadata: { creationTimestamp: null, labels: { job: 'backup' } },
  spec: {
    containers: [{ name: 'backup', image: 'busybox:1.36', command: ['sh', '-c', 'date'], resources: {}, terminationMessagePath: '/dev/termination-log', terminationMessagePolicy: 'File', imagePullPolicy: 'IfNotPresent' }],
    restartPolicy: 'OnFailure',
  },
};

export const job = {
  kind: 'Job',
  apiVersion: 'batch/v1',
  metadata: { name: 'backup-29000000', namespace: 'default', creationTimestamp: T1, labels: { job: 'backup' } },
  spec: {
    parallelism: 1,
    completions: 1,
    backoffLimit: 6,
    selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'j1' } },
    manualSelector: false,
    template: smallTemplate,
    completionMode: 'NonIndexed',
    suspend: false,
    podReplacementPolicy: 'TerminatingOrFailed',
    podFailurePolicy: { rules: [{ action: 'FailJob', onExitCodes: { containerName: 'backup', operator: 'In', values: [42] } }, { action: 'Ignore', onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }] }] },
  },
  status: {
    conditions: [{ type: 'Complete', status: 'True', lastProbeTime: T2, lastTransitionTime: T2 }],
    startTime: T1,
    completionTime: T2,
    succeeded: 1,
    uncountedTerminatedPods: {},
    ready: 0,
    terminating: 0,
  },
};

export const cronJob = {
  kind: 'CronJob',
  apiVersion: 'batch/v1',
  metadata: { name: 'backup', namespace: 'default', creationTimestamp: T1 },
  spec: {
    schedule: '*/5 * * * *',
    timeZone: 'Etc/UTC',
    concurrencyPolicy: 'Forbid',
    suspend: false,
    jobTemplate: { metadata: { creationTimestamp: null }, spec: { template: smallTemplate } },
    successfulJobsHistoryLimit: 3,
    failedJobsHistoryLimit: 1,
  },
  status: { active: [{ kind: 'Job', namespace: 'default', name: 'backup-29000000', uid: 'j1', apiVersion: 'batch/v1', resourceVersion: '9' }], lastScheduleTime: T2 },
};

export const ingress = {
  kind: 'Ingress',
  apiVersion: 'networking.k8s.io/v1',
  metadata: { name: 'web', namespace: 'default', creationTimestamp: T1 },
  spec: {
    ingressClassName: 'nginx',
    defaultBackend: { service: { name: 'fallback', port: { number: 80 } } },
    tls: [{ hosts: ['foo.example.com'], secretName: 'foo-tls' }],
    rules: [
      {
        host: 'foo.example.com',
        http: {
          paths: [
            { path: '/', pathType: 'Prefix', backend: { service: { name: 'web', port: { name: 'http' } } } },
            { path: '/static', pathType: 'ImplementationSpecific', backend: { resource: { apiGroup: 'storage.example.com', kind: 'Bucket', name: 'static' } } },
          ],
        },
      },
      { host: 'empty.example.com' },
    ],
  },
  status: { loadBalancer: { ingress: [{ ip: '203.0.113.9', ports: [{ port: 443, protocol: 'TCP', error: 'pending' }] }] } },
};

export const podDisruptionBudget = {
  kind: 'PodDisruptionBudget',
  apiVersion: 'policy/v1',
  metadata: { name: 'web', namespace: 'default', generation: 2, creationTimestamp: T1 },
  spec: { minAvailable: '50%', selector: { matchLabels: { app: 'web' } }, unhealthyPodEvictionPolicy: 'AlwaysAllow' },
  status: {
    observedGeneration: 2,
    disruptedPods: { 'web-1': T2 },
    disruptionsAllowed: 1,
    currentHealthy: 3,
    desiredHealthy: 2,
    expectedPods: 3,
    conditions: [{ type: 'DisruptionAllowed', status: 'True', observedGeneration: 2, lastTransitionTime: T1, reason: 'SufficientPods', message: '' }],
  },
};

export const resourceQuota = {
  kind: 'ResourceQuota',
  apiVersion: 'v1',
  metadata: { name: 'compute', namespace: 'default', creationTimestamp: T1 },
  spec: {
    hard: { pods: '10', 'requests.cpu': '4', 'limits.memory': '8Gi' },
    scopeSelector: { matchExpressions: [{ scopeName: 'PriorityClass', operator: 'In', values: ['high'] }] },
  },
  status: { hard: { pods: '10', 'requests.cpu': '4', 'limits.memory': '8Gi' }, used: { pods: '3', 'requests.cpu': '1500m', 'limits.memory': '1536Mi' } },
};

export const roleBinding = {
  kind: 'RoleBinding',
  apiVersion: 'rbac.authorization.k8s.io/v1',
  metadata: { name: 'read-pods', namespace: 'default', creationTimestamp: T1 },
  subjects: [
    { kind: 'User', apiGroup: 'rbac.authorization.k8s.io', name: 'jane' },
    { kind: 'ServiceAccount', name: 'builder', namespace: 'ci' },
  ],
  roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'Role', name: 'pod-reader' },
};

export const priorityClass = {
  kind: 'PriorityClass',
  apiVersion: 'scheduling.k8s.io/v1',
  metadata: { name: 'high', creationTimestamp: T1 },
  value: 1000000,
  globalDefault: true,
  description: 'for important pods',
  preemptionPolicy: 'Never',
};

export const tokenRequest = {
  kind: 'TokenRequest',
  apiVersion: 'authentication.k8s.io/v1',
  metadata: { name: 'builder', namespace: 'default', creationTimestamp: null },
  spec: { audiences: ['https://kubernetes.default.svc'], expirationSeconds: 3600, boundObjectRef: { kind: 'Pod', apiVersion: 'v1', name: 'web', uid: 'p1' } },
  status: { token: 'eyJhbGciOiJSUzI1NiJ9.e30.sig', expirationTimestamp: T2 },
};
