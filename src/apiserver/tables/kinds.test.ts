import assert from 'node:assert/strict';
import { test } from 'node:test';
import { RESOURCES } from '../../api/resources.ts';
import { defaultTable, tableFor, tableForSubresource } from './registry.ts';

const NOW = new Date('2024-05-01T12:00:00Z');
const ago = (seconds: number): string => new Date(NOW.getTime() - seconds * 1000).toISOString().replace('.000Z', 'Z');
type J = Record<string, unknown>;
const meta = (name: string, extra: J = {}): J => ({ name, namespace: 'default', creationTimestamp: ago(3 * 3600 + 5 * 60), ...extra });
const AGE = '3h5m';

function cells(group: string, plural: string, o: J): unknown[] {
  return tableFor(group, plural).cells(o, NOW);
}

/** The headers kubectl prints: names upper-cased, wide ones only with -o wide. */
function headers(group: string, plural: string, wide = false): string {
  return tableFor(group, plural)
    .columns.filter((c) => wide || c.priority === 0)
    .map((c) => c.name.toUpperCase())
    .join(' ');
}

test('headers are upstream kubectl get headers, wide columns marked priority 1', () => {
  const want: [string, string, string, string][] = [
    ['', 'pods', 'NAME READY STATUS RESTARTS AGE', 'NAME READY STATUS RESTARTS AGE IP NODE NOMINATED NODE READINESS GATES'],
    ['apps', 'deployments', 'NAME READY UP-TO-DATE AVAILABLE AGE', 'NAME READY UP-TO-DATE AVAILABLE AGE CONTAINERS IMAGES SELECTOR'],
    ['apps', 'replicasets', 'NAME DESIRED CURRENT READY AGE', 'NAME DESIRED CURRENT READY AGE CONTAINERS IMAGES SELECTOR'],
    ['apps', 'statefulsets', 'NAME READY AGE', 'NAME READY AGE CONTAINERS IMAGES'],
    ['apps', 'daemonsets', 'NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE', 'NAME DESIRED CURRENT READY UP-TO-DATE AVAILABLE NODE SELECTOR AGE CONTAINERS IMAGES SELECTOR'],
    ['', 'replicationcontrollers', 'NAME DESIRED CURRENT READY AGE', 'NAME DESIRED CURRENT READY AGE CONTAINERS IMAGES SELECTOR'],
    ['', 'services', 'NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE', 'NAME TYPE CLUSTER-IP EXTERNAL-IP PORT(S) AGE SELECTOR'],
    ['', 'endpoints', 'NAME ENDPOINTS AGE', 'NAME ENDPOINTS AGE'],
    ['discovery.k8s.io', 'endpointslices', 'NAME ADDRESSTYPE PORTS ENDPOINTS AGE', 'NAME ADDRESSTYPE PORTS ENDPOINTS AGE'],
    ['', 'nodes', 'NAME STATUS ROLES AGE VERSION', 'NAME STATUS ROLES AGE VERSION INTERNAL-IP EXTERNAL-IP OS-IMAGE KERNEL-VERSION CONTAINER-RUNTIME'],
    ['', 'namespaces', 'NAME STATUS AGE', 'NAME STATUS AGE'],
    ['', 'configmaps', 'NAME DATA AGE', 'NAME DATA AGE'],
    ['', 'secrets', 'NAME TYPE DATA AGE', 'NAME TYPE DATA AGE'],
    ['', 'serviceaccounts', 'NAME SECRETS AGE', 'NAME SECRETS AGE'],
    ['', 'events', 'LAST SEEN TYPE REASON OBJECT MESSAGE', 'LAST SEEN TYPE REASON OBJECT SUBOBJECT SOURCE MESSAGE FIRST SEEN COUNT NAME'],
    ['events.k8s.io', 'events', 'LAST SEEN TYPE REASON OBJECT MESSAGE', 'LAST SEEN TYPE REASON OBJECT SUBOBJECT SOURCE MESSAGE FIRST SEEN COUNT NAME'],
    ['batch', 'jobs', 'NAME STATUS COMPLETIONS DURATION AGE', 'NAME STATUS COMPLETIONS DURATION AGE CONTAINERS IMAGES SELECTOR'],
    ['batch', 'cronjobs', 'NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE', 'NAME SCHEDULE TIMEZONE SUSPEND ACTIVE LAST SCHEDULE AGE CONTAINERS IMAGES SELECTOR'],
    ['', 'persistentvolumes', 'NAME CAPACITY ACCESS MODES RECLAIM POLICY STATUS CLAIM STORAGECLASS VOLUMEATTRIBUTESCLASS REASON AGE', 'NAME CAPACITY ACCESS MODES RECLAIM POLICY STATUS CLAIM STORAGECLASS VOLUMEATTRIBUTESCLASS REASON AGE VOLUMEMODE'],
    ['', 'persistentvolumeclaims', 'NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS VOLUMEATTRIBUTESCLASS AGE', 'NAME STATUS VOLUME CAPACITY ACCESS MODES STORAGECLASS VOLUMEATTRIBUTESCLASS AGE VOLUMEMODE'],
    ['storage.k8s.io', 'storageclasses', 'NAME PROVISIONER RECLAIMPOLICY VOLUMEBINDINGMODE ALLOWVOLUMEEXPANSION AGE', 'NAME PROVISIONER RECLAIMPOLICY VOLUMEBINDINGMODE ALLOWVOLUMEEXPANSION AGE'],
    ['networking.k8s.io', 'ingresses', 'NAME CLASS HOSTS ADDRESS PORTS AGE', 'NAME CLASS HOSTS ADDRESS PORTS AGE'],
    ['networking.k8s.io', 'ingressclasses', 'NAME CONTROLLER PARAMETERS AGE', 'NAME CONTROLLER PARAMETERS AGE'],
    ['networking.k8s.io', 'networkpolicies', 'NAME POD-SELECTOR AGE', 'NAME POD-SELECTOR AGE'],
    ['coordination.k8s.io', 'leases', 'NAME HOLDER AGE', 'NAME HOLDER AGE'],
    ['scheduling.k8s.io', 'priorityclasses', 'NAME VALUE GLOBAL-DEFAULT AGE PREEMPTIONPOLICY', 'NAME VALUE GLOBAL-DEFAULT AGE PREEMPTIONPOLICY'],
    ['policy', 'poddisruptionbudgets', 'NAME MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS AGE', 'NAME MIN AVAILABLE MAX UNAVAILABLE ALLOWED DISRUPTIONS AGE'],
    ['autoscaling', 'horizontalpodautoscalers', 'NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE', 'NAME REFERENCE TARGETS MINPODS MAXPODS REPLICAS AGE'],
    ['rbac.authorization.k8s.io', 'rolebindings', 'NAME ROLE AGE', 'NAME ROLE AGE USERS GROUPS SERVICEACCOUNTS'],
    ['rbac.authorization.k8s.io', 'clusterrolebindings', 'NAME ROLE AGE', 'NAME ROLE AGE USERS GROUPS SERVICEACCOUNTS'],
    ['rbac.authorization.k8s.io', 'roles', 'NAME CREATED AT', 'NAME CREATED AT'],
    ['rbac.authorization.k8s.io', 'clusterroles', 'NAME CREATED AT', 'NAME CREATED AT'],
    ['', 'limitranges', 'NAME CREATED AT', 'NAME CREATED AT'],
    ['certificates.k8s.io', 'certificatesigningrequests', 'NAME AGE SIGNERNAME REQUESTOR REQUESTEDDURATION CONDITION', 'NAME AGE SIGNERNAME REQUESTOR REQUESTEDDURATION CONDITION'],
    ['', 'resourcequotas', 'NAME REQUEST LIMIT AGE', 'NAME REQUEST LIMIT AGE'],
    ['apps', 'controllerrevisions', 'NAME CONTROLLER REVISION AGE', 'NAME CONTROLLER REVISION AGE'],
    ['', 'podtemplates', 'NAME CONTAINERS IMAGES POD LABELS', 'NAME CONTAINERS IMAGES POD LABELS'],
    ['storage.k8s.io', 'csidrivers', 'NAME ATTACHREQUIRED PODINFOONMOUNT STORAGECAPACITY TOKENREQUESTS REQUIRESREPUBLISH MODES AGE', 'NAME ATTACHREQUIRED PODINFOONMOUNT STORAGECAPACITY TOKENREQUESTS REQUIRESREPUBLISH MODES AGE'],
    ['storage.k8s.io', 'csinodes', 'NAME DRIVERS AGE', 'NAME DRIVERS AGE'],
    ['storage.k8s.io', 'volumeattachments', 'NAME ATTACHER PV NODE ATTACHED AGE', 'NAME ATTACHER PV NODE ATTACHED AGE'],
    ['storage.k8s.io', 'csistoragecapacities', 'NAME STORAGECLASSNAME CAPACITY', 'NAME STORAGECLASSNAME CAPACITY'],
    ['node.k8s.io', 'runtimeclasses', 'NAME HANDLER AGE', 'NAME HANDLER AGE'],
    ['', 'componentstatuses', 'NAME STATUS MESSAGE ERROR', 'NAME STATUS MESSAGE ERROR'],
  ];
  for (const [group, plural, normal, wide] of want) {
    assert.equal(headers(group, plural), normal, `${plural}.${group}`);
    assert.equal(headers(group, plural, true), wide, `${plural}.${group} -o wide`);
  }
});

test('the first column marked as holding the object name is the Name column in every table', () => {
  for (const r of RESOURCES) {
    const names = tableFor(r.group, r.plural).columns.filter((c) => c.format === 'name');
    assert.ok(names.length >= 1, `${r.plural}.${r.group}`);
    assert.equal(names[0]!.name, 'Name', `${r.plural}.${r.group}`);
  }
});

test('every served resource prints one cell per column, even for an empty object', () => {
  for (const r of RESOURCES) {
    const spec = tableFor(r.group, r.plural);
    for (const o of [{}, { metadata: { name: 'x' }, spec: {}, status: {} }]) {
      assert.equal(spec.cells(o, NOW).length, spec.columns.length, `${r.plural}.${r.group}`);
    }
  }
  const scale = tableForSubresource('apps', 'deployments', 'scale');
  assert.equal(scale.cells({}, NOW).length, scale.columns.length);
});

test('kinds without a printer get the default table: the name and the creation time in RFC 3339', () => {
  assert.equal(tableFor('rbac.authorization.k8s.io', 'roles'), defaultTable);
  assert.equal(tableFor('example.com', 'widgets'), defaultTable);
  assert.deepEqual(defaultTable.columns.map((c) => [c.name, c.type, c.format]), [
    ['Name', 'string', 'name'],
    ['Created At', 'date', ''],
  ]);
  assert.deepEqual(cells('', 'limitranges', { metadata: { name: 'lr', creationTimestamp: '2024-05-01T09:08:07.123456Z' } }), ['lr', '2024-05-01T09:08:07Z']);
  assert.deepEqual(cells('', 'limitranges', { metadata: { name: 'lr', creationTimestamp: '2024-05-01T11:08:07+02:00' } }), ['lr', '2024-05-01T09:08:07Z']);
});

test('the status subresource prints as its resource and scale as a Scale', () => {
  assert.equal(tableForSubresource('apps', 'deployments', 'status'), tableFor('apps', 'deployments'));
  const scale = tableForSubresource('apps', 'deployments', 'scale');
  assert.deepEqual(scale.columns.map((c) => c.name), ['Name', 'Desired', 'Available', 'Age']);
  assert.deepEqual(scale.cells({ metadata: meta('web'), spec: { replicas: 3 }, status: { replicas: 2 } }, NOW), ['web', 3, 2, AGE]);
});

const template = (containers: [string, string][], labels: J = { app: 'web' }): J => ({
  metadata: { labels },
  spec: { containers: containers.map(([name, image]) => ({ name, image })) },
});

test('workload rows: deployments, replica sets, stateful sets, daemon sets, replication controllers', () => {
  const selector = { matchLabels: { tier: 'fe', app: 'web' }, matchExpressions: [{ key: 'env', operator: 'In', values: ['prod', 'dev'] }, { key: 'canary', operator: 'DoesNotExist' }] };
  assert.deepEqual(
    cells('apps', 'deployments', {
      metadata: meta('web'),
      spec: { replicas: 3, selector, template: template([['nginx', 'nginx:1.25'], ['log', 'busybox']]) },
      status: { readyReplicas: 2, updatedReplicas: 3, availableReplicas: 2 },
    }),
    ['web', '2/3', 3, 2, AGE, 'nginx,log', 'nginx:1.25,busybox', 'app=web,!canary,env in (dev,prod),tier=fe'],
  );
  // A new deployment without status yet, and one with an empty selector (Deployment prints "", not "<none>").
  assert.deepEqual(cells('apps', 'deployments', { metadata: meta('new'), spec: { replicas: 1, selector: {}, template: template([['c', 'i']]) } }), [
    'new', '0/1', 0, 0, AGE, 'c', 'i', '',
  ]);
  assert.deepEqual(
    cells('apps', 'replicasets', {
      metadata: meta('web-5d4f'),
      spec: { replicas: 3, selector: { matchLabels: { app: 'web', 'pod-template-hash': '5d4f' } }, template: template([['nginx', 'nginx']]) },
      status: { replicas: 3, readyReplicas: 1 },
    }),
    ['web-5d4f', 3, 3, 1, AGE, 'nginx', 'nginx', 'app=web,pod-template-hash=5d4f'],
  );
  assert.deepEqual(cells('apps', 'replicasets', { metadata: meta('x'), spec: { replicas: 0 } }).slice(1, 4), [0, 0, 0]);
  assert.equal(cells('apps', 'replicasets', { metadata: meta('x'), spec: { selector: { matchExpressions: [{ key: 'a', operator: 'Bogus' }] } } })[7], '<error>');
  assert.deepEqual(
    cells('apps', 'statefulsets', { metadata: meta('db'), spec: { replicas: 3, template: template([['pg', 'postgres:16']]) }, status: { readyReplicas: 3 } }),
    ['db', '3/3', AGE, 'pg', 'postgres:16'],
  );
  assert.deepEqual(
    cells('apps', 'daemonsets', {
      metadata: meta('agent'),
      spec: { selector: { matchLabels: { app: 'agent' } }, template: { spec: { nodeSelector: { 'kubernetes.io/os': 'linux' }, containers: [{ name: 'a', image: 'agent:1' }] } } },
      status: { desiredNumberScheduled: 3, currentNumberScheduled: 3, numberReady: 2, updatedNumberScheduled: 3, numberAvailable: 2 },
    }),
    ['agent', 3, 3, 2, 3, 2, 'kubernetes.io/os=linux', AGE, 'a', 'agent:1', 'app=agent'],
  );
  assert.equal(cells('apps', 'daemonsets', { metadata: meta('agent'), spec: { template: { spec: {} } } })[6], '<none>');
  assert.deepEqual(
    cells('', 'replicationcontrollers', { metadata: meta('rc'), spec: { replicas: 2, selector: { b: '2', a: '1' }, template: template([['c', 'i']]) }, status: { replicas: 2, readyReplicas: 2 } }),
    ['rc', 2, 2, 2, AGE, 'c', 'i', 'a=1,b=2'],
  );
});

test('job rows: status from conditions, completions, and duration', () => {
  const job = (spec: J, status: J, metaExtra: J = {}): unknown[] =>
    cells('batch', 'jobs', { metadata: meta('pi', metaExtra), spec: { selector: { matchLabels: { 'batch.kubernetes.io/controller-uid': 'u1' } }, template: template([['pi', 'perl']]), ...spec }, status });
  assert.deepEqual(job({ completions: 1, parallelism: 1 }, { succeeded: 1, startTime: ago(3600), completionTime: ago(3600 - 65), conditions: [{ type: 'Complete', status: 'True' }] }), [
    'pi', 'Complete', '1/1', '65s', AGE, 'pi', 'perl', 'batch.kubernetes.io/controller-uid=u1',
  ]);
  assert.deepEqual(job({ completions: 5 }, { succeeded: 2, startTime: ago(9 * 60 + 4) }).slice(1, 4), ['Running', '2/5', '9m4s']);
  assert.deepEqual(job({ parallelism: 3 }, { succeeded: 0 }).slice(1, 4), ['Running', '0/1 of 3', '']);
  assert.deepEqual(job({ parallelism: 1 }, {}).slice(1, 3), ['Running', '0/1']);
  assert.equal(job({}, { conditions: [{ type: 'Failed', status: 'True' }] })[1], 'Failed');
  assert.equal(job({}, { conditions: [{ type: 'Suspended', status: 'True' }] })[1], 'Suspended');
  assert.equal(job({}, { conditions: [{ type: 'Suspended', status: 'False' }] })[1], 'Running');
  assert.equal(job({}, { conditions: [{ type: 'FailureTarget', status: 'True' }] })[1], 'FailureTarget');
  assert.equal(job({}, { conditions: [{ type: 'Suspended', status: 'True' }] }, { deletionTimestamp: ago(1) })[1], 'Terminating');
  assert.equal(job({}, { conditions: [{ type: 'Complete', status: 'True' }] }, { deletionTimestamp: ago(1) })[1], 'Complete');
});

test('cron job rows: schedule, time zone, suspend, active jobs, last schedule', () => {
  const cj = (spec: J, status: J): unknown[] =>
    cells('batch', 'cronjobs', { metadata: meta('nightly'), spec: { schedule: '0 3 * * *', jobTemplate: { spec: { template: template([['backup', 'tool:2']]) } }, ...spec }, status });
  assert.deepEqual(cj({ suspend: false }, {}), ['nightly', '0 3 * * *', '<none>', 'False', 0, '<none>', AGE, 'backup', 'tool:2', '<none>']);
  assert.deepEqual(cj({ suspend: true, timeZone: 'Europe/Paris' }, { active: [{ name: 'a' }], lastScheduleTime: ago(125) }).slice(2, 6), ['Europe/Paris', 'True', 1, '2m5s']);
  assert.equal(cj({}, {})[3], '<unset>');
});

test('service rows: types, cluster IP, external IP, ports with node ports, selector', () => {
  const svc = (spec: J, status: J = {}): unknown[] => cells('', 'services', { metadata: meta('web'), spec, status });
  assert.deepEqual(svc({ type: 'ClusterIP', clusterIP: '10.96.0.10', clusterIPs: ['10.96.0.10'], ports: [{ port: 53, protocol: 'UDP' }, { port: 53, protocol: 'TCP' }], selector: { 'k8s-app': 'dns' } }), [
    'web', 'ClusterIP', '10.96.0.10', '<none>', '53/UDP,53/TCP', AGE, 'k8s-app=dns',
  ]);
  assert.deepEqual(svc({ type: 'NodePort', clusterIPs: ['10.96.1.1'], ports: [{ port: 80, nodePort: 30080, protocol: 'TCP' }] }).slice(1, 5), ['NodePort', '10.96.1.1', '<none>', '80:30080/TCP']);
  assert.deepEqual(svc({ type: 'LoadBalancer', clusterIPs: ['10.96.1.2'], ports: [{ port: 443, nodePort: 31443, protocol: 'TCP' }] }).slice(3, 5), ['<pending>', '443:31443/TCP']);
  assert.equal(svc({ type: 'LoadBalancer', clusterIPs: ['10.96.1.2'] }, { loadBalancer: { ingress: [{ ip: '203.0.113.9' }, { hostname: 'lb.example.com' }, { ip: '198.51.100.7' }] } })[3], '198.51.100.7,203.0.113.9,lb.example.com');
  assert.equal(svc({ type: 'LoadBalancer', externalIPs: ['192.0.2.1'] }, { loadBalancer: { ingress: [{ ip: '203.0.113.9' }] } })[3], '203.0.113.9,192.0.2.1');
  assert.equal(svc({ type: 'ClusterIP', externalIPs: ['192.0.2.1', '192.0.2.2'] })[3], '192.0.2.1,192.0.2.2');
  assert.deepEqual(svc({ type: 'ExternalName', externalName: 'db.example.com' }).slice(1, 5), ['ExternalName', '<none>', 'db.example.com', '<none>']);
  assert.deepEqual(svc({ type: 'ClusterIP', clusterIP: 'None', clusterIPs: ['None'] }).slice(2, 5), ['None', '<none>', '<none>']);
  assert.equal(svc({ type: 'ClusterIP' })[6], '<none>');
});

test('endpoints and endpoint slice rows list three addresses and count the rest', () => {
  const ep = (subsets: J[]): unknown => cells('', 'endpoints', { metadata: meta('web'), subsets })[1];
  assert.equal(ep([]), '<none>');
  assert.equal(ep([{ addresses: [{ ip: '10.0.0.1' }, { ip: 'fd00::1' }], ports: [{ port: 8080 }] }]), '10.0.0.1:8080,[fd00::1]:8080');
  assert.equal(ep([{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }], ports: [{ port: 80 }, { port: 443 }] }]), '10.0.0.1:80,10.0.0.2:80,10.0.0.1:443 + 1 more...');
  assert.equal(ep([{ addresses: [{ ip: '10.0.0.1' }, { ip: '10.0.0.2' }] }]), '10.0.0.1,10.0.0.2');
  assert.deepEqual(
    cells('discovery.k8s.io', 'endpointslices', {
      metadata: meta('web-abc'),
      addressType: 'IPv4',
      ports: [{ port: 80 }, { name: 'metrics' }, {}, { port: 9090 }],
      endpoints: [{ addresses: ['10.0.0.1'] }, { addresses: ['10.0.0.2'] }],
    }),
    ['web-abc', 'IPv4', '80,metrics,* + 1 more...', '10.0.0.1,10.0.0.2', AGE],
  );
  assert.deepEqual(cells('discovery.k8s.io', 'endpointslices', { metadata: meta('empty'), addressType: 'IPv4' }).slice(2, 4), ['<unset>', '<unset>']);
});

test('node rows: readiness, scheduling, roles from labels, addresses and system info', () => {
  const node = (status: J, spec: J = {}, labels: J = {}): unknown[] => cells('', 'nodes', { metadata: meta('n1', { labels }), spec, status });
  const info = { kubeletVersion: 'v1.33.0', osImage: 'Debian GNU/Linux 12', kernelVersion: '6.1.0', containerRuntimeVersion: 'containerd://1.7.0' };
  assert.deepEqual(
    node(
      { conditions: [{ type: 'MemoryPressure', status: 'False' }, { type: 'Ready', status: 'True' }], nodeInfo: info, addresses: [{ type: 'Hostname', address: 'n1' }, { type: 'InternalIP', address: '10.0.0.4' }] },
      {},
      { 'node-role.kubernetes.io/control-plane': '', 'node-role.kubernetes.io/etcd': 'true', 'kubernetes.io/role': 'master', 'kubernetes.io/hostname': 'n1' },
    ),
    ['n1', 'Ready', 'control-plane,etcd,master', AGE, 'v1.33.0', '10.0.0.4', '<none>', 'Debian GNU/Linux 12', '6.1.0', 'containerd://1.7.0'],
  );
  assert.deepEqual(node({ conditions: [{ type: 'Ready', status: 'False' }] }).slice(1, 3), ['NotReady', '<none>']);
  assert.equal(node({ conditions: [{ type: 'Ready', status: 'Unknown' }] })[1], 'NotReady');
  assert.equal(node({ conditions: [{ type: 'Ready', status: 'True' }] }, { unschedulable: true })[1], 'Ready,SchedulingDisabled');
  assert.equal(node({}, { unschedulable: true })[1], 'Unknown,SchedulingDisabled');
  assert.deepEqual(node({}).slice(1), ['Unknown', '<none>', AGE, '', '<none>', '<none>', '<unknown>', '<unknown>', '<unknown>']);
  assert.equal(node({}, {}, { 'node-role.kubernetes.io/': '', 'kubernetes.io/role': '' })[2], '<none>');
});

test('event rows: last seen, object, source, count, including events.k8s.io events and series', () => {
  const core = {
    metadata: meta('web.17a'),
    involvedObject: { kind: 'Pod', name: 'web', fieldPath: 'spec.containers{nginx}' },
    reason: 'BackOff',
    message: 'Back-off restarting failed container\n',
    type: 'Warning',
    source: { component: 'kubelet', host: 'n1' },
    firstTimestamp: ago(3600),
    lastTimestamp: ago(300),
    count: 12,
  };
  assert.deepEqual(cells('', 'events', core), ['5m', 'Warning', 'BackOff', 'pod/web', 'spec.containers{nginx}', 'kubelet, n1', 'Back-off restarting failed container', '60m', 12, 'web.17a']);
  // An event of the newer API: no timestamps but eventTime, no count, reported by a controller.
  const newer = {
    metadata: meta('web.17b'),
    involvedObject: { kind: 'Node', name: '' },
    reason: 'Scheduled',
    message: 'ok',
    type: 'Normal',
    eventTime: '2024-05-01T11:59:30.123456Z',
    reportingComponent: 'default-scheduler',
    reportingInstance: 'default-scheduler-cp1',
  };
  assert.deepEqual(cells('', 'events', newer), ['29s', 'Normal', 'Scheduled', 'node', '', 'default-scheduler, default-scheduler-cp1', 'ok', '29s', 1, 'web.17b']);
  assert.deepEqual(cells('', 'events', { metadata: meta('e') }).slice(0, 1).concat(cells('', 'events', { metadata: meta('e') }).slice(7, 9)), ['<unknown>', '<unknown>', 1]);
  const series = { ...core, series: { count: 40, lastObservedTime: '2024-05-01T11:59:00.000000Z' } };
  assert.deepEqual([cells('', 'events', series)[0], cells('', 'events', series)[8]], ['60s', 40]);
  const v1 = {
    apiVersion: 'events.k8s.io/v1',
    kind: 'Event',
    metadata: meta('web.17c'),
    regarding: { kind: 'Deployment', name: 'web' },
    note: 'Scaled up replica set web-5d4f to 3',
    reason: 'ScalingReplicaSet',
    type: 'Normal',
    reportingController: 'deployment-controller',
    deprecatedSource: { component: 'deployment-controller' },
    deprecatedFirstTimestamp: ago(7200),
    deprecatedLastTimestamp: ago(7200),
    deprecatedCount: 1,
  };
  assert.deepEqual(cells('events.k8s.io', 'events', v1), ['120m', 'Normal', 'ScalingReplicaSet', 'deployment/web', '', 'deployment-controller', 'Scaled up replica set web-5d4f to 3', '120m', 1, 'web.17c']);
});

test('rows of simple core kinds: namespaces, config maps, secrets, service accounts, pod templates, component statuses', () => {
  assert.deepEqual(cells('', 'namespaces', { metadata: meta('prod'), status: { phase: 'Active' } }), ['prod', 'Active', AGE]);
  assert.deepEqual(cells('', 'namespaces', { metadata: meta('old'), status: { phase: 'Terminating' } })[1], 'Terminating');
  assert.deepEqual(cells('', 'configmaps', { metadata: meta('cfg'), data: { a: '1', b: '2' }, binaryData: { c: 'AA==' } }), ['cfg', 3, AGE]);
  assert.deepEqual(cells('', 'configmaps', { metadata: meta('empty') }), ['empty', 0, AGE]);
  assert.deepEqual(cells('', 'secrets', { metadata: meta('tls'), type: 'kubernetes.io/tls', data: { 'tls.crt': 'x', 'tls.key': 'y' } }), ['tls', 'kubernetes.io/tls', 2, AGE]);
  assert.deepEqual(cells('', 'serviceaccounts', { metadata: meta('default') }), ['default', 0, AGE]);
  assert.deepEqual(cells('', 'serviceaccounts', { metadata: meta('builder'), secrets: [{ name: 'a' }] }), ['builder', 1, AGE]);
  assert.deepEqual(cells('', 'podtemplates', { metadata: meta('tpl'), template: template([['a', 'x'], ['b', 'y']], { tier: 'fe', app: 'web' }) }), ['tpl', 'a,b', 'x,y', 'app=web,tier=fe']);
  assert.deepEqual(cells('', 'componentstatuses', { metadata: { name: 'etcd-0' }, conditions: [{ type: 'Healthy', status: 'True', message: 'ok' }] }), ['etcd-0', 'Healthy', 'ok', '']);
  assert.deepEqual(cells('', 'componentstatuses', { metadata: { name: 'scheduler' }, conditions: [{ type: 'Healthy', status: 'False', error: 'refused' }] }), ['scheduler', 'Unhealthy', '', 'refused']);
  assert.deepEqual(cells('', 'componentstatuses', { metadata: { name: 'x' } }), ['x', 'Unknown', '', '']);
});

test('volume rows: persistent volumes, claims and storage classes', () => {
  const pv = {
    metadata: meta('pv1'),
    spec: { capacity: { storage: '10Gi' }, accessModes: ['ReadWriteMany', 'ReadWriteOnce', 'ReadWriteOnce'], persistentVolumeReclaimPolicy: 'Retain', storageClassName: 'fast', claimRef: { namespace: 'default', name: 'data' }, volumeMode: 'Filesystem' },
    status: { phase: 'Bound' },
  };
  assert.deepEqual(cells('', 'persistentvolumes', pv), ['pv1', '10Gi', 'RWO,RWX', 'Retain', 'Bound', 'default/data', 'fast', '<unset>', '', AGE, 'Filesystem']);
  assert.deepEqual(
    cells('', 'persistentvolumes', { metadata: meta('pv2', { deletionTimestamp: ago(1), annotations: { 'volume.beta.kubernetes.io/storage-class': 'old' } }), spec: { volumeAttributesClassName: 'gold' }, status: { phase: 'Failed', reason: 'Recycler' } }),
    ['pv2', '0', '', '', 'Terminating', '', 'old', 'gold', 'Recycler', AGE, '<unset>'],
  );
  const pvc = (spec: J, status: J): unknown[] => cells('', 'persistentvolumeclaims', { metadata: meta('data'), spec, status });
  assert.deepEqual(pvc({ storageClassName: 'fast', resources: { requests: { storage: '1Gi' } } }, { phase: 'Pending' }), ['data', 'Pending', '', '', '', 'fast', '<unset>', AGE, '<unset>']);
  assert.deepEqual(
    pvc({ volumeName: 'pv1', storageClassName: 'fast', volumeMode: 'Block' }, { phase: 'Bound', capacity: { storage: '10Gi' }, accessModes: ['ReadWriteOncePod'] }),
    ['data', 'Bound', 'pv1', '10Gi', 'RWOP', 'fast', '<unset>', AGE, 'Block'],
  );
  const sc = (o: J, annotations: J = {}): unknown[] => cells('storage.k8s.io', 'storageclasses', { metadata: meta('standard', { annotations }), provisioner: 'rancher.io/local-path', ...o });
  assert.deepEqual(sc({}, { 'storageclass.kubernetes.io/is-default-class': 'true' }), ['standard (default)', 'rancher.io/local-path', 'Delete', 'Immediate', false, AGE]);
  assert.deepEqual(sc({ reclaimPolicy: 'Retain', volumeBindingMode: 'WaitForFirstConsumer', allowVolumeExpansion: true }, { 'storageclass.beta.kubernetes.io/is-default-class': 'true' }), ['standard (default)', 'rancher.io/local-path', 'Retain', 'WaitForFirstConsumer', true, AGE]);
  assert.equal(sc({}, { 'storageclass.kubernetes.io/is-default-class': 'false' })[0], 'standard');
});

test('storage driver rows: CSI drivers, CSI nodes, volume attachments, storage capacities', () => {
  assert.deepEqual(cells('storage.k8s.io', 'csidrivers', { metadata: meta('csi.example.com'), spec: {} }), ['csi.example.com', true, false, false, '<unset>', false, '<none>', AGE]);
  assert.deepEqual(
    cells('storage.k8s.io', 'csidrivers', { metadata: meta('d'), spec: { attachRequired: false, podInfoOnMount: true, storageCapacity: true, tokenRequests: [{ audience: 'vault' }, { audience: 'gcp' }], requiresRepublish: true, volumeLifecycleModes: ['Persistent', 'Ephemeral'] } }),
    ['d', false, true, true, 'vault,gcp', true, 'Persistent,Ephemeral', AGE],
  );
  assert.deepEqual(cells('storage.k8s.io', 'csinodes', { metadata: meta('n1'), spec: { drivers: [{ name: 'a' }, { name: 'b' }] } }), ['n1', 2, AGE]);
  assert.deepEqual(cells('storage.k8s.io', 'volumeattachments', { metadata: meta('csi-123'), spec: { attacher: 'csi.example.com', nodeName: 'n1', source: { persistentVolumeName: 'pv1' } }, status: { attached: true } }), ['csi-123', 'csi.example.com', 'pv1', 'n1', true, AGE]);
  assert.deepEqual(cells('storage.k8s.io', 'csistoragecapacities', { metadata: meta('cap'), storageClassName: 'fast', capacity: '100Gi' }), ['cap', 'fast', '100Gi']);
  assert.deepEqual(cells('storage.k8s.io', 'csistoragecapacities', { metadata: meta('cap'), storageClassName: 'fast' }), ['cap', 'fast', '<unset>']);
});

test('networking rows: ingresses, ingress classes, network policies', () => {
  const ing = (spec: J, status: J = {}): unknown[] => cells('networking.k8s.io', 'ingresses', { metadata: meta('web'), spec, status });
  assert.deepEqual(ing({ rules: [{ http: {} }] }), ['web', '<none>', '*', '', '80', AGE]);
  assert.deepEqual(
    ing({ ingressClassName: 'nginx', rules: [{ host: 'a.example.com' }, { host: 'b.example.com' }], tls: [{ hosts: ['a.example.com'] }] }, { loadBalancer: { ingress: [{ ip: '192.0.2.10' }] } }),
    ['web', 'nginx', 'a.example.com,b.example.com', '192.0.2.10', '80, 443', AGE],
  );
  assert.equal(ing({ rules: [{ host: 'a' }, { host: 'b' }, {}, { host: 'd' }, { host: 'e' }] })[2], 'a,b,d + 2 more...');
  assert.deepEqual(cells('networking.k8s.io', 'ingressclasses', { metadata: meta('nginx'), spec: { controller: 'k8s.io/ingress-nginx' } }), ['nginx', 'k8s.io/ingress-nginx', '<none>', AGE]);
  assert.equal(cells('networking.k8s.io', 'ingressclasses', { metadata: meta('x'), spec: { controller: 'c', parameters: { apiGroup: 'k8s.example.com', kind: 'IngressParameters', name: 'p' } } })[2], 'IngressParameters.k8s.example.com/p');
  assert.equal(cells('networking.k8s.io', 'ingressclasses', { metadata: meta('x'), spec: { controller: 'c', parameters: { kind: 'ConfigMap', name: 'p' } } })[2], 'ConfigMap/p');
  assert.deepEqual(cells('networking.k8s.io', 'networkpolicies', { metadata: meta('deny'), spec: { podSelector: {} } }), ['deny', '<none>', AGE]);
  assert.equal(cells('networking.k8s.io', 'networkpolicies', { metadata: meta('np'), spec: { podSelector: { matchExpressions: [{ key: 'role', operator: 'NotIn', values: ['db'] }] } } })[1], 'role notin (db)');
});

test('policy, autoscaling and scheduling rows: PDBs, HPAs in v2 and v1, priority classes', () => {
  assert.deepEqual(cells('policy', 'poddisruptionbudgets', { metadata: meta('web'), spec: { minAvailable: 2 }, status: { disruptionsAllowed: 1 } }), ['web', '2', 'N/A', 1, AGE]);
  assert.deepEqual(cells('policy', 'poddisruptionbudgets', { metadata: meta('web'), spec: { maxUnavailable: '25%' } }), ['web', 'N/A', '25%', 0, AGE]);
  const hpa = {
    apiVersion: 'autoscaling/v2',
    metadata: meta('web'),
    spec: {
      scaleTargetRef: { kind: 'Deployment', name: 'web' },
      minReplicas: 2,
      maxReplicas: 10,
      metrics: [
        { type: 'Resource', resource: { name: 'cpu', target: { type: 'Utilization', averageUtilization: 80 } } },
        { type: 'Resource', resource: { name: 'memory', target: { type: 'AverageValue', averageValue: '1Gi' } } },
        { type: 'Pods', pods: { metric: { name: 'qps' }, target: { type: 'AverageValue', averageValue: '100' } } },
      ],
    },
    status: { currentReplicas: 3, currentMetrics: [{ type: 'Resource', resource: { name: 'cpu', current: { averageUtilization: 40, averageValue: '200m' } } }] },
  };
  assert.deepEqual(cells('autoscaling', 'horizontalpodautoscalers', hpa), ['web', 'Deployment/web', 'cpu: 40%/80%, memory: <unknown>/1Gi + 1 more...', '2', 10, 3, AGE]);
  const external = { ...hpa, spec: { ...hpa.spec, minReplicas: undefined, metrics: [{ type: 'External', external: { metric: { name: 'queue' }, target: { type: 'Value', value: '30' } } }, { type: 'Object', object: { target: { type: 'AverageValue', averageValue: '5' } } }] }, status: {} };
  assert.deepEqual(cells('autoscaling', 'horizontalpodautoscalers', external).slice(2, 4), ['<unknown>/30, <unknown>/5 (avg)', '<unset>']);
  assert.equal(cells('autoscaling', 'horizontalpodautoscalers', { ...hpa, spec: { ...hpa.spec, metrics: [] } })[2], '<none>');
  const v1 = { apiVersion: 'autoscaling/v1', metadata: meta('old'), spec: { scaleTargetRef: { kind: 'ReplicaSet', name: 'rs' }, minReplicas: 1, maxReplicas: 4, targetCPUUtilizationPercentage: 50 }, status: { currentReplicas: 1, currentCPUUtilizationPercentage: 12 } };
  assert.deepEqual(cells('autoscaling', 'horizontalpodautoscalers', v1), ['old', 'ReplicaSet/rs', 'cpu: 12%/50%', '1', 4, 1, AGE]);
  assert.deepEqual(cells('scheduling.k8s.io', 'priorityclasses', { metadata: meta('system-node-critical'), value: 2000001000, globalDefault: false, preemptionPolicy: 'PreemptLowerPriority' }), ['system-node-critical', 2000001000, false, AGE, 'PreemptLowerPriority']);
});

test('rbac, certificate, lease, revision, quota and runtime class rows', () => {
  const binding = {
    metadata: meta('admins'),
    roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: 'admin' },
    subjects: [
      { kind: 'User', name: 'alice' },
      { kind: 'User', name: 'bob' },
      { kind: 'Group', name: 'ops' },
      { kind: 'ServiceAccount', name: 'ci', namespace: 'build' },
    ],
  };
  assert.deepEqual(cells('rbac.authorization.k8s.io', 'rolebindings', binding), ['admins', 'ClusterRole/admin', AGE, 'alice, bob', 'ops', 'build/ci']);
  assert.deepEqual(cells('rbac.authorization.k8s.io', 'clusterrolebindings', { metadata: meta('x'), roleRef: { kind: 'ClusterRole', name: 'view' } }), ['x', 'ClusterRole/view', AGE, '', '', '']);
  const csr = (spec: J, status: J): unknown[] => cells('certificates.k8s.io', 'certificatesigningrequests', { metadata: meta('csr-1'), spec: { username: 'system:node:n1', ...spec }, status });
  assert.deepEqual(csr({ signerName: 'kubernetes.io/kubelet-serving', expirationSeconds: 86400 }, {}), ['csr-1', AGE, 'kubernetes.io/kubelet-serving', 'system:node:n1', '24h', 'Pending']);
  assert.deepEqual(csr({}, { conditions: [{ type: 'Approved' }], certificate: 'LS0t' }).slice(2), ['<none>', 'system:node:n1', '<none>', 'Approved,Issued']);
  assert.equal(csr({}, { conditions: [{ type: 'Approved' }, { type: 'Denied' }, { type: 'Failed' }] })[5], 'Denied,Failed');
  assert.deepEqual(cells('coordination.k8s.io', 'leases', { metadata: meta('kube-scheduler'), spec: { holderIdentity: 'cp1_abc' } }), ['kube-scheduler', 'cp1_abc', AGE]);
  assert.deepEqual(cells('coordination.k8s.io', 'leases', { metadata: meta('free'), spec: {} }), ['free', '', AGE]);
  assert.deepEqual(
    cells('apps', 'controllerrevisions', { metadata: meta('web-7c9', { ownerReferences: [{ apiVersion: 'apps/v1', kind: 'StatefulSet', name: 'web', uid: 'u', controller: true }] }), revision: 3 }),
    ['web-7c9', 'statefulset.apps/web', 3, AGE],
  );
  assert.deepEqual(cells('apps', 'controllerrevisions', { metadata: meta('orphan'), revision: 1 }), ['orphan', '<none>', 1, AGE]);
  assert.deepEqual(
    cells('', 'resourcequotas', {
      metadata: meta('compute'),
      status: { hard: { 'requests.cpu': '2', pods: '10', 'limits.memory': '4Gi', 'limits.cpu': '4' }, used: { 'requests.cpu': '500m', pods: '3', 'limits.cpu': '1' } },
    }),
    ['compute', 'pods: 3/10, requests.cpu: 500m/2', 'limits.cpu: 1/4, limits.memory: 0/4Gi', AGE],
  );
  assert.deepEqual(cells('node.k8s.io', 'runtimeclasses', { metadata: meta('gvisor'), handler: 'runsc' }), ['gvisor', 'runsc', AGE]);
});
