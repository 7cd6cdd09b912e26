// The create path of updateManagedFields is specialized (no live object, no managers yet); these
// tests hold it to the general path's exact output over a corpus of objects that exercise list
// keys (name, port+protocol, containerPort+protocol, sets), odd map keys, undeclared fields,
// duplicates, items without keys, reset fields and subresources.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { updateManagedFields, updateManagedFieldsGeneral, type UpdateManagedFieldsOptions } from './managedfields.ts';
import { typeForGVK, type GroupVersionKind } from './schema.ts';
import type { JsonObject } from './json.ts';

const NOW = new Date('2025-03-01T08:09:10Z');

function pod(containers: number, extra: JsonObject = {}): JsonObject {
  const cs: JsonObject[] = Array.from({ length: containers }, (_, i): JsonObject => ({
    name: `c${i}`,
    image: `registry.example/app:${i}`,
    args: ['--port=8080', `--id=${i}`],
    ports: [
      { name: 'http', containerPort: 8080 + i, protocol: 'TCP' },
      { containerPort: 53, protocol: 'UDP' },
      { containerPort: 53 },
    ],
    env: [
      { name: 'A', value: 'x' },
      { name: 'POD', valueFrom: { fieldRef: { fieldPath: 'metadata.name' } } },
    ],
    resources: i % 2 ? { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '1' } } : {},
    readinessProbe: { httpGet: { path: '/healthz', port: 8080 }, periodSeconds: 5 },
    volumeMounts: [{ name: 'config', mountPath: '/etc/x', readOnly: true }],
    securityContext: { capabilities: { add: ['NET_ADMIN'], drop: ['ALL'] } },
  }));
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: 'p',
      namespace: 'default',
      uid: '0b7c3d1e-0000-4000-8000-000000000001',
      creationTimestamp: '2025-03-01T08:09:10Z',
      labels: { app: 'web', 'x.example/<&>': 'v' },
      annotations: { 'a"quote': 'q', 'ünïcode/ключ': '\u2028' },
      ownerReferences: [{ apiVersion: 'apps/v1', kind: 'ReplicaSet', name: 'rs', uid: 'u1', controller: true }],
      finalizers: ['example.com/f'],
    },
    spec: {
      containers: cs,
      initContainers: [{ name: 'init', image: 'busybox', command: ['true'] }],
      volumes: [
        { name: 'config', configMap: { name: 'cfg', items: [{ key: 'k', path: 'p' }] } },
        { name: 'tok', projected: { sources: [{ serviceAccountToken: { path: 'token', expirationSeconds: 3607 } }] } },
      ],
      tolerations: [{ key: 'k', operator: 'Exists', effect: 'NoSchedule' }],
      nodeSelector: { 'kubernetes.io/os': 'linux' },
      restartPolicy: 'Always',
      terminationGracePeriodSeconds: 30,
      dnsPolicy: 'ClusterFirst',
      schedulerName: 'default-scheduler',
      enableServiceLinks: true,
      priority: 0,
    },
    status: { phase: 'Pending', qosClass: 'BestEffort' },
    ...extra,
  };
}

const corpus: { name: string; gvk: GroupVersionKind; obj: JsonObject; resetFields?: string[][]; subresource?: string }[] = [
  { name: 'pod with one container', gvk: { group: '', version: 'v1', kind: 'Pod' }, obj: pod(1), resetFields: [['status']] },
  { name: 'pod with twelve containers', gvk: { group: '', version: 'v1', kind: 'Pod' }, obj: pod(12), resetFields: [['status']] },
  { name: 'pod without reset fields keeps status', gvk: { group: '', version: 'v1', kind: 'Pod' }, obj: pod(2) },
  {
    name: 'pod with duplicate container names and a port without keys',
    gvk: { group: '', version: 'v1', kind: 'Pod' },
    obj: {
      apiVersion: 'v1',
      kind: 'Pod',
      metadata: { name: 'dup' },
      spec: {
        containers: [
          { name: 'a', image: 'x', ports: [{ name: 'p' }, { containerPort: 1, protocol: 'TCP' }, { containerPort: 1 }] },
          { name: 'a', image: 'y' },
          { image: 'no-name' },
        ],
      },
    },
  },
  {
    name: 'service with ports keyed by port and protocol',
    gvk: { group: '', version: 'v1', kind: 'Service' },
    obj: {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name: 'svc', namespace: 'default' },
      spec: {
        type: 'NodePort',
        selector: { app: 'web' },
        ports: [
          { name: 'dns', port: 53, protocol: 'UDP', targetPort: 53 },
          { name: 'dns-tcp', port: 53, protocol: 'TCP', targetPort: 'dns' },
          { name: 'http', port: 80, nodePort: 30080 },
        ],
        clusterIP: '10.0.0.10',
        clusterIPs: ['10.0.0.10'],
        ipFamilies: ['IPv4'],
        sessionAffinity: 'None',
      },
      status: { loadBalancer: {} },
    },
    resetFields: [['status']],
  },
  {
    name: 'deployment with a pod template',
    gvk: { group: 'apps', version: 'v1', kind: 'Deployment' },
    obj: {
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name: 'web', namespace: 'default', labels: { app: 'web' }, generation: 1 },
      spec: {
        replicas: 3,
        selector: { matchLabels: { app: 'web' }, matchExpressions: [{ key: 'tier', operator: 'In', values: ['a', 'b'] }] },
        strategy: { type: 'RollingUpdate', rollingUpdate: { maxSurge: '25%', maxUnavailable: 1 } },
        template: { metadata: { labels: { app: 'web' } }, spec: pod(3).spec },
        revisionHistoryLimit: 10,
        progressDeadlineSeconds: 600,
      },
    },
    resetFields: [['status']],
  },
  {
    name: 'configmap with odd keys and binary data',
    gvk: { group: '', version: 'v1', kind: 'ConfigMap' },
    obj: {
      apiVersion: 'v1',
      kind: 'ConfigMap',
      metadata: { name: 'cfg', annotations: {} },
      data: { 'a.b': '1', '<script>': '&', '': 'empty key', 'k"q': 'v', 'emoji-😀': 'x', '\u2029sep': 'y' },
      binaryData: { 'bin.dat': 'AAEC' },
      immutable: false,
    },
  },
  {
    name: 'endpoints with many addresses',
    gvk: { group: '', version: 'v1', kind: 'Endpoints' },
    obj: {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name: 'big' },
      subsets: [
        {
          addresses: Array.from({ length: 50 }, (_, i) => ({ ip: `10.0.0.${i}`, targetRef: { kind: 'Pod', name: `p${i}`, uid: 'x' } })),
          ports: [{ port: 80 }, { name: 'https', port: 443, protocol: 'TCP' }],
        },
      ],
    },
  },
  {
    name: 'node status written through the status subresource',
    gvk: { group: '', version: 'v1', kind: 'Node' },
    obj: {
      apiVersion: 'v1',
      kind: 'Node',
      metadata: { name: 'n1', labels: { 'kubernetes.io/hostname': 'n1' } },
      spec: { podCIDR: '10.42.0.0/24', taints: [{ key: 'k', effect: 'NoSchedule' }] },
      status: {
        capacity: { cpu: '2', memory: '4Gi' },
        conditions: [{ type: 'Ready', status: 'True', lastHeartbeatTime: '2025-03-01T08:00:00Z' }],
        addresses: [{ type: 'InternalIP', address: '10.0.0.1' }, { type: 'Hostname', address: 'n1' }],
        images: [{ names: ['a', 'b'], sizeBytes: 1 }],
      },
    },
    resetFields: [['spec'], ['metadata']],
    subresource: 'status',
  },
  {
    name: 'object with undeclared fields and nulls',
    gvk: { group: '', version: 'v1', kind: 'Pod' },
    obj: { apiVersion: 'v1', kind: 'Pod', metadata: { name: 'u', labels: null, unknown: { a: 1 } }, spec: { containers: null, bogus: [1, { x: 2 }] }, weird: 'x' },
  },
  {
    name: 'object whose fields have the wrong types',
    gvk: { group: '', version: 'v1', kind: 'Pod' },
    obj: { apiVersion: 'v1', kind: 'Pod', metadata: 'not-a-map', spec: { containers: 'x', volumes: [1, 'a', null] } },
  },
  { name: 'empty object', gvk: { group: '', version: 'v1', kind: 'ConfigMap' }, obj: {} },
  { name: 'only identity fields (no entry)', gvk: { group: '', version: 'v1', kind: 'ConfigMap' }, obj: { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'x', namespace: 'y' } } },
  {
    name: 'custom resource without a schema',
    gvk: { group: 'example.com', version: 'v1', kind: 'Widget' },
    obj: { apiVersion: 'example.com/v1', kind: 'Widget', metadata: { name: 'w' }, spec: { list: [{ name: 'a' }, 1], map: { 'odd/key': { deep: true } } } },
  },
  {
    name: 'persistent volume claim and a job',
    gvk: { group: 'batch', version: 'v1', kind: 'Job' },
    obj: {
      apiVersion: 'batch/v1',
      kind: 'Job',
      metadata: { name: 'j' },
      spec: { backoffLimit: 6, template: { spec: { restartPolicy: 'Never', containers: [{ name: 'j', image: 'busybox', resources: {} }] } } },
    },
  },
];

function opts(c: (typeof corpus)[number], manager: string): UpdateManagedFieldsOptions {
  return { next: structuredClone(c.obj), manager, gvk: c.gvk, type: typeForGVK(c.gvk), now: NOW, resetFields: c.resetFields, subresource: c.subresource };
}

for (const c of corpus) {
  test(`create managedFields equal the general path's byte for byte: ${c.name}`, () => {
    for (const manager of ['kubectl-create', '', 'a<b>&c']) {
      const fast = JSON.stringify(updateManagedFields(opts(c, manager)));
      const general = JSON.stringify(updateManagedFieldsGeneral(opts(c, manager)));
      assert.equal(fast, general);
    }
  });
}

test('a create records the fields the object sets, owned by its manager with operation Update', () => {
  const out = updateManagedFields(opts(corpus[0], 'kubectl-create')) as { metadata: { managedFields: JsonObject[] } };
  assert.equal(out.metadata.managedFields.length, 1);
  const e = out.metadata.managedFields[0];
  assert.deepEqual(Object.keys(e), ['manager', 'operation', 'apiVersion', 'time', 'fieldsType', 'fieldsV1']);
  assert.equal(e.manager, 'kubectl-create');
  assert.equal(e.time, '2025-03-01T08:09:10Z');
  const f = e.fieldsV1 as JsonObject;
  const spec = f['f:spec'] as JsonObject;
  assert.ok((spec['f:containers'] as JsonObject)['k:{"name":"c0"}'], 'containers are keyed by name');
  const ports = ((spec['f:containers'] as JsonObject)['k:{"name":"c0"}'] as JsonObject)['f:ports'] as JsonObject;
  assert.deepEqual(Object.keys(ports), ['.', 'k:{"containerPort":53,"protocol":"TCP"}', 'k:{"containerPort":53,"protocol":"UDP"}', 'k:{"containerPort":8080,"protocol":"TCP"}']);
  assert.equal(f['f:status'], undefined, 'status is reset on the main resource');
  assert.equal((f['f:metadata'] as JsonObject)['f:name'], undefined, 'identity fields are owned by nobody');
});

test('a create that brings its own managedFields keeps them, as the general path does', () => {
  const c = corpus[6];
  const mf = [{ manager: 'other', operation: 'Apply', apiVersion: 'v1', fieldsType: 'FieldsV1', fieldsV1: { 'f:data': { 'f:a.b': {} } } }];
  const withMF = (): UpdateManagedFieldsOptions => {
    const o = opts(c, 'me');
    (o.next as { metadata: JsonObject }).metadata.managedFields = structuredClone(mf);
    return o;
  };
  assert.equal(JSON.stringify(updateManagedFields(withMF())), JSON.stringify(updateManagedFieldsGeneral(withMF())));
});

test('creates from one template share their computed set, yet each is its own and exact', () => {
  type Out = { metadata: { managedFields: { time: string; fieldsV1: JsonObject }[] } };
  const made = (name: string, uid: string, ts: string, label: string, port: number, now: Date): UpdateManagedFieldsOptions => {
    const o = opts(corpus[0], 'kube-controller-manager');
    const obj = o.next as { metadata: JsonObject; spec: { containers: { ports: JsonObject[] }[] } };
    Object.assign(obj.metadata, { name, uid, creationTimestamp: ts, generateName: 'web-', labels: { [label]: 'x' } });
    obj.spec.containers[0].ports[0].containerPort = port;
    return { ...o, now };
  };
  const later = new Date('2025-03-01T09:00:00Z');
  const cases = [
    made('web-a', 'u-1', '2025-03-01T08:09:10Z', 'web', 8080, NOW),
    // The same template: only the fields nobody owns differ.
    made('web-b', 'u-2', '2025-03-01T08:09:11Z', 'web', 8080, later),
    // A label and a list key are content: each has its own set.
    made('web-c', 'u-3', '2025-03-01T08:09:12Z', 'api', 8080, NOW),
    made('web-d', 'u-4', '2025-03-01T08:09:13Z', 'web', 9090, NOW),
  ];
  const fresh = (c: UpdateManagedFieldsOptions): UpdateManagedFieldsOptions => ({ ...c, next: structuredClone(c.next) });
  const outs = cases.map((c) => updateManagedFields(fresh(c)) as Out);
  cases.forEach((c, i) => assert.equal(JSON.stringify(outs[i]), JSON.stringify(updateManagedFieldsGeneral(fresh(c))), `case ${i}`));
  assert.equal(outs[1].metadata.managedFields[0].time, '2025-03-01T09:00:00Z', 'each entry has its own time');
  assert.deepEqual(outs[0].metadata.managedFields[0].fieldsV1, outs[1].metadata.managedFields[0].fieldsV1);
  const ports = (f: JsonObject) => Object.keys(((f['f:spec'] as JsonObject)['f:containers'] as JsonObject)['k:{"name":"c0"}'] as JsonObject).length;
  assert.ok(ports(outs[3].metadata.managedFields[0].fieldsV1) > 0);
  assert.notDeepEqual(outs[3].metadata.managedFields[0].fieldsV1, outs[0].metadata.managedFields[0].fieldsV1);
  // The set the creates share cannot be changed through any of them.
  assert.throws(() => ((outs[1].metadata.managedFields[0].fieldsV1['f:spec'] as JsonObject)['f:bogus'] = {}), TypeError);
  const again = updateManagedFields(fresh(cases[0])) as Out;
  assert.equal((again.metadata.managedFields[0].fieldsV1['f:spec'] as JsonObject)['f:bogus'], undefined);
  assert.equal(JSON.stringify(again), JSON.stringify(updateManagedFieldsGeneral(fresh(cases[0]))));
});
