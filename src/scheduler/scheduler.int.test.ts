// The scheduler against a real `rudder server --disable-agent`, over HTTPS, as upstream's
// scheduler integration tests: Node objects created through the API (no kubelet), pods created
// directly, bindings observed through the API and kubectl. The server runs no scheduler and no
// controllers of its own here, so this test's scheduler is the only one placing pods.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { eventually, startServer, type TestServer } from '../../test/harness.ts';
import type { KObject } from '../api/meta.ts';
import { Client } from '../client/client.ts';
import { httpsTransportFromKubeconfig, type HttpsTransport } from '../client/https.ts';
import { startScheduler, type RunningScheduler } from './scheduler.ts';
import type { Node, Pod } from './types.ts';

type KPod = Pod & KObject;
type KNode = Node & KObject;

let s: TestServer;
let transport: HttpsTransport;
let schedTransport: HttpsTransport;
let client: Client;
let sched: RunningScheduler;
const logs: string[] = [];

before(async () => {
  s = await startServer({ extraArgs: ['--disable-scheduler', '--disable-controller-manager'] });
  transport = httpsTransportFromKubeconfig(s.kubeconfig).transport;
  schedTransport = httpsTransportFromKubeconfig(s.kubeconfig).transport;
  client = new Client(transport);
  sched = startScheduler({ transport: schedTransport, leaderElect: false, log: (m) => logs.push(m) });
  await sched.started();
});

after(async () => {
  await sched?.stop();
  await schedTransport?.close();
  await transport?.close();
  await s?.stop();
});

const nodes = () => client.resource<KNode>('', 'nodes');
const pods = (ns: string) => client.resource<KPod>('', 'pods').namespace(ns);

let seq = 0;
async function namespace(): Promise<string> {
  const name = `sched-${++seq}`;
  await client.resource('', 'namespaces').create({ apiVersion: 'v1', kind: 'Namespace', metadata: { name } });
  // no controller-manager runs here to create it, and pod admission needs it
  await client.resource('', 'serviceaccounts').namespace(name).create({ apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'default' } });
  return name;
}

interface NodeSpec {
  cpu?: string;
  memory?: string;
  labels?: Record<string, string>;
  taints?: { key: string; value?: string; effect: string }[];
  unschedulable?: boolean;
  images?: { names: string[]; sizeBytes: number }[];
}

async function createNode(name: string, o: NodeSpec = {}): Promise<void> {
  const capacity = { cpu: o.cpu ?? '4', memory: o.memory ?? '8Gi', pods: '110' };
  await nodes().create({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: { name, labels: { 'kubernetes.io/hostname': name, ...(o.labels ?? {}) } },
    spec: { ...(o.taints ? { taints: o.taints } : {}), ...(o.unschedulable ? { unschedulable: true } : {}) },
    status: { capacity, allocatable: capacity, conditions: [{ type: 'Ready', status: 'True' }], ...(o.images ? { images: o.images } : {}) },
  } as KNode);
}

async function deleteNodes(names: string[]): Promise<void> {
  for (const n of names) await nodes().delete(n).catch(() => undefined);
}

function podBody(name: string, spec: Partial<Pod['spec']> & { labels?: Record<string, string>; cpu?: string }): KPod {
  const { labels, cpu, ...rest } = spec;
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, ...(labels ? { labels } : {}) },
    spec: {
      containers: [{ name: 'c', image: 'registry.k8s.io/pause:3.10', ...(cpu ? { resources: { requests: { cpu } } } : {}) }],
      terminationGracePeriodSeconds: 30,
      ...rest,
    },
  } as unknown as KPod;
}

async function nodeOf(ns: string, name: string, timeoutMs = 15_000): Promise<string> {
  return eventually(async () => (await pods(ns).get(name)).spec.nodeName, timeoutMs, `${ns}/${name} to be bound`);
}

async function scheduledCondition(ns: string, name: string) {
  return (await pods(ns).get(name)).status?.conditions?.find((c) => c.type === 'PodScheduled');
}

// In the filter cases the node to avoid is the larger one, so scoring alone would pick it.
describe('scheduler plugins, each through the real API', () => {
  interface Case {
    name: string;
    nodes: [string, NodeSpec][];
    /** Pods bound directly before the one under test (spec.nodeName set). */
    existing?: [string, string, Parameters<typeof podBody>[1]][];
    pod: Parameters<typeof podBody>[1];
    /** The nodes the pod may land on. */
    want: string[];
    setup?: (ns: string, prefix: string) => Promise<void>;
  }
  const cases: Case[] = [
    { name: 'NodeResourcesFit: the node with room', nodes: [['small', { cpu: '1' }], ['big', { cpu: '4' }]], pod: { cpu: '2' }, want: ['big'] },
    { name: 'NodeUnschedulable: not the cordoned node', nodes: [['cordoned', { unschedulable: true, cpu: '32' }], ['open', {}]], pod: {}, want: ['open'] },
    { name: 'NodeAffinity: the node the selector names', nodes: [['hdd', { labels: { disk: 'hdd' }, cpu: '32' }], ['ssd', { labels: { disk: 'ssd' } }]], pod: { nodeSelector: { disk: 'ssd' } }, want: ['ssd'] },
    {
      name: 'NodeAffinity: required affinity to a node name',
      nodes: [['one', { cpu: '32' }], ['two', {}]],
      pod: {},
      want: ['two'],
      setup: async () => {},
    },
    {
      name: 'TaintToleration: not the tainted node',
      nodes: [['tainted', { cpu: '32', taints: [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }] }], ['plain', {}]],
      pod: {},
      want: ['plain'],
    },
    {
      name: 'TaintToleration: a tolerating pod may use the tainted node',
      nodes: [['tainted', { taints: [{ key: 'dedicated', value: 'infra', effect: 'NoSchedule' }] }]],
      pod: { tolerations: [{ key: 'dedicated', operator: 'Equal', value: 'infra', effect: 'NoSchedule' }] },
      want: ['tainted'],
    },
    {
      name: 'NodePorts: not the node whose host port is taken',
      nodes: [['a', { cpu: '32' }], ['b', {}]],
      existing: [['holder', 'a', { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80, hostPort: 8080 }] }] }]],
      pod: { containers: [{ name: 'c', image: 'x', ports: [{ containerPort: 80, hostPort: 8080 }] }] },
      want: ['b'],
    },
    {
      name: 'InterPodAffinity: required anti-affinity keeps two replicas apart',
      nodes: [['a', { cpu: '32' }], ['b', {}]],
      existing: [['first', 'a', { labels: { app: 'db' } }]],
      pod: {
        labels: { app: 'db' },
        affinity: { podAntiAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'db' } }, topologyKey: 'kubernetes.io/hostname' }] } },
      },
      want: ['b'],
    },
    {
      name: 'InterPodAffinity: required affinity follows the pod it names into its zone',
      nodes: [['east', { cpu: '32', labels: { 'topology.kubernetes.io/zone': 'east' } }], ['west', { labels: { 'topology.kubernetes.io/zone': 'west' } }]],
      existing: [['cache', 'west', { labels: { app: 'cache' } }]],
      pod: { affinity: { podAffinity: { requiredDuringSchedulingIgnoredDuringExecution: [{ labelSelector: { matchLabels: { app: 'cache' } }, topologyKey: 'topology.kubernetes.io/zone' }] } } },
      want: ['west'],
    },
    {
      name: 'ImageLocality: the node that already has a large image',
      nodes: [['cold', {}], ['warm', { images: [{ names: ['example.com/big:1.0'], sizeBytes: 900 * 1024 * 1024 }] }]],
      pod: { containers: [{ name: 'c', image: 'example.com/big:1.0' }] },
      want: ['warm'],
    },
    {
      name: 'NodeResourcesFit (LeastAllocated): the emptier node',
      nodes: [['busy', {}], ['idle', {}]],
      existing: [['load', 'busy', { cpu: '3' }]],
      pod: { cpu: '500m' },
      want: ['idle'],
    },
  ];

  for (const c of cases) {
    test(c.name, async () => {
      const ns = await namespace();
      const prefix = `p${seq}-`;
      const nodeNames = c.nodes.map(([n]) => prefix + n);
      try {
        for (const [n, o] of c.nodes) await createNode(prefix + n, o);
        for (const [name, node, spec] of c.existing ?? []) await pods(ns).create(podBody(name, { ...spec, nodeName: prefix + node }));
        let spec = c.pod;
        if (c.name.includes('node name')) {
          spec = { affinity: { nodeAffinity: { requiredDuringSchedulingIgnoredDuringExecution: { nodeSelectorTerms: [{ matchFields: [{ key: 'metadata.name', operator: 'In', values: [prefix + 'two'] }] }] } } } };
        }
        await pods(ns).create(podBody('under-test', spec));
        const got = await nodeOf(ns, 'under-test');
        assert.ok(c.want.map((w) => prefix + w).includes(got), `landed on ${got}, wanted one of ${c.want}`);
        const cond = await eventually(() => scheduledCondition(ns, 'under-test'), 5000, 'PodScheduled');
        assert.equal(cond.status, 'True');
      } finally {
        await client.resource('', 'namespaces').delete(ns).catch(() => undefined);
        await deleteNodes(nodeNames);
      }
    });
  }

  test('VolumeBinding: a pod follows its bound volume to the node the volume lives on', async () => {
    const ns = await namespace();
    const prefix = `v${seq}-`;
    try {
      await createNode(prefix + 'a', { cpu: '32' });
      await createNode(prefix + 'b');
      await client.resource('', 'persistentvolumes').create({
        apiVersion: 'v1',
        kind: 'PersistentVolume',
        metadata: { name: `${prefix}pv` },
        spec: {
          capacity: { storage: '1Gi' },
          accessModes: ['ReadWriteOnce'],
          hostPath: { path: '/tmp/x' },
          claimRef: { namespace: ns, name: 'data' },
          nodeAffinity: { required: { nodeSelectorTerms: [{ matchExpressions: [{ key: 'kubernetes.io/hostname', operator: 'In', values: [prefix + 'b'] }] }] } },
        },
      });
      await client
        .resource('', 'persistentvolumeclaims')
        .namespace(ns)
        .create({
          apiVersion: 'v1',
          kind: 'PersistentVolumeClaim',
          metadata: { name: 'data', annotations: { 'pv.kubernetes.io/bind-completed': 'yes' } },
          spec: { accessModes: ['ReadWriteOnce'], resources: { requests: { storage: '1Gi' } }, volumeName: `${prefix}pv`, storageClassName: '' },
        });
      await pods(ns).create(podBody('uses-data', { volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'data' } }] }));
      assert.equal(await nodeOf(ns, 'uses-data'), prefix + 'b');
      await pods(ns).create(podBody('no-claim', { volumes: [{ name: 'd', persistentVolumeClaim: { claimName: 'missing' } }] }));
      const cond = await eventually(async () => {
        const c = await scheduledCondition(ns, 'no-claim');
        return c?.status === 'False' && c;
      }, 10_000, 'the missing claim to be reported');
      assert.equal(cond.message, '0/2 nodes are available: persistentvolumeclaim "missing" not found. preemption: 0/2 nodes are available: 2 Preemption is not helpful for scheduling.');
    } finally {
      await client.resource('', 'namespaces').delete(ns).catch(() => undefined);
      await client.resource('', 'persistentvolumes').delete(`${prefix}pv`).catch(() => undefined);
      await deleteNodes([prefix + 'a', prefix + 'b']);
    }
  });
});

describe('scheduling outcomes visible to users', () => {
  test('a pod that fits nowhere stays Pending with the reason, and is scheduled as soon as a node with room appears', async () => {
    const ns = await namespace();
    const prefix = `w${seq}-`;
    try {
      await createNode(prefix + 'tiny', { cpu: '1' });
      await createNode(prefix + 'notready', { taints: [{ key: 'node.kubernetes.io/not-ready', effect: 'NoSchedule' }] });
      await pods(ns).create(podBody('waiting', { cpu: '2' }));
      const want =
        '0/2 nodes are available: 1 Insufficient cpu, 1 node(s) had untolerated taint {node.kubernetes.io/not-ready: }. preemption: 0/2 nodes are available: 1 No preemption victims found for incoming pod, 1 Preemption is not helpful for scheduling.';
      const cond = await eventually(async () => {
        const c = await scheduledCondition(ns, 'waiting');
        return c?.status === 'False' && c;
      }, 10_000, 'PodScheduled=False');
      assert.equal(cond.reason, 'Unschedulable');
      assert.equal(cond.message, want);
      const describe = await eventually(async () => {
        const out = await s.k(['describe', 'pod', 'waiting', '-n', ns]);
        return out.includes('FailedScheduling') && out;
      }, 15_000, 'the FailedScheduling event in kubectl describe');
      assert.match(describe, /Warning\s+FailedScheduling\s+.*default-scheduler\s+0\/2 nodes are available: 1 Insufficient cpu, 1 node\(s\) had untolerated taint/);
      assert.equal((await pods(ns).get('waiting')).status?.phase, 'Pending');

      await createNode(prefix + 'roomy', { cpu: '8' });
      assert.equal(await nodeOf(ns, 'waiting', 20_000), prefix + 'roomy');
      const scheduled = await eventually(async () => {
        const out = await s.k(['describe', 'pod', 'waiting', '-n', ns]);
        return out.includes('Scheduled') && /Normal\s+Scheduled/.test(out) && out;
      }, 15_000, 'the Scheduled event');
      assert.match(scheduled, new RegExp(`Successfully assigned ${ns}/waiting to ${prefix}roomy`));
    } finally {
      await client.resource('', 'namespaces').delete(ns).catch(() => undefined);
      await deleteNodes([prefix + 'tiny', prefix + 'notready', prefix + 'roomy']);
    }
  });

  test('a high-priority pod preempts a low-priority one', async () => {
    const ns = await namespace();
    const prefix = `pre${seq}-`;
    const pcs = client.resource('scheduling.k8s.io', 'priorityclasses');
    try {
      await pcs.create({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: `${prefix}high` }, value: 1000 });
      await pcs.create({ apiVersion: 'scheduling.k8s.io/v1', kind: 'PriorityClass', metadata: { name: `${prefix}low` }, value: 10 });
      await createNode(prefix + 'n', { cpu: '2' });
      await pods(ns).create(podBody('low', { cpu: '1500m', priorityClassName: `${prefix}low` }));
      assert.equal(await nodeOf(ns, 'low'), prefix + 'n');
      await pods(ns).create(podBody('high', { cpu: '1', priorityClassName: `${prefix}high` }));
      // the victim is marked and deleted (without a kubelet it stays Terminating)
      const victim = await eventually(async () => {
        const p = await pods(ns).get('low');
        return p.metadata.deletionTimestamp ? p : undefined;
      }, 15_000, 'the low-priority pod to be evicted');
      const dt = victim.status?.conditions?.find((c) => c.type === 'DisruptionTarget');
      assert.deepEqual([dt?.status, dt?.reason, dt?.message], ['True', 'PreemptionByScheduler', 'default-scheduler: preempting to accommodate a higher priority pod']);
      const nominated = await eventually(async () => (await pods(ns).get('high')).status?.nominatedNodeName, 10_000, 'the nomination');
      assert.equal(nominated, prefix + 'n');
      // the kubelet's part: the victim's containers stop and the pod object goes away
      await pods(ns).delete('low', { gracePeriodSeconds: 0 });
      assert.equal(await nodeOf(ns, 'high', 20_000), prefix + 'n');
      const events = await s.k(['get', 'events', '-n', ns, '--field-selector', 'reason=Preempted', '-o', 'jsonpath={.items[*].message}']);
      assert.match(events, /^Preempted by pod [0-9a-f-]+ on node pre\d+-n$/);
    } finally {
      await client.resource('', 'namespaces').delete(ns).catch(() => undefined);
      await pcs.delete(`${prefix}high`).catch(() => undefined);
      await pcs.delete(`${prefix}low`).catch(() => undefined);
      await deleteNodes([prefix + 'n']);
    }
  });

  test('topology spread across three zones stays within maxSkew while scaling to 30', async () => {
    const ns = await namespace();
    const prefix = `ts${seq}-`;
    const names: string[] = [];
    try {
      for (const z of ['a', 'b', 'c']) {
        for (const i of [1, 2]) {
          names.push(`${prefix}${z}${i}`);
          // uneven nodes, so resource scoring alone would not spread evenly
          await createNode(`${prefix}${z}${i}`, { cpu: z === 'a' ? '32' : '4', labels: { 'topology.kubernetes.io/zone': `zone-${z}` } });
        }
      }
      const zoneOf = new Map(names.map((n) => [n, `zone-${n.slice(prefix.length, prefix.length + 1)}`]));
      const spread = [{ maxSkew: 1, topologyKey: 'topology.kubernetes.io/zone', whenUnsatisfiable: 'DoNotSchedule', labelSelector: { matchLabels: { app: 'web' } } }];
      let created = 0;
      for (const target of [5, 12, 30]) {
        for (; created < target; created++) await pods(ns).create(podBody(`web-${created}`, { labels: { app: 'web' }, cpu: '100m', topologySpreadConstraints: spread }));
        const placed = await eventually(async () => {
          const list = (await pods(ns).list()).items;
          return list.length === target && list.every((p) => p.spec.nodeName) && list;
        }, 30_000, `${target} pods placed`);
        const perZone = new Map<string, number>();
        for (const p of placed) perZone.set(zoneOf.get(p.spec.nodeName!)!, (perZone.get(zoneOf.get(p.spec.nodeName!)!) ?? 0) + 1);
        const counts = ['zone-a', 'zone-b', 'zone-c'].map((z) => perZone.get(z) ?? 0);
        assert.ok(Math.max(...counts) - Math.min(...counts) <= 1, `at ${target}: ${counts}`);
      }
    } finally {
      await client.resource('', 'namespaces').delete(ns).catch(() => undefined);
      await deleteNodes(names);
    }
  });

  test('pods naming another scheduler are left alone', async () => {
    const ns = await namespace();
    const prefix = `o${seq}-`;
    try {
      await createNode(prefix + 'n');
      await pods(ns).create(podBody('theirs', { schedulerName: 'someone-else' }));
      await pods(ns).create(podBody('ours', {}));
      await nodeOf(ns, 'ours');
      const theirs = await pods(ns).get('theirs');
      assert.equal(theirs.spec.nodeName, undefined);
      assert.equal(theirs.status?.conditions?.find((c) => c.type === 'PodScheduled'), undefined);
    } finally {
      await client.resource('', 'namespaces').delete(ns).catch(() => undefined);
      await deleteNodes([prefix + 'n']);
    }
  });
});

describe('leader election', () => {
  test('of two schedulers only the lease holder schedules; the other takes over when it stops', async () => {
    // the test's own scheduler (no election) would race them: stop it for this test
    await sched.stop();
    const config = `apiVersion: kubescheduler.config.k8s.io/v1
kind: KubeSchedulerConfiguration
leaderElection:
  leaderElect: true
  leaseDuration: 4s
  renewDeadline: 3s
  retryPeriod: 500ms
`;
    const ta = httpsTransportFromKubeconfig(s.kubeconfig).transport;
    const tb = httpsTransportFromKubeconfig(s.kubeconfig).transport;
    const a = startScheduler({ transport: ta, config, identity: 'sched-a', log: () => {} });
    await a.started();
    const b = startScheduler({ transport: tb, config, identity: 'sched-b', log: () => {} });
    const ns = await namespace();
    const prefix = `le${seq}-`;
    try {
      const lease = await client.resource('coordination.k8s.io', 'leases').namespace('kube-system').get('kube-scheduler');
      assert.equal((lease as KObject & { spec: { holderIdentity: string } }).spec.holderIdentity, 'sched-a');
      await createNode(prefix + 'n');
      await pods(ns).create(podBody('first', {}));
      await nodeOf(ns, 'first');
      assert.equal(b.loop, undefined, 'the standby does not schedule');
      await a.stop();
      await b.started();
      await pods(ns).create(podBody('second', {}));
      await nodeOf(ns, 'second');
      const after = await client.resource('coordination.k8s.io', 'leases').namespace('kube-system').get('kube-scheduler');
      assert.equal((after as KObject & { spec: { holderIdentity: string } }).spec.holderIdentity, 'sched-b');
    } finally {
      await a.stop();
      await b.stop();
      await ta.close();
      await tb.close();
      await client.resource('', 'namespaces').delete(ns).catch(() => undefined);
      await deleteNodes([prefix + 'n']);
    }
  });
});
