import { test } from 'node:test';
import assert from 'node:assert/strict';
import { createErrors, createMessage, stored, updateErrors, statusErrors } from './testing.ts';
import type { Json } from './meta.ts';

const pod = (spec: Json = {}, meta: Json = {}): Json => ({
  apiVersion: 'v1',
  kind: 'Pod',
  metadata: { name: 'x', namespace: 'default', ...meta },
  spec: { containers: [{ name: 'c', image: 'nginx' }], ...spec },
});
const ctr = (c: Json): Json => ({ name: 'c', image: 'nginx', ...c });

test('a minimal pod is valid after defaulting', () => {
  assert.deepEqual(createErrors(pod()), []);
});

test('pod validation reports upstream paths, types and messages', () => {
  const cases: [string, Json, string[]][] = [
    ['missing image', pod({ containers: [{ name: 'c' }] }), ['spec.containers[0].image: Required value']],
    ['no containers', pod({ containers: [] }), ['spec.containers: Required value']],
    ['duplicate container names', pod({ containers: [ctr({}), ctr({})] }), ['spec.containers[1].name: Duplicate value: "c"']],
    [
      'port out of range',
      pod({ containers: [ctr({ ports: [{ containerPort: 70000 }] })] }),
      ['spec.containers[0].ports[0].containerPort: Invalid value: 70000: must be between 1 and 65535, inclusive'],
    ],
    [
      'unsupported protocol',
      pod({ containers: [ctr({ ports: [{ containerPort: 80, protocol: 'HTTP' }] })] }),
      ['spec.containers[0].ports[0].protocol: Unsupported value: "HTTP": supported values: "SCTP", "TCP", "UDP"'],
    ],
    [
      'bad port name',
      pod({ containers: [ctr({ ports: [{ containerPort: 80, name: '8080' }] })] }),
      ['spec.containers[0].ports[0].name: Invalid value: "8080": must contain at least one letter (a-z)'],
    ],
    [
      'requests above limits',
      pod({ containers: [ctr({ resources: { limits: { cpu: '1' }, requests: { cpu: '2' } } })] }),
      ['spec.containers[0].resources.requests: Invalid value: "2": must be less than or equal to cpu limit of 1'],
    ],
    [
      'unknown unqualified resource',
      pod({ containers: [ctr({ resources: { limits: { gpu: '1' } } })] }),
      ['spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource type or fully qualified', 'spec.containers[0].resources.limits[gpu]: Invalid value: "gpu": must be a standard resource for containers', 'spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a standard resource type or fully qualified', 'spec.containers[0].resources.requests[gpu]: Invalid value: "gpu": must be a standard resource for containers'],
    ],
    [
      'env name with =',
      pod({ containers: [ctr({ env: [{ name: 'A=B', value: 'x' }] })] }),
      ["spec.containers[0].env[0].name: Invalid value: \"A=B\": a valid environment variable name must consist only of printable ASCII characters other than '='"],
    ],
    ['env name missing', pod({ containers: [ctr({ env: [{ value: 'x' }] })] }), ['spec.containers[0].env[0].name: Required value']],
    [
      'volume with two sources',
      pod({ volumes: [{ name: 'v', emptyDir: {}, hostPath: { path: '/x' } }] }),
      ['spec.volumes[0].hostPath: Forbidden: may not specify more than 1 volume type'],
    ],
    [
      'volume mount of an unknown volume',
      pod({ containers: [ctr({ volumeMounts: [{ name: 'nope', mountPath: '/d' }] })] }),
      ['spec.containers[0].volumeMounts[0].name: Not found: "nope"'],
    ],
    [
      'duplicate volume names',
      pod({ volumes: [{ name: 'v', emptyDir: {} }, { name: 'v', emptyDir: {} }] }),
      ['spec.volumes[1].name: Duplicate value: "v"'],
    ],
    [
      'secret volume without a name',
      pod({ volumes: [{ name: 'v', secret: {} }] }),
      ['spec.volumes[0].secret.secretName: Required value'],
    ],
    [
      'probe without handler',
      pod({ containers: [ctr({ livenessProbe: { periodSeconds: 5 } })] }),
      ['spec.containers[0].livenessProbe: Required value: must specify a handler type'],
    ],
    [
      'liveness probe success threshold',
      pod({ containers: [ctr({ livenessProbe: { exec: { command: ['true'] }, successThreshold: 2 } })] }),
      ['spec.containers[0].livenessProbe.successThreshold: Invalid value: 2: must be 1'],
    ],
    [
      'unsupported restart policy',
      pod({ restartPolicy: 'Sometimes' }),
      ['spec.restartPolicy: Unsupported value: "Sometimes": supported values: "Always", "OnFailure", "Never"'],
    ],
    [
      'unsupported dns policy',
      pod({ dnsPolicy: 'Google' }),
      ['spec.dnsPolicy: Unsupported value: "Google": supported values: "ClusterFirstWithHostNet", "ClusterFirst", "Default", "None"'],
    ],
    [
      'toleration with empty key and Equal',
      pod({ tolerations: [{ operator: 'Equal', value: 'x' }] }),
      ['spec.tolerations[0].operator: Invalid value: "Equal": operator must be Exists when `key` is empty, which means "match all values and all keys"'],
    ],
    [
      'image with whitespace',
      pod({ containers: [ctr({ image: ' nginx' })] }),
      ['spec.containers[0].image: Invalid value: " nginx": must not have leading or trailing whitespace'],
    ],
    ['bad node name', pod({ nodeName: 'Node_1' }), [`spec.nodeName: Invalid value: "Node_1": a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character (e.g. 'example.com', regex used for validation is '[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*')`]],
  ];
  for (const [name, obj, want] of cases) assert.deepEqual(createErrors(obj), want, name);
});

test('a malformed quantity in a pod fails decoding before validation', () => {
  assert.throws(() => createErrors(pod({ containers: [ctr({ resources: { limits: { memory: '1 GB' } } })] })), {
    message: `Pod in version "v1" cannot be handled as a Pod: quantities must match the regular expression '^([+-]?[0-9.]+)([eEinumkKMGTP]*[-+]?[0-9]*)$'`,
  });
});

test('the aggregated message reads as upstream', () => {
  assert.equal(createMessage(pod({ containers: [{ name: 'c' }] })), 'Pod "x" is invalid: spec.containers[0].image: Required value');
  assert.equal(
    createMessage(pod({ containers: [{ name: 'c' }, { name: 'c', image: 'x' }] })),
    'Pod "x" is invalid: [spec.containers[0].image: Required value, spec.containers[1].name: Duplicate value: "c"]',
  );
});

test('pod updates may change images but not other spec fields', () => {
  const old = stored(pod());
  const imageChange = structuredClone(old);
  imageChange.spec.containers[0].image = 'nginx:2';
  assert.deepEqual(updateErrors(imageChange, old), []);
  const other = structuredClone(old);
  other.spec.restartPolicy = 'Never';
  const errs = updateErrors(other, old);
  assert.equal(errs.length, 1);
  assert.ok(
    errs[0]!.startsWith(
      'spec: Forbidden: pod updates may not change fields other than `spec.containers[*].image`,`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations),`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)\n',
    ),
    errs[0],
  );
  const added = structuredClone(old);
  added.spec.containers.push({ name: 'd', image: 'x' });
  assert.ok(updateErrors(added, old).includes('spec.containers: Forbidden: pod updates may not add or remove containers'));
  const noRV = structuredClone(old);
  noRV.metadata.resourceVersion = '';
  assert.ok(updateErrors(noRV, old).includes('metadata.resourceVersion: Invalid value: "": must be specified for an update'));
});

test('pod tolerations may only be added; activeDeadlineSeconds only lowered', () => {
  const old = stored(pod({ tolerations: [{ key: 'a', operator: 'Exists' }], activeDeadlineSeconds: 100 }));
  const add = structuredClone(old);
  add.spec.tolerations.push({ key: 'b', operator: 'Exists' });
  add.spec.activeDeadlineSeconds = 50;
  assert.deepEqual(updateErrors(add, old), []);
  const change = structuredClone(old);
  change.spec.tolerations = [{ key: 'b', operator: 'Exists' }];
  assert.ok(updateErrors(change, old).includes('spec.tolerations: Forbidden: existing toleration can not be modified except its tolerationSeconds'));
  const raise = structuredClone(old);
  raise.spec.activeDeadlineSeconds = 200;
  assert.deepEqual(updateErrors(raise, old), ['spec.activeDeadlineSeconds: Invalid value: 200: must be less than or equal to previous value']);
});

test('pod status updates may not move the pod or restart terminated containers', () => {
  const old = stored(pod({ restartPolicy: 'Never' }));
  old.status = { containerStatuses: [{ name: 'c', state: { terminated: { exitCode: 0 } } }] };
  const moved = structuredClone(old);
  moved.spec.nodeName = 'n1';
  assert.ok(statusErrors(moved, old).includes('status.nodeName: Forbidden: may not be changed directly'));
  const revived = structuredClone(old);
  revived.status.containerStatuses[0].state = { running: {} };
  assert.deepEqual(statusErrors(revived, old), ['status.containerStatuses[0].state: Forbidden: may not be transitioned to non-terminated state']);
});

const svc = (spec: Json = {}, meta: Json = {}): Json => ({
  apiVersion: 'v1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'default', ...meta },
  spec: { selector: { app: 'web' }, ports: [{ port: 80 }], ...spec },
});

test('service validation', () => {
  const cases: [string, Json, string[]][] = [
    ['valid', svc(), []],
    ['headless without ports is valid', svc({ clusterIP: 'None', ports: [] }), []],
    ['no ports', svc({ ports: [] }), ['spec.ports: Required value']],
    ['unnamed ports when several', svc({ ports: [{ port: 80 }, { port: 81 }] }), ['spec.ports[0].name: Required value', 'spec.ports[1].name: Required value']],
    ['port zero', svc({ ports: [{ port: 0 }] }), ['spec.ports[0].port: Invalid value: 0: must be between 1 and 65535, inclusive', 'spec.ports[0].targetPort: Invalid value: 0: must be between 1 and 65535, inclusive']],
    ['unsupported type', svc({ type: 'Magic' }), ['spec.type: Unsupported value: "Magic": supported values: "ClusterIP", "ExternalName", "LoadBalancer", "NodePort"']],
    ['nodePort on ClusterIP', svc({ ports: [{ port: 80, nodePort: 30080 }] }), ["spec.ports[0].nodePort: Forbidden: may not be used when `type` is 'ClusterIP'"]],
    ['name must be a DNS-1035 label', svc({}, { name: '1web' }), [`metadata.name: Invalid value: "1web": a DNS-1035 label must consist of lower case alphanumeric characters or '-', start with an alphabetic character, and end with an alphanumeric character (e.g. 'my-name', or 'abc-123', regex used for validation is '[a-z]([-a-z0-9]*[a-z0-9])?')`]],
    ['bad clusterIP', svc({ clusterIP: '10.0.0' }), ['spec.clusterIPs[0]: Invalid value: "10.0.0": must be a valid IP address, (e.g. 10.9.8.7 or 2001:db8::ffff)']],
    ['externalName needs a name', svc({ type: 'ExternalName', ports: [] }), ['spec.externalName: Required value']],
  ];
  for (const [name, obj, want] of cases) assert.deepEqual(createErrors(obj), want, name);
});

test('service clusterIP is immutable once set', () => {
  const old = stored(svc({ clusterIP: '10.96.0.10' }));
  const changed = structuredClone(old);
  changed.spec.clusterIP = '10.96.0.11';
  changed.spec.clusterIPs = ['10.96.0.11'];
  assert.deepEqual(updateErrors(changed, old), ['spec.clusterIPs[0]: Invalid value: []string{"10.96.0.11"}: may not change once set']);
});

test('configmaps and secrets: keys, sizes, types, immutability', () => {
  const cm = (data: Json, extra: Json = {}): Json => ({ apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'c', namespace: 'd' }, data, ...extra });
  assert.deepEqual(createErrors(cm({ 'app.properties': 'x' })), []);
  assert.deepEqual(createErrors(cm({ '..a': 'x' })), ['data[..a]: Invalid value: "..a": must not start with \'..\'']);
  assert.deepEqual(createErrors(cm({ big: 'x'.repeat(1024 * 1024 + 1) })), [': Too long: may not be more than 1048576 bytes']);
  const secret = (extra: Json): Json => ({ apiVersion: 'v1', kind: 'Secret', metadata: { name: 's', namespace: 'd' }, ...extra });
  assert.deepEqual(createErrors(secret({ data: { 'a b': 'eA==' } })), [
    `data[a b]: Invalid value: "a b": a valid config key must consist of alphanumeric characters, '-', '_' or '.' (e.g. 'key.name', or 'KEY_NAME', or 'key-name', regex used for validation is '[-._a-zA-Z0-9]+')`,
  ]);
  assert.deepEqual(createErrors(secret({ type: 'kubernetes.io/tls', data: {} })), ['data[tls.crt]: Required value', 'data[tls.key]: Required value']);
  assert.deepEqual(createErrors(secret({ type: 'kubernetes.io/dockerconfigjson', stringData: { '.dockerconfigjson': '{"auths":{}}' } })), []);
  assert.deepEqual(createErrors(secret({ type: 'kubernetes.io/service-account-token' })), ['metadata.annotations[kubernetes.io/service-account.name]: Required value']);
  const old = stored(cm({ a: '1' }, { immutable: true }));
  const changed = structuredClone(old);
  changed.data.a = '2';
  assert.deepEqual(updateErrors(changed, old), ['data: Forbidden: field is immutable when `immutable` is set']);
  const os = stored(secret({ data: { a: 'eA==' } }));
  const retyped = structuredClone(os);
  retyped.type = 'kubernetes.io/basic-auth';
  retyped.data = { username: 'eA==' };
  assert.deepEqual(updateErrors(retyped, os), ['type: Invalid value: "kubernetes.io/basic-auth": field is immutable']);
});

test('namespaces: DNS label names, no namespace, status phase rules', () => {
  const ns = (name: string): Json => ({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  assert.deepEqual(createErrors(ns('team-a')), []);
  assert.deepEqual(createErrors(ns('a.b')), ['metadata.name: Invalid value: "a.b": must not contain dots']);
  const old = stored(ns('team-a'));
  const term = structuredClone(old);
  term.status.phase = 'Terminating';
  assert.deepEqual(statusErrors(term, old), ['status.Phase: Invalid value: "Terminating": may only be \'Active\' if `deletionTimestamp` is empty']);
  const withNs: Json = { apiVersion: 'v1', kind: 'Node', metadata: { name: 'n', namespace: 'default' } };
  assert.deepEqual(createErrors(withNs), ['metadata.namespace: Forbidden: not allowed on this type']);
});

test('nodes, endpoints, events, service accounts', () => {
  assert.deepEqual(createErrors({ apiVersion: 'v1', kind: 'Node', metadata: { name: 'n1' }, spec: { taints: [{ key: 'k', effect: 'Sometimes' }] } }), [
    'metadata.taints[0].effect: Unsupported value: "Sometimes": supported values: "NoSchedule", "PreferNoSchedule", "NoExecute"',
  ]);
  assert.deepEqual(
    createErrors({ apiVersion: 'v1', kind: 'Endpoints', metadata: { name: 'e', namespace: 'd' }, subsets: [{ addresses: [{ ip: '127.0.0.1' }], ports: [{ port: 80 }] }] }),
    ['subsets[0].addresses[0].ip: Invalid value: "127.0.0.1": may not be in the loopback range (127.0.0.0/8, ::1/128)'],
  );
  assert.deepEqual(
    createErrors({ apiVersion: 'v1', kind: 'Event', metadata: { name: 'x.17', namespace: 'd' }, involvedObject: { kind: 'Pod', name: 'p', namespace: 'other' } }),
    ['involvedObject.namespace: Invalid value: "other": does not match event.namespace'],
  );
  assert.deepEqual(createErrors({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default', namespace: 'd' } }), []);
});

test('persistent volumes and claims', () => {
  const pvc = (spec: Json): Json => ({ apiVersion: 'v1', kind: 'PersistentVolumeClaim', metadata: { name: 'c', namespace: 'd' }, spec });
  assert.deepEqual(createErrors(pvc({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } })), []);
  assert.deepEqual(createErrors(pvc({ resources: { requests: { storage: '1Gi' } } })), ['spec.accessModes: Required value: at least 1 access mode is required']);
  assert.deepEqual(createErrors(pvc({ accessModes: ['ReadWriteOnce'] })), ['spec.resources[storage]: Required value']);
  const pv = (spec: Json): Json => ({ apiVersion: 'v1', kind: 'PersistentVolume', metadata: { name: 'v' }, spec });
  assert.deepEqual(createErrors(pv({ accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' }, hostPath: { path: '/data' } })), []);
  assert.deepEqual(createErrors(pv({ accessModes: ['ReadWriteOnce'], capacity: { storage: '1Gi' } })), ['spec: Required value: must specify a volume type']);
  const old = stored(pvc({ accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } } }));
  const changed = structuredClone(old);
  changed.spec.accessModes = ['ReadWriteMany'];
  const errs = updateErrors(changed, old);
  assert.equal(errs.length, 1);
  assert.ok(errs[0]!.startsWith('spec: Forbidden: spec is immutable after creation except resources.requests and volumeAttributesClassName for bound claims\n'));
});

test('replication controllers, limit ranges and quotas', () => {
  const rc: Json = {
    apiVersion: 'v1',
    kind: 'ReplicationController',
    metadata: { name: 'r', namespace: 'd' },
    spec: { selector: { app: 'a' }, template: { metadata: { labels: { app: 'b' } }, spec: { containers: [{ name: 'c', image: 'x' }] } } },
  };
  assert.deepEqual(createErrors(rc), ['spec.template.metadata.labels: Invalid value: map[string]string{"app":"b"}: `selector` does not match template `labels`']);
  const lr: Json = { apiVersion: 'v1', kind: 'LimitRange', metadata: { name: 'l', namespace: 'd' }, spec: { limits: [{ type: 'Container', min: { cpu: '2' }, max: { cpu: '1' } }] } };
  assert.ok(createErrors(lr).includes('spec.limits[0].min[cpu]: Invalid value: "2": min value 2 is greater than max value 1'));
  const rq: Json = { apiVersion: 'v1', kind: 'ResourceQuota', metadata: { name: 'q', namespace: 'd' }, spec: { hard: { pods: '1.5', bogus: '1' } } };
  assert.deepEqual(createErrors(rq), [
    'spec.hard[pods]: Invalid value: "1500m": must be an integer',
    'spec.hard[bogus]: Invalid value: "bogus": must be a standard resource type or fully qualified',
    'spec.hard[bogus]: Invalid value: "bogus": must be a standard resource for quota',
  ]);
});

test('Endpoints addresses: every kind of bad address is reported at its own path, in upstream\'s order', () => {
  const errs = createErrors({
    apiVersion: 'v1',
    kind: 'Endpoints',
    metadata: { name: 'e', namespace: 'd' },
    subsets: [
      {
        addresses: [{ ip: '10.0.0.1', nodeName: 'n1' }, { ip: 'x', nodeName: 'Bad_Node' }, { ip: '0.0.0.0' }, { ip: '169.254.1.1' }, { ip: '224.0.0.9' }, { ip: 'fe80::1' }, { ip: '010.001.0.1', nodeName: 'n1' }, { ip: '256.1.1.1' }],
        notReadyAddresses: [{ ip: '10.0.0.2', nodeName: 'Bad_Node' }],
        ports: [{ port: 80, protocol: 'TCP' }],
      },
    ],
  });
  assert.deepEqual(
    errs.map((e) => e.split(': ').slice(0, 3).join(': ')),
    [
      'subsets[0].addresses[1].ip: Invalid value: "x"',
      'subsets[0].addresses[1].nodeName: Invalid value: "Bad_Node"',
      'subsets[0].addresses[1].ip: Invalid value: "x"',
      'subsets[0].addresses[2].ip: Invalid value: "0.0.0.0"',
      'subsets[0].addresses[3].ip: Invalid value: "169.254.1.1"',
      'subsets[0].addresses[4].ip: Invalid value: "224.0.0.9"',
      'subsets[0].addresses[5].ip: Invalid value: "fe80::1"',
      'subsets[0].addresses[7].ip: Invalid value: "256.1.1.1"',
      'subsets[0].addresses[7].ip: Invalid value: "256.1.1.1"',
      'subsets[0].notReadyAddresses[0].nodeName: Invalid value: "Bad_Node"',
    ],
  );
  assert.match(errs[2]!, /must be a valid IP address$/);
  assert.match(errs[3]!, /may not be unspecified \(0\.0\.0\.0\)$/);
  assert.match(errs[5]!, /link-local multicast range/);
});
